"""Mutation testing of the kernel's pure modules and the exactly-once ledger, with mutmut.

For each module, mutmut (2.5.1, pinned in the ``bench`` extra) changes one thing at a time in
the source (an operator, a constant, a comparison, a string, a default argument, ...) and runs
that module's own tests; a mutant the tests still pass on *survived*: a change to the code no
test notices. mutmut has no operator for what sits inside a string or for argument order, so
each module also has a few hand-written mutants (``TextMutant``: the ledger's SQL, the wire
format's byte order and field types), applied one at a time the same way. Prints the
killed/survived counts per module and every surviving mutant as a diff, and writes JSON under
``bench/results/``.

    pip install -e '.[bench]'
    python bench/mutation.py                       # codec, clock, ledger
    python bench/mutation.py --modules codec       # one of them

The ledger's tests need a database: they run against the native PostgreSQL fixture (the tests'
own conftest starts one per pytest run, so each ledger mutant costs a few seconds more).

mutmut 2 mutates the file in place and puts it back after each mutant; this script also saves
the file first and restores it at the end whatever happens, and refuses to start on a file with
uncommitted changes. Run nothing else in this work tree meanwhile (tests would import the
mutants). Exit code: 0 when no mutant survived in a module where none may (codec, ledger).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".mutmut-cache"


@dataclass(frozen=True)
class TextMutant:
    """A hand-written mutant where mutmut has no operator: SQL inside a string, argument order,
    byte order in a format string. ``old`` must occur exactly once in the module."""

    old: str
    new: str
    what: str


@dataclass(frozen=True)
class Target:
    path: str  # the module mutated, from the repository root
    tests: tuple[str, ...]  # the tests that must kill its mutants
    strict: bool  # no survivor allowed
    extra: tuple[TextMutant, ...] = ()


# mutmut replaces a whole SQL string by None but never edits the SQL in it, nor swaps arguments
LEDGER_SQL = (
    TextMutant("ON CONFLICT (query_id, batch_id) DO NOTHING", "",
               "claim without ON CONFLICT: a replayed batch is an error instead of False"),
    TextMutant("ON CONFLICT (query_id, batch_id) DO NOTHING",
               "ON CONFLICT (query_id, batch_id) DO UPDATE SET messages = EXCLUDED.messages",
               "a replay claims again (and overwrites the row)"),
    TextMutant("VALUES (%s, %s, %s, %s, 0, 0, 0, 0)", "VALUES (%s, %s, %s, %s, 0, 1, 0, 0)",
               "a claimed batch starts with a sample"),
    TextMutant("(key.query_id, key.batch_id, key.query_name, messages)",
               "(key.query_id, key.batch_id, key.query_name, messages + 1)", "messages miscounted"),
    TextMutant("WHERE query_id = %s AND batch_id = %s", "WHERE query_id = %s AND batch_id >= %s",
               "finish fills in later batches too"),
    TextMutant("WHERE query_id = %s AND batch_id = %s", "WHERE (query_id = %s OR true) AND batch_id = %s",
               "finish fills in the same batch id of other queries"),
    TextMutant("(chunks, samples, duplicates, dead, key.query_id", "(chunks, duplicates, samples, dead, "
               "key.query_id", "samples and duplicates swapped"),
    TextMutant("(chunks, samples, duplicates, dead, key.query_id", "(chunks, samples, dead, duplicates, "
               "key.query_id", "duplicates and dead letters swapped"),
    TextMutant("SET chunks = %s, samples", "SET chunks = chunks + 2 * %s, samples", "chunks doubled"),
)
# the wire format: mutmut's string mutants break a struct format outright; these keep it valid
CODEC_FORMAT = (
    TextMutant('_SAMPLES = struct.Struct("<2sBBBxHdqq")', '_SAMPLES = struct.Struct(">2sBBBxHdqq")',
               "header big-endian"),
    TextMutant('_SAMPLES = struct.Struct("<2sBBBxHdqq")', '_SAMPLES = struct.Struct("<2sBBBxHfqq")',
               "sampling rate as f32"),
    TextMutant('_SAMPLES = struct.Struct("<2sBBBxHdqq")', '_SAMPLES = struct.Struct("<2sBBBxHdqQ")',
               "first index unsigned"),
    TextMutant('_CRC = struct.Struct("<I")', '_CRC = struct.Struct(">I")', "CRC big-endian"),
    TextMutant('s = np.ascontiguousarray(chunk.samples, dtype="<i2")',
               's = np.ascontiguousarray(chunk.samples, dtype=">i2")', "samples encoded big-endian"),
    TextMutant('data = np.frombuffer(value, dtype="<i2"', 'data = np.frombuffer(value, dtype=">i2"',
               "samples decoded big-endian"),
    TextMutant("return body + _CRC.pack(zlib.crc32(body))\n\n\ndef encode_meta",
               "return body + _CRC.pack(zlib.crc32(body[1:]))\n\n\ndef encode_meta",
               "samples CRC misses the first byte"),
    TextMutant('"signals": [s.__dict__ for s in meta.signals],', '"signals": [s.__dict__ for s in '
               'meta.signals[:1]],', "metadata drops all leads but the first"),
)

TARGETS = {
    "codec": Target("ecgdash/core/codec.py", ("tests/core/test_codec.py",), strict=True,
                    extra=CODEC_FORMAT),
    "clock": Target("ecgdash/core/clock.py", ("tests/core/test_clock.py",), strict=False),
    "ledger": Target("timescale/ledger.py", ("tests/timescale/test_ledger.py",), strict=True,
                     extra=LEDGER_SQL),
}
STATUS = {"ok_killed": "killed", "bad_survived": "survived", "bad_timeout": "timeout",
          "ok_suspicious": "suspicious", "skipped": "skipped", "untested": "untested"}


def _runner_argv(tests: tuple[str, ...]) -> list[str]:
    """This script in its test-runner role (``--pytest``): mutmut 2 counts only exit code 1 as a
    failure, so a mutant that breaks the test module's import (pytest's exit code 2) would pass
    for a survivor."""
    return [sys.executable, str(Path(__file__).resolve()), "--pytest", *tests]


def _pytest(tests: list[str]) -> int:
    import pytest

    # -x: the first failure kills the mutant; no cache provider: nothing written between runs
    code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", *tests])
    return 0 if code == 0 else 1


def _runner(tests: tuple[str, ...]) -> str:
    return " ".join(_runner_argv(tests))


def _mutmut(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "mutmut"
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True)


def _dirty(path: str) -> bool:
    out = subprocess.run(["git", "status", "--porcelain", "--", path], cwd=ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return bool(out.stdout.strip())


def _results() -> list[tuple[int, int, str, str]]:
    """(mutant id, line number from 1, status, source line) of every mutant in mutmut's cache."""
    con = sqlite3.connect(CACHE)
    try:
        return [(int(i), int(n) + 1, STATUS.get(s, s), line) for i, n, s, line in con.execute(
            "SELECT m.id, l.line_number, m.status, l.line FROM Mutant m JOIN Line l ON m.line = l.id "
            "ORDER BY m.id")]  # fmt: skip
    finally:
        con.close()


