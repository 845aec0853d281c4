"""Every cloud-init template rendered by Terraform's templatefile() with sample values, parsed as
YAML; every shell script and runcmd it carries through `bash -n`; every systemd unit through
`systemd-analyze verify`. The EMR node scripts and units (plain files uploaded to S3) likewise."""

from __future__ import annotations

import shutil
from pathlib import Path

import cloudinit
import pytest
from conftest import TERRAFORM

# One sample per template variable name used anywhere under terraform/. A template variable
# without a sample fails the test (add one here), so does a sample the template does not use
# only when the module does not pass it either (Terraform itself rejects missing variables).
SAMPLES: dict[str, object] = {
    "region": "eu-central-1",
    "name": "ecgdashboard-dev",
    "environment": "dev",
    "pg_major": 17,
    "database": "ecg",
    "vpc_cidr": "10.41.0.0/16",
    "data_volume_id": "vol-0123456789abcdef0",
    "admin_secret_arn": "arn:aws:secretsmanager:eu-central-1:111122223333:secret:ecgdashboard-dev/grafana/admin-AbCdEf",
    "owner_secret_arn": "arn:aws:secretsmanager:eu-central-1:111122223333:secret:ecgdashboard-dev/db/owner-AbCdEf",
    "owner_role": "ecg_owner",
    "backups_bucket": "ecgdashboard-dev-backups-111122223333",
    "backup_repo_path": "/pgbackrest/ecgdashboard-dev",
    "kms_key_arn": "arn:aws:kms:eu-central-1:111122223333:key/00000000-0000-0000-0000-000000000000",
    "full_retention": 4,
    "full_retention_days": 35,
    "grafana_version": "11.6.0",
    "provisioning_uri": "s3://ecgdashboard-dev-artifacts-111122223333/grafana/provisioning",
    "reader_secret_arn": "arn:aws:secretsmanager:eu-central-1:111122223333:secret:ecgdashboard-dev/db/reader-AbCdEf",
    "db_host": "ip-10-41-1-10.eu-central-1.compute.internal",
    "db_port": 5432,
    "db_name": "ecg",
    "timescaledb": True,
    "log_group": "/ecgdashboard/ecgdashboard-dev/grafana",
    "log_group_name": "/ecgdashboard/ecgdashboard-dev/ops",
    "alert_emails": ["ward-3@hospital.example", "oncall@hospital.example"],
    "alert_webhook_url": "https://nursecall.hospital.example/hooks/ecg",
    "smtp_host": "email-smtp.eu-central-1.amazonaws.com:587",
    "smtp_user": "AKIAEXAMPLESMTPUSER",
    "smtp_from_address": "ecg-alerts@hospital.example",
    "smtp_from_name": "ECGdashboard",
    "smtp_password_secret_arn": "arn:aws:secretsmanager:eu-central-1:111122223333:secret:hospital/smtp-AbCdEf",
    "min_refresh_interval": "1s",
    "artifacts_bucket": "ecgdashboard-dev-artifacts-111122223333",
    "wheel_s3_key": "releases/ecgdashboard-0.1.0-py3-none-any.whl",
    "config_s3_uri": "s3://ecgdashboard-dev-artifacts-111122223333/config/ops/ecgdash.env",
    "replay_source": "s3://ecgdashboard-dev-data-111122223333/wfdb/mitdb",
    "replay_args": "--loop --patients 8",
    "checkpoints_bucket": "ecgdashboard-dev-checkpoints-111122223333",
    "jobs": {"raw-writer": "raw_writer", "hr-job": "hr_job"},
    "metric_namespace": "ECGdashboard",
    "kafka_replication_factor": 2,
    "environment_file": "\n".join(
        [
            "AWS_REGION='eu-central-1'",
            "ECG_DB_HOST='ip-10-41-1-10.eu-central-1.compute.internal'",
            "ECG_DB_PORT='5432'",
            "ECG_DB_NAME='ecg'",
            "ECG_KAFKA_BOOTSTRAP='b-1.ecg.kafka.eu-central-1.amazonaws.com:9096'",
            "ECGDASH_ENVIRONMENT='dev'",
            "ECGDASH_METRIC_NAMESPACE='ECGdashboard'",
            "ECGDASH_WHEEL_URI='s3://ecgdashboard-dev-artifacts-111122223333/releases/ecgdashboard-0.1.0-py3-none-any.whl'",
            "ECGDASH_REPLAY_SOURCE='s3://ecgdashboard-dev-data-111122223333/wfdb/mitdb'",
            "ECGDASH_REPLAY_ARGS='--loop --speed 1 --quiet'",
            "ECGDASH_PROBES='raw-writer=s3://ecgdashboard-dev-checkpoints-111122223333/ecgdashboard-dev-streaming/raw-writer/raw_writer/commits/'",
            "SECRET_ARN_DB_OWNER='arn:aws:secretsmanager:eu-central-1:111122223333:secret:ecgdashboard-dev/db/owner-AbCdEf'",
        ]
    ),
    "acl_spec": '{"acls":[{"host":"*","operation":"Write","pattern_type":"Literal","permission":"Allow","principal":"User:gw-ward3","resource_name":"ecg.waveform","resource_type":"Topic"}]}',
}

# Programs that packages installed by the same cloud-init (or the AMI) provide.
PROVIDED = {
    "/usr/sbin/grafana-server",  # grafana .deb
    "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl",  # CloudWatch agent
    "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent",
    "/opt/ecgdash/venv/bin/ecgdash",  # the wheel, installed by the install unit
    "/usr/bin/aws",  # AWS CLI v2 on Amazon Linux 2023 and EMR
    "/snap/bin/aws",  # aws-cli snap on Ubuntu
    "/usr/bin/pgbackrest",  # pgbackrest .deb
}

CALLS = cloudinit.template_calls(TERRAFORM)


def test_templates_found() -> None:
    assert CALLS, f"no templatefile() calls under {TERRAFORM}"
    templates = {c.template for c in CALLS}
    on_disk = set((TERRAFORM / "modules").rglob("*.tftpl"))
    assert on_disk <= templates, f"templates never rendered by a module: {on_disk - templates}"


def _render(call: cloudinit.TemplateCall, terraform_bin: Path, tmp: Path) -> cloudinit.Rendered:
    missing = [k for k in call.keys if k not in SAMPLES]
    assert not missing, f"{call.module}: add sample values for {missing} to SAMPLES"
    text = cloudinit.render(
        terraform_bin, call.template, {k: SAMPLES[k] for k in call.keys}, tmp / "console"
    )
    return cloudinit.parse_cloud_config(text)


@pytest.fixture(scope="module")
def rendered(terraform_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("render")
    return {c.template.name: _render(c, terraform_bin, tmp) for c in CALLS}


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
