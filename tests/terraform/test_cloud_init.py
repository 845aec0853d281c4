"""Every cloud-init template rendered by Terraform's templatefile() with sample values, parsed as
YAML; every shell script and runcmd it carries through `bash -n`; every systemd unit through
`systemd-analyze verify`. The EMR node scripts and units (plain files uploaded to S3) likewise."""

from __future__ import annotations

import shutil
from pathlib import Path

import cloudinit
import pytest
from conftest import TERRAFORM
from samples import PROVIDED, SAMPLES

CALLS = cloudinit.template_calls(TERRAFORM)


def test_templates_found() -> None:
    assert CALLS, f"no templatefile() calls under {TERRAFORM}"
    templates = {c.template for c in CALLS}
    on_disk = set((TERRAFORM / "modules").rglob("*.tftpl"))
    assert on_disk <= templates, f"templates never rendered by a module: {on_disk - templates}"


@pytest.mark.parametrize("call", CALLS, ids=[c.template.name for c in CALLS])
def test_template_renders_to_cloud_config(call, rendered: dict) -> None:
    r = rendered[call.template.name]
    assert r.doc.get("write_files") or r.doc.get("runcmd"), "cloud-config does nothing"
    for entry in r.doc.get("write_files", []):
        assert entry["path"].startswith("/"), entry["path"]
        if entry["path"].endswith((".sh",)) or entry.get("permissions", "").endswith(("700", "755")):
            assert cloudinit.is_shell(entry["path"], r.files[entry["path"]]) or entry["path"].endswith(".py")  # fmt: skip


@pytest.mark.parametrize("call", CALLS, ids=[c.template.name for c in CALLS])
def test_template_scripts_pass_bash_n(call, rendered: dict, tmp_path: Path) -> None:
    r = rendered[call.template.name]
    problems = []
    for path, content in r.files.items():
        if cloudinit.is_shell(path, content):
            err = cloudinit.bash_n(content, path, tmp_path)
            if err:
                problems.append(err)
    if r.runcmd:
        err = cloudinit.bash_n("\n".join(r.runcmd) + "\n", "runcmd", tmp_path)
        if err:
            problems.append(err)
    assert problems == []


@pytest.mark.parametrize("call", CALLS, ids=[c.template.name for c in CALLS])
def test_template_units_pass_systemd_analyze_verify(call, rendered: dict, tmp_path: Path) -> None:
    assert shutil.which("systemd-analyze"), "systemd-analyze missing: run .ci/terraform_tools.sh"
    r = rendered[call.template.name]
    problems, verified = cloudinit.systemd_verify(r.files, PROVIDED, tmp_path)
    assert problems == []
    units = [p for p in r.files if p.startswith("/etc/systemd/system/")]
    assert bool(verified) == bool(units)


def test_units_use_no_deprecated_settings(rendered: dict) -> None:
    for name, r in rendered.items():
        for path, content in r.files.items():
            if path.startswith("/etc/systemd/system/"):
                keys = {k for _, k, _ in cloudinit.unit_settings(content)}
                assert "PermissionsStartOnly" not in keys, f"{name} {path}: use the + prefix"


# --- the EMR node files (uploaded to S3 as they are) --------------------------------------------

SPARK_FILES = TERRAFORM / "modules/spark/files"


@pytest.mark.parametrize(
    "script", sorted(p.name for p in SPARK_FILES.glob("*") if p.suffix in (".sh", ""))
)
def test_emr_scripts_pass_bash_n(script: str, tmp_path: Path) -> None:
    text = (SPARK_FILES / script).read_text()
    assert cloudinit.is_shell(script, text)
    assert cloudinit.bash_n(text, script, tmp_path) is None


def test_emr_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    units = {
        f"/etc/systemd/system/{p.name}": p.read_text()
        for p in SPARK_FILES.iterdir()
        if p.suffix in cloudinit.UNIT_SUFFIXES
    }
    scripts = {f"/usr/local/sbin/{p.name}": p.read_text() for p in SPARK_FILES.glob("*.sh")}
    if not units:
        pytest.skip("the EMR module installs no systemd units")
    # template units (name@.service) are verified through an instance
    for path in [p for p in units if "@." in p]:
        units[path.replace("@.", "@raw-writer.")] = units.pop(path)
    problems, verified = cloudinit.systemd_verify({**units, **scripts}, PROVIDED, tmp_path)
    assert problems == [] and verified