def _diff(mutant_id: int) -> str:
    """The mutant as a unified diff (`mutmut show`), without mutmut's header."""
    text = _mutmut("show", str(mutant_id)).stdout
    return "\n".join(ln for ln in text.splitlines() if re.match(r"^[-+@ ]", ln) and ln.strip())


def run_target(name: str, t: Target, timeout_factor: float) -> dict:
    original = (ROOT / t.path).read_bytes()
    CACHE.unlink(missing_ok=True)
    started = time.monotonic()
    args = ["run", "--paths-to-mutate", t.path, "--runner", _runner(t.tests),
            "--tests-dir", str(Path(t.tests[0]).parent), "--no-progress", "--simple-output",
            "--test-time-multiplier", str(timeout_factor), "--test-time-base", "30"]
    try:
        proc = _mutmut(*args)
    finally:
        if (ROOT / t.path).read_bytes() != original:
            (ROOT / t.path).write_bytes(original)
            print(f"warning: {t.path} was left mutated; restored", file=sys.stderr)
    if proc.returncode & 1 or not CACHE.exists():  # mutmut's exit code: bit 0 is a fatal error
        raise SystemExit(f"mutmut failed on {name} (do its tests pass unmutated?):\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rows = _results()
    counts = {s: 0 for s in STATUS.values()}
    for _, _, status, _ in rows:
        counts[status] = counts.get(status, 0) + 1
    mutants = [{"id": i, "line": n, "status": status, "source": line.strip(), "diff": _diff(i)}
               for i, n, status, line in rows]
    CACHE.unlink(missing_ok=True)
    extra = run_extra(t, timeout_s=600)
    for m in extra:
        counts[m["status"]] = counts.get(m["status"], 0) + 1
    mutants += extra
    survivors = [m for m in mutants if m["status"] in ("survived", "suspicious", "untested")]
    return {
        "module": t.path, "tests": list(t.tests), "strict": t.strict, "mutants": len(mutants),
        "mutmut_mutants": len(rows), "hand_written_mutants": len(extra),
        **counts, "survivors": survivors, "all": mutants, "seconds": round(time.monotonic() - started, 1),
        "command": " ".join(["mutmut", *args]),
    }


def run_extra(t: Target, timeout_s: float) -> list[dict]:
    """Each hand-written mutant applied alone, the tests run, the file put back."""
    path = ROOT / t.path
    original = path.read_text()
    out = []
    try:
        for k, m in enumerate(t.extra, 1):
            if original.count(m.old) != 1:
                raise SystemExit(f"{t.path}: hand-written mutant {k} ({m.what}) no longer applies: "
                                 f"{m.old!r} occurs {original.count(m.old)} times")
            path.write_text(original.replace(m.old, m.new))
            try:
                proc = subprocess.run(_runner_argv(t.tests), cwd=ROOT, capture_output=True, text=True,
                                      timeout=timeout_s)  # fmt: skip
                status = "survived" if proc.returncode == 0 else "killed"
            except subprocess.TimeoutExpired:
                status = "timeout"
            finally:
                path.write_text(original)
            out.append({"id": f"text-{k}", "status": status, "what": m.what, "old": m.old, "new": m.new})
    finally:
        path.write_text(original)
    return out


def main() -> int:
    if sys.argv[1:2] == ["--pytest"]:  # mutmut's runner: see _runner_argv
        return _pytest(sys.argv[2:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modules", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    ap.add_argument("--timeout-factor", type=float, default=4.0,
                    help="a mutant's tests may take this many times the unmutated run (+30 s)")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "mutation.json")
    args = ap.parse_args()
    dirty = [TARGETS[m].path for m in args.modules if _dirty(TARGETS[m].path)]
    if dirty:
        raise SystemExit(f"uncommitted changes in {', '.join(dirty)}: commit or stash them first")
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")  # no stale .pyc of a mutant
    out = {"tool": f"mutmut {metadata.version('mutmut')}", "python": sys.version.split()[0],
           "started": datetime.now(UTC).isoformat(timespec="seconds"),
           "load_average": os.getloadavg(), "modules": {}}  # fmt: skip
    for name in args.modules:
        print(f"== {name}: mutating {TARGETS[name].path}, tests {' '.join(TARGETS[name].tests)}",
              flush=True)
        res = run_target(name, TARGETS[name], args.timeout_factor)
        out["modules"][name] = res
        print(f"   {res['mutants']} mutants: {res['killed']} killed, {res['survived']} survived, "
              f"{res['timeout']} timed out, {res['suspicious']} suspicious ({res['seconds']} s)")
        for s in res["survivors"]:
            if "diff" not in s:  # hand-written
                print(f"   survived {s['id']} ({s['what']}): {s['old']!r} -> {s['new']!r}")
                continue
            print(f"   survived #{s['id']} line {s['line']}: {s['source']}")
            for ln in s["diff"].splitlines():
                if ln.startswith(("-", "+")) and not ln.startswith(("---", "+++")):
                    print(f"      {ln}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2))
    print(f"\n{'module':<8} {'mutants':>7} {'killed':>7} {'survived':>8} {'timeout':>7}")
    for name, r in out["modules"].items():
        print(f"{name:<8} {r['mutants']:>7} {r['killed']:>7} {r['survived']:>8} {r['timeout']:>7}")
    print(f"written {args.json}")
    bad = [n for n, r in out["modules"].items() if r["strict"] and r["survivors"]]
    if bad:
        print(f"mutants survive in {', '.join(bad)}, where none may", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
