"""Every cloud-init template rendered by Terraform's templatefile() with sample values, parsed as
YAML; every shell script and runcmd it carries through `bash -n`; every systemd unit through
`systemd-analyze verify`. The EMR node scripts and units (plain files uploaded to S3) likewise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import tfcloudinit as cloudinit
from tfpaths import TERRAFORM
from tfsamples import PROVIDED

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


@pytest.mark.parametrize("script", sorted(p.name for p in SPARK_FILES.glob("*") if p.suffix in (".sh", "")))
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


# --- the checks themselves fire -----------------------------------------------------------------


def test_cloud_init_checks_catch_bad_input(terraform_bin: Path, tmp_path: Path) -> None:
    template = tmp_path / "t.yaml.tftpl"
    template.write_text("#cloud-config\nruncmd:\n  - echo ${who}\n")
    with pytest.raises(AssertionError, match="templatefile"):
        cloudinit.render(terraform_bin, template, {}, tmp_path / "console")  # `who` missing
    assert "echo world" in cloudinit.render(terraform_bin, template, {"who": "world"}, tmp_path / "c")
    with pytest.raises(AssertionError, match="cloud-config"):
        cloudinit.parse_cloud_config("runcmd: []\n")
    assert cloudinit.bash_n("if true; then\n", "broken.sh", tmp_path)
    assert cloudinit.bash_n("echo ok\n", "fine.sh", tmp_path) is None
    problems, _ = cloudinit.systemd_verify(
        {
            "/etc/systemd/system/a.service": "[Service]\nExecStart=/opt/nowhere/run\n",
            "/etc/systemd/system/b.service": "[Service]\nExecStart=/usr/local/sbin/b.sh\nBogus=1\n",
            "/usr/local/sbin/b.sh": "#!/bin/sh\n",
        },
        set(),
        tmp_path,
    )
    text = "\n".join(problems)
    assert "runs /opt/nowhere/run, which neither" in text
    assert "Unknown key 'Bogus'" in text


def test_emr_job_config_is_safe_to_source() -> None:
    """The supervisor and the bootstrap `source` the job config: every value is single-quoted
    (ECGDASH_JOBS holds a space, and nothing in it may run as a command)."""
    main = (TERRAFORM / "modules/spark/main.tf").read_text()
    assert "\"${k}='${local.environment[k]}'\"" in main
