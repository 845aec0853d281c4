"""The ``ecgdash`` command line: each subcommand's help, usage errors, settings errors and errors
of ours, with the exit codes ``ecgdash.cli.main`` documents (0 done, 1 an error of ours, 2 a
usage or settings error), as one line on stderr and never a traceback or a secret.

No service is needed: every error here is raised before a broker or database would be reached.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecgdash.cli import build_parser, main
from ecgdash.cli import dataset as cli_dataset
from ecgdash.cli import db as cli_db
from ecgdash.cli import demo as cli_demo
from ecgdash.cli import export as cli_export
from ecgdash.cli import grafana as cli_grafana
from ecgdash.cli import ingest as cli_ingest
from ecgdash.cli import kafka as cli_kafka
from ecgdash.cli import spark as cli_spark
from ecgdash.cli import stack as cli_stack
from ecgdash.cli.main import EXIT_ERROR, EXIT_OK, EXIT_USAGE

SUBCOMMANDS = ["stack", "db", "kafka", "ingest", "spark", "export", "dataset", "grafana", "demo"]
DS = ["dataset", "export", "--all", "--start", "2024-01-01", "--end", "2024-01-02", "--out", "o"]
SECRET = "hunter2-not-for-logs"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ECG_* variable of the caller's leaks in; the home is an empty folder (no stack)."""
    for name in list(os.environ):
        if name.upper().startswith("ECG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ECG_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_exit_codes_are_argparse_convention() -> None:
    assert (EXIT_OK, EXIT_ERROR, EXIT_USAGE) == (0, 1, 2)


def test_top_level_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ecgdash ")
    for name in SUBCOMMANDS:
        assert f"    {name} " in out or f"    {name}\n" in out, name


@pytest.mark.parametrize(
    "argv",
    [[name] for name in SUBCOMMANDS]
    + [["kafka", "create-topics"], ["grafana", "build"], ["grafana", "provision"],
       ["dataset", "export"], ["dataset", "verify"]],
    ids=lambda a: " ".join(a),
)
def test_each_subcommand_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("usage: ecgdash " + " ".join(argv))
    assert captured.err == ""


def test_help_works_even_with_bad_settings(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Arguments are parsed before the settings are read: help never needs a valid environment."""
    monkeypatch.setenv("ECG_PARTITIONS", "abc")
    with pytest.raises(SystemExit) as info:
        main(["export", "--help"])
    assert info.value.code == 0
    assert "--patient" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,needle",
    [
        ([], "required: command"),
        (["teleport"], "invalid choice: 'teleport'"),
        (["stack"], "the following arguments are required: action"),
        (["stack", "sideways"], "invalid choice: 'sideways'"),
        (["stack", "up", "--db", "mysql"], "invalid choice: 'mysql'"),
        (["db", "rollback"], "invalid choice: 'rollback'"),
        (["kafka"], "required: kafka_command"),
        (["kafka", "create-topics", "--replication-factor", "three"], "invalid int value: 'three'"),
        (["ingest"], "the following arguments are required: source"),
        (["ingest", "recs", "--speed", "0"], "speed must be a positive number or 'max', not '0'"),
        (["ingest", "recs", "--speed", "fast"], "not 'fast'"),
        (["ingest", "recs", "--speed", "-2"], "not '-2'"),
        (["ingest", "recs", "--start", "tomorrow"], "invalid choice: 'tomorrow'"),
        (["ingest", "recs", "--minutes", "five"], "invalid float value: 'five'"),
        (["spark", "batch-job"], "invalid choice: 'batch-job'"),
        (["export", "--start", "2024-01-01", "--end", "2024-01-02"], "required: --patient"),
        (["export", "--patient", "p", "--end", "2024-01-02"], "required: --start"),
        (["export", "--patient", "p", "--start", "a", "--end", "b", "--format", "csv"],
         "invalid choice: 'csv'"),
        (["dataset"], "required: dataset_command"),
        (["dataset", "export", "--start", "a", "--end", "b", "--out", "o"],
         "one of the arguments --patients --beds --all is required"),
        ([*DS, "--patients", "p"], "argument --patients: not allowed with argument --all"),
        (DS[:-2], "required: --out"),
        ([*DS, "--format", "csv"], "invalid choice: 'csv'"),
        ([*DS, "--layout", "frames"], "invalid choice: 'frames'"),
        ([*DS, "--engine", "flink"], "invalid choice: 'flink'"),
        (["dataset", "verify"], "required: dataset"),
        (["grafana"], "required: grafana_command"),
        (["grafana", "provision"], "required: --url"),
        (["demo", "--patients", "eight"], "invalid int value: 'eight'"),
        (["demo", "--speed", "nan-ish"], "not 'nan-ish'"),
        (["demo", "--db", "oracle"], "invalid choice: 'oracle'"),
        (["demo", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        # numbers that did nothing or failed later with a traceback (a NaN sleep, LIMIT -1, an
        # infinite timedelta, a limit that never alarms): refused by name
        (["demo", "--patients", "0"], "--patients: must be a positive int, not '0'"),
        (["demo", "--speed", "inf"], "not 'inf'"),
        (["alarms", "watch", "--interval", "-1"], "--interval: must be a positive float, not '-1'"),
        (["alarms", "watch", "--stale-s", "nan"], "--stale-s: must be a positive float, not 'nan'"),
        (["alarms", "list", "--limit", "-5"], "--limit: must be a positive int, not '-5'"),
        (["alarms", "list", "--minutes", "inf"], "--minutes: must be a positive float, not 'inf'"),
        (["alarms", "limits", "--tachy-high", "inf"], "--tachy-high: must be a positive float"),
        (["alarms", "ack", "0"], "alarm_id: must be a positive int, not '0'"),
        (["kafka", "create-topics", "--replication-factor", "0"], "must be a positive int, not '0'"),
        (["grafana", "provision", "--url", "http://127.0.0.1:1", "--timeout", "0"],
         "--timeout: must be a positive float, not '0'"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_bad_arguments_exit_2(argv: list[str], needle: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert err.splitlines()[-1].startswith("ecgdash")


@pytest.mark.parametrize(
    "argv,handler",
    [
        (["stack", "status"], cli_stack.cmd_stack),
        (["db", "migrate"], cli_db.cmd_db),
        (["kafka", "create-topics"], cli_kafka.cmd_create_topics),
        (["ingest", "recs"], cli_ingest.cmd_ingest),
        (["spark", "hr-job"], cli_spark.cmd_spark),
        (["export", "--patient", "p", "--start", "a", "--end", "b"], cli_export.cmd_export),
        (DS, cli_dataset.cmd_export),
        (["dataset", "verify", "d"], cli_dataset.cmd_verify),
        (["grafana", "build"], cli_grafana.cmd_build),
        (["grafana", "provision", "--url", "http://127.0.0.1:1"], cli_grafana.cmd_provision),
        (["demo"], cli_demo.cmd_demo),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_each_subcommand_dispatches_to_its_function(argv: list[str], handler) -> None:
    assert build_parser().parse_args(argv).func is handler


def test_defaults_of_the_documented_options() -> None:
    p = build_parser()
    ing = p.parse_args(["ingest", "recs"])
    assert (ing.speed, ing.start, ing.loop, ing.patients, ing.minutes, ing.records) == (
        "1", "now", False, None, None, None)
    assert p.parse_args(["ingest", "recs", "--speed", "max"]).speed == "max"
    assert p.parse_args(["ingest", "recs", "--speed", "2.5"]).speed == "2.5"
    demo = p.parse_args(["demo"])
    assert (demo.patients, demo.minutes, demo.speed, demo.db, demo.keep) == (8, 5.0, "20", None, False)
    ex = p.parse_args(["export", "--patient", "p", "--start", "a", "--end", "b"])
    assert (ex.format, ex.out, ex.quiet) == ("wfdb", "export", False)
    ds = p.parse_args(DS)
    assert (ds.format, ds.layout, ds.window, ds.engine, ds.review_png, ds.spark_master) == (
        "parquet", "samples", "10s", "local", False, "local[2]")
    ct = p.parse_args(["kafka", "create-topics"])
    assert (ct.replication_factor, ct.dlq_partitions) == (1, 1)
    assert p.parse_args(["spark", "raw-writer"]).available_now is False
    assert p.parse_args(["spark", "raw-writer", "--available-now"]).available_now is True


# --- settings errors: exit 2, one line per bad variable, never a secret ------------------------

def test_bad_setting_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ECG_PARTITIONS", "abc")
    monkeypatch.setenv("ECG_KAFKA_SASL_PASSWORD", SECRET)
    monkeypatch.setenv("ECG_DB_ADMIN_DSN", f"postgresql://owner:{SECRET}@db.internal/ecg")
    assert main(["stack", "status"]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines == [
        "ecgdash: error: ECG_PARTITIONS: Input should be a valid integer, unable to parse string "
        "as an integer (got 'abc')"
    ]
    assert SECRET not in captured.err


@pytest.mark.parametrize("var,value", [("ECG_RAW_TRIGGER_S", "inf"), ("ECG_HR_TRIGGER_S", "nan"),
                                       ("ECG_RESTART_BACKOFF_MAX_S", "Infinity")])
def test_infinite_or_nan_seconds_are_refused(var: str, value: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """``gt=0`` lets infinity through (a trigger that never fires); the settings refuse it."""
    monkeypatch.setenv(var, value)
    assert main(["stack", "status"]) == EXIT_USAGE
    assert capsys.readouterr().err.startswith(f"ecgdash: error: {var}: Input should be a finite number")


def test_every_bad_setting_gets_its_line(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ECG_HR_TRIGGER_S", "4")
    monkeypatch.setenv("ECG_DB_MODE", "mysql")
    assert main(["stack", "status"]) == EXIT_USAGE
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert any(ln.startswith("ecgdash: error: ECG_HR_TRIGGER_S: ") and "5" in ln for ln in lines)
    assert any(ln.startswith("ecgdash: error: ECG_DB_MODE: ") and "'mysql'" in ln for ln in lines)


def test_settings_error_through_the_installed_entry_point(tmp_path: Path) -> None:
    """As a user sees it: `python -m ecgdash.cli` exits 2 with one line, no pydantic traceback."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ECG_")}
    env.update(ECG_HOME=str(tmp_path), ECG_PARTITIONS="abc", ECG_KAFKA_SASL_PASSWORD=SECRET)
    out = subprocess.run([sys.executable, "-m", "ecgdash.cli", "stack", "status"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == EXIT_USAGE
    assert out.stderr.splitlines() == [
        "ecgdash: error: ECG_PARTITIONS: Input should be a valid integer, unable to parse string "
        "as an integer (got 'abc')"
    ]
    assert "Traceback" not in out.stderr and SECRET not in out.stderr + out.stdout


# --- errors of ours: exit 1, one line ------------------------------------------------------------

@pytest.mark.parametrize(
    "argv,env,message",
    [
        (["export", "--patient", "p", "--start", "yesterday", "--end", "2024-01-01"], {},
         "ecgdash: error: not an ISO 8601 time: 'yesterday'"),
        (["db", "migrate"], {"ECG_DB_MODE": "external"},
         "ecgdash: error: external mode needs ECG_KAFKA_BOOTSTRAP, ECG_DB_ADMIN_DSN, "
         "ECG_DB_WRITER_DSN and ECG_DB_READER_DSN"),
        (["export", "--patient", "p", "--start", "2024-01-01", "--end", "2024-01-02"],
         {"ECG_DB_MODE": "external"}, "ecgdash: error: external mode needs ECG_DB_READER_DSN to read"),
        (["spark", "raw-writer"], {}, "ecgdash: error: no local stack running in "),
        ([*DS[:3], "--start", "yesterday", *DS[5:]], {}, "ecgdash: error: not an ISO 8601 time: 'yesterday'"),
        # refused before the database is asked or Spark started (no stack runs here)
        ([*DS[:3], "--start", "2024-01-02", "--end", "2024-01-01", *DS[7:], "--engine", "spark"], {},
         "ecgdash: error: empty or inverted range: end 2024-01-01T00:00:00+00:00 is not after start "
         "2024-01-02T00:00:00+00:00"),
        ([*DS, "--layout", "windows", "--window", "ten"], {},
         "ecgdash: error: --window 'ten': give seconds like 10s or minutes like 1m"),
        ([*DS, "--layout", "windows", "--window", "90m"], {},
         "ecgdash: error: --window 5400.0 s: give 0 < window <= 3600 s"),
        ([*DS, "--format", "wfdb", "--layout", "windows"], {},
         "ecgdash: error: wfdb writes one record per patient and day: use --layout samples"),
        (DS, {}, "ecgdash: error: no local stack running in "),
        (["dataset", "verify", "/nonexistent-ecgdash-dataset"], {},
         "ecgdash: error: /nonexistent-ecgdash-dataset has no manifest.json: not a complete dataset"),
        (["kafka", "create-topics"], {}, "ecgdash: error: no local stack running in "),
        # off the signal clock: a start near year 1 once overflowed the reads' margin (bare
        # OverflowError, a traceback)
        (["export", "--patient", "p", "--start", "0001-01-01", "--end", "2024-01-01"], {},
         "ecgdash: error: start 0001-01-01T00:00:00+00:00 is outside the signal clock's range 1900-2200"),
        ([*DS[:3], "--start", "2024-01-01", "--end", "9999-01-01", *DS[7:]], {},
         "ecgdash: error: end 9999-01-01T00:00:00+00:00 is outside the signal clock's range 1900-2200"),
    ],
    ids=["bad-time", "external-incomplete", "external-no-reader", "no-stack-spark",
         "dataset-bad-time", "dataset-inverted", "dataset-bad-window", "dataset-long-window",
         "dataset-wfdb-windows", "dataset-no-stack", "dataset-verify-missing", "no-stack-kafka",
         "export-year-1", "dataset-year-9999"],
)
def test_error_of_ours_is_one_line_exit_1(argv: list[str], env: dict[str, str], message: str,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(argv) == EXIT_ERROR
    captured = capsys.readouterr()
    assert len(captured.err.splitlines()) == 1, captured.err
    assert captured.err.startswith(message)
    assert "Traceback" not in captured.err


def test_incomplete_kafka_security_is_an_error_of_ours(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """SASL without a password: a ConfigError naming the missing variable, exit 1, no secret."""
    monkeypatch.setenv("ECG_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("ECG_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ECG_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("ECG_KAFKA_SASL_USERNAME", "ecg")
    assert main(["kafka", "create-topics"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "ECG_KAFKA_SASL_PASSWORD" in err


def test_success_exits_0(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stack", "status"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == '{"running": false}'
    assert not (clean_env / "stack.json").exists()
