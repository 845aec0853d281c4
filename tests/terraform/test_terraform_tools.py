"""checkov and `terraform fmt` over terraform/, offline, from their own venvs."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from tfpaths import PROVIDER_SCHEMAS, REPO, TERRAFORM

SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(.*)")


def test_checkov_finds_no_failed_check(checkov_bin: Path) -> None:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = subprocess.run(
        [
            str(checkov_bin),
            "-d",
            str(TERRAFORM),
            "--framework",
            "terraform",
            "--output",
            "json",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert proc.stdout.strip(), f"checkov printed nothing (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = {k: sum(r["summary"][k] for r in reports) for k in ("passed", "failed", "skipped")}
    failed = [
        f"{c['check_id']} {c['resource']} {c['file_path']}:{c['file_line_range']}"
        for r in reports
        for c in r["results"].get("failed_checks", [])
    ]
    assert summary["passed"] > 0, f"checkov checked nothing: {summary}"
    assert failed == [], f"checkov: {summary}\n" + "\n".join(failed)
    for r in reports:
        for c in r["results"].get("skipped_checks", []):
            assert c.get("check_result", {}).get("suppress_comment", "").strip(), (
                f"skip without reason: {c['check_id']}"
            )


def test_every_inline_skip_has_a_reason() -> None:
    skips = []
    for path in TERRAFORM.rglob("*.tf"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = SKIP_COMMENT.search(line)
            if m:
                skips.append((path, n, m.group(1), m.group(2)))
    assert skips, "expected the documented inline skips"
    for path, n, check, rest in skips:
        assert re.match(r":\s*\S.{10,}", rest), f"{path}:{n} skips {check} without a reason"


def test_terraform_fmt_check(terraform_bin: Path) -> None:
    proc = subprocess.run(
        [str(terraform_bin), "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}\n{proc.stderr}"


def test_offline_tools_installed(tools: Path) -> None:
    """Fails (never skips) when the tool venvs are missing, saying how to make them."""
    missing = [
        str(p)
        for p in (
            tools / "hcl2-venv/bin/python",
            tools / "hcl2-venv/bin/terraform",
            tools / "checkov-venv/bin/checkov",
            *(tools / "providers" / f for f in PROVIDER_SCHEMAS.values()),
        )
        if not p.exists()
    ]
    assert not missing, f"missing {missing}: run `.ci/terraform_tools.sh .tools` (or set ECG_TF_TOOLS)"


def test_provider_schema_pins_match_the_tests() -> None:
    """.ci/terraform_tools.sh fetches exactly the packages the schema tests load, each with a
    pinned sha512 integrity."""
    script = (REPO / ".ci/terraform_tools.sh").read_text()
    pins = re.findall(r'"@cdktf/provider-(\w+) ([\d.]+) (sha512-[A-Za-z0-9+/=]+)"', script)
    assert {f"{name}-{version}.jsii" for name, version, _ in pins} == set(PROVIDER_SCHEMAS.values())
    assert all(len(integrity) > 80 for *_, integrity in pins)
