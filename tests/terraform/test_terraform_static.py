"""Static properties of terraform/, read with python-hcl2 (no provider, no network)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tfcheck
from conftest import TERRAFORM

MODULES = ["network", "kafka", "spark", "timescaledb", "grafana", "s3", "kms", "iam", "logs"]
ENVS = ["dev", "prod"]


def _module(parsed: dict, env: str, name: str) -> dict:
    for path, mod, body in tfcheck.blocks(parsed, "module"):
        if path == f"envs/{env}/main.tf" and mod == name:
            return body
    raise AssertionError(f"envs/{env}/main.tf has no module {name}")


@pytest.mark.parametrize("folder", [f"modules/{m}" for m in MODULES] + [f"envs/{e}" for e in ENVS])
def test_layout_follows_terraform_aws_modules(folder: str) -> None:
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (TERRAFORM / folder / name).is_file(), f"{folder}/{name} missing"


def test_every_variable_typed_and_described(parsed: dict) -> None:
    assert list(tfcheck.blocks(parsed, "variable")), "no variables found"
    assert tfcheck.variable_problems(parsed) == []


def test_every_output_described(parsed: dict) -> None:
    assert list(tfcheck.blocks(parsed, "output")), "no outputs found"
    assert tfcheck.output_problems(parsed) == []


@pytest.mark.parametrize("folder", [f"modules/{m}" for m in MODULES] + [f"envs/{e}" for e in ENVS])
def test_versions_pinned(parsed: dict, folder: str) -> None:
    assert tfcheck.version_problems(parsed, folder) == []


@pytest.mark.parametrize("env", ENVS)
def test_envs_pin_providers_exactly_enough(parsed: dict, env: str) -> None:
    """Envs are root modules: pessimistic (~>) provider pins, and a bounded Terraform version."""
    terraform = parsed[f"envs/{env}/versions.tf"]["terraform"][0]
    providers: dict = {}
    for entry in terraform["required_providers"]:
        providers.update(entry)
    assert {"aws", "random"} <= set(providers)
    for name, spec in providers.items():
        assert spec["version"].startswith("~>"), (
            f"{env}: {name} version {spec['version']} is not a ~> pin"
        )
    assert "<" in terraform["required_version"], "required_version needs an upper bound"


def test_no_ingress_from_anywhere(parsed: dict) -> None:
    assert list(tfcheck.resources(parsed, "aws_vpc_security_group_ingress_rule")), (
        "no ingress rules found"
    )
    assert tfcheck.open_ingress_problems(parsed) == []


@pytest.mark.parametrize("module", ["timescaledb", "kafka", "spark"])
def test_database_brokers_and_spark_admit_security_groups_only(parsed: dict, module: str) -> None:
    """Ingress to the database, the brokers and Spark never names a CIDR from the VPC or the world:
    only security groups, or (brokers) hospital producer CIDRs that a validation keeps private."""
    for path, _typ, name, body in tfcheck.resources(parsed, "aws_vpc_security_group_ingress_rule"):
        if not path.startswith(f"modules/{module}/"):
            continue
        if "referenced_security_group_id" in body:
            continue
        assert module == "kafka" and body.get("cidr_ipv4") == "${each.value}", (
            f"{path}: {name} admits a CIDR"
        )
    if module == "kafka":
        validation = str(
            next(
                b
                for p, n, b in tfcheck.blocks(parsed, "variable")
                if p == "modules/kafka/variables.tf" and n == "client_cidrs"
            )["validation"]
        )
        assert "0.0.0.0/0" in validation and "::/0" in validation


def test_encryption_at_rest_everywhere(parsed: dict) -> None:
    for typ in (
        "aws_s3_bucket",
        "aws_ebs_volume",
        "aws_db_instance",
        "aws_msk_cluster",
        "aws_emr_security_configuration",
    ):
        assert list(tfcheck.resources(parsed, typ)), f"no {typ} found"
    assert tfcheck.encryption_problems(parsed) == []


def test_deletion_protection_on(parsed: dict) -> None:
    for typ in ("aws_db_instance", "aws_instance", "aws_lb", "aws_emr_cluster"):
        assert list(tfcheck.resources(parsed, typ)), f"no {typ} found"
    assert tfcheck.deletion_protection_problems(parsed) == []


@pytest.mark.parametrize("env", ENVS)
def test_required_tags_via_default_tags(parsed: dict, env: str) -> None:
    assert tfcheck.tag_problems(parsed, f"envs/{env}/main.tf") == []


def test_no_secrets_in_outputs_or_code(parsed: dict) -> None:
    assert tfcheck.secret_output_problems(parsed) == []
    # passwords are generated and stored in Secrets Manager
    versions = list(tfcheck.resources(parsed, "aws_secretsmanager_secret_version"))
    assert any("random_password" in str(b.get("secret_string")) for *_, b in versions)


def test_dev_and_prod_compose_the_same_way() -> None:
    """One main.tf for both: the environments differ only in variable defaults."""
    dev = (TERRAFORM / "envs/dev/main.tf").read_text()
    prod = (TERRAFORM / "envs/prod/main.tf").read_text()
    assert dev == prod


@pytest.mark.parametrize("env", ENVS)
def test_modules_wired_as_intended(parsed: dict, env: str) -> None:
    private = "${module.network.private_subnet_ids}"
    key = "${module.kms.key_arn}"
    mods = {
        name: body
        for p, name, body in tfcheck.blocks(parsed, "module")
        if p == f"envs/{env}/main.tf"
    }
    assert set(mods) == {
        "kms",
        "s3",
        "logs",
        "network",
        "iam",
        "kafka",
        "timescaledb",
        "spark",
        "grafana",
    }
    for name, body in mods.items():
        source = TERRAFORM / f"envs/{env}" / body["source"]
        assert source.resolve().is_dir(), f"module {name}: {body['source']} does not exist"
        if name not in ("kms", "network"):
            assert body.get("kms_key_arn") == key, (
                f"module {name} does not use the environment's KMS key"
            )
        if "vpc_id" in body:
            assert body["vpc_id"] == "${module.network.vpc_id}"
    for name in ("kafka", "timescaledb", "grafana"):
        assert mods[name]["subnet_ids"] == private, f"{name} is not in the private subnets"
    assert mods["spark"]["subnet_id"] == "${module.network.private_subnet_ids[0]}"
    assert (
        mods["network"]["flow_log_destination_arn"] == '${module.logs.log_group_arns["flow_logs"]}'
    )
    assert mods["kafka"]["log_group_name"] == '${module.logs.log_group_names["kafka"]}'
    assert mods["kafka"]["client_security_group_ids"] == "${local.spark_security_groups}"
    db_clients = mods["timescaledb"]["client_security_group_ids"]
    assert (
        "local.spark_security_groups" in db_clients
        and "module.grafana.security_group_id" in db_clients
    )
    assert mods["spark"]["service_role_arn"] == "${module.iam.emr_service_role_arn}"
    assert mods["spark"]["instance_profile_arn"] == "${module.iam.emr_instance_profile_arn}"
    assert mods["timescaledb"]["instance_profile_name"] == "${module.iam.db_instance_profile_name}"
    assert mods["grafana"]["instance_profile_name"] == "${module.iam.grafana_instance_profile_name}"
    assert mods["iam"]["kafka_secret_arn"] == "${module.kafka.scram_secret_arn}"
    assert mods["iam"]["db_writer_secret_arn"] == "${module.timescaledb.writer_secret_arn}"
    assert mods["logs"]["audit_bucket_name"] == '${module.s3.bucket_names["audit"]}'
    assert mods["grafana"]["provisioning_dir"].endswith("/../../../grafana/provisioning")
    env_vars = mods["spark"]["app_environment"]
    assert env_vars["ECG_KAFKA_BOOTSTRAP"] == "${module.kafka.bootstrap_brokers_sasl_scram}"
    assert (
        env_vars["ECG_TOPIC"] == "ecg.waveform" and env_vars["ECG_DLQ_TOPIC"] == "ecg.waveform.dlq"
    )
    assert env_vars["ECG_DB_MODE"] == "external"


def _default(parsed: dict, env: str, var: str):
    return next(
        b
        for p, n, b in tfcheck.blocks(parsed, "variable")
        if p == f"envs/{env}/variables.tf" and n == var
    )["default"]


def test_prod_has_the_2018_fleet_shape_on_current_instances(parsed: dict) -> None:
    """4 brokers, 4 + 4 Spark nodes (one cluster per job), one database, one UI host."""
    assert _default(parsed, "prod", "kafka_broker_count") == 4
    clusters = _default(parsed, "prod", "spark_clusters")
    assert sorted(j for c in clusters.values() for j in c["jobs"]) == ["hr-job", "raw-writer"]
    assert all(1 + c["core_instance_count"] == 4 for c in clusters.values())
    previous_generation = re.compile(r"^(db\.|kafka\.)?(m4|m3|t2|c4|r4)\.")
    for var in (
        "kafka_instance_type",
        "db_instance_type",
        "rds_instance_class",
        "grafana_instance_type",
    ):
        for env in ("dev", "prod"):
            assert not previous_generation.match(_default(parsed, env, var)), (
                f"{env}.{var} is previous generation"
            )


def test_rds_mode_documented_as_without_timescaledb() -> None:
    text = (TERRAFORM / "modules/timescaledb/main.tf").read_text() + (
        TERRAFORM / "README.md"
    ).read_text()
    assert re.search(r"RDS.{0,80}(NOT|not|no) (offer|TimescaleDB)", text, re.S)


# --- the checks themselves fire on a bad configuration ---

BAD_TF = """
resource "aws_security_group" "db" {
  name = "db"
  ingress {
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_vpc_security_group_ingress_rule" "kafka" {
  security_group_id = "sg-1"
  ip_protocol       = "tcp"
  from_port         = 9096
  to_port           = 9096
  cidr_ipv6         = "::/0"
}
resource "aws_s3_bucket" "open" {
  bucket        = "x"
  force_destroy = true
}
resource "aws_db_instance" "db" {
  storage_encrypted   = false
  deletion_protection = false
  password            = "hunter2hunter2"
}
variable "untyped" {}
output "leak" {
  value = random_password.db.result
}
"""


def test_checks_catch_a_bad_configuration(parse, tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/main.tf").write_text(BAD_TF)
    bad = parse(tmp_path)
    assert len(tfcheck.open_ingress_problems(bad)) == 2
    assert tfcheck.variable_problems(bad) == [
        "bad/main.tf: variable untyped has no type",
        "bad/main.tf: variable untyped has no description",
    ]
    assert tfcheck.output_problems(bad)
    enc = tfcheck.encryption_problems(bad)
    assert any("aws_s3_bucket.open" in p for p in enc) and any(
        "aws_db_instance.db" in p for p in enc
    )
    prot = tfcheck.deletion_protection_problems(bad)
    assert any("deletion_protection" in p for p in prot) and any(
        "force-destroyed" in p for p in prot
    )
    assert len(tfcheck.secret_output_problems(bad)) == 2
    assert tfcheck.tag_problems(bad, "bad/main.tf") == ["bad/main.tf: no aws provider"]
    assert tfcheck.version_problems(bad, "bad") == ["bad: no versions.tf"]


def test_spark_runs_both_jobs_from_the_wheel_on_s3(parsed: dict) -> None:
    for env in ENVS:
        spark = _module(parsed, env, "spark")
        assert spark["wheel_s3_key"] == "releases/ecgdashboard-${var.app_version}-py3-none-any.whl"
        jobs = sorted(
            j for c in _default(parsed, env, "spark_clusters").values() for j in c["jobs"]
        )
        assert jobs == ["hr-job", "raw-writer"], f"{env} does not run both streaming jobs once"
    cluster = next(b for *_, b in tfcheck.resources(parsed, "aws_emr_cluster"))
    assert "${var.wheel_s3_key}" in str(cluster["bootstrap_action"])
    wrapper = (TERRAFORM / "modules/spark/files/run_streaming_job.sh").read_text()
    assert '"$venv/bin/ecgdash" spark "$job"' in wrapper
    assert '"$venv/bin/ecgdash" db migrate' in wrapper
