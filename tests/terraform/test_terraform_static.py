"""Static properties of terraform/, read with python-hcl2 (no provider, no network)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tfcheck
import tfeval
from tfpaths import REPO, TERRAFORM

MODULES = [
    "network", "security_groups", "kafka", "spark", "timescaledb", "grafana", "ops", "alarms",
    "s3", "kms", "iam", "logs", "ecgdash",
]  # fmt: skip
ENVS = ["dev", "prod"]
ROOTS = [f"envs/{e}" for e in ENVS] + ["timescale-cloud"]
COMPOSITION = "modules/ecgdash/main.tf"


def _module_call(parsed: dict, path: str, name: str) -> dict:
    for p, mod, body in tfcheck.blocks(parsed, "module"):
        if p == path and mod == name:
            return body
    raise AssertionError(f"{path} has no module {name}")


def _env_call(parsed: dict, env: str) -> dict:
    return _module_call(parsed, f"envs/{env}/main.tf", "ecgdash")


@pytest.mark.parametrize("folder", [f"modules/{m}" for m in MODULES] + ROOTS)
def test_layout_follows_terraform_aws_modules(folder: str) -> None:
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (TERRAFORM / folder / name).is_file(), f"{folder}/{name} missing"


def test_every_variable_typed_and_described(parsed: dict) -> None:
    assert list(tfcheck.blocks(parsed, "variable")), "no variables found"
    assert tfcheck.variable_problems(parsed) == []


def test_every_output_described(parsed: dict) -> None:
    assert list(tfcheck.blocks(parsed, "output")), "no outputs found"
    assert tfcheck.output_problems(parsed) == []


@pytest.mark.parametrize("folder", [f"modules/{m}" for m in MODULES] + ROOTS)
def test_versions_pinned(parsed: dict, folder: str) -> None:
    assert tfcheck.version_problems(parsed, folder) == []


@pytest.mark.parametrize("root", ROOTS)
def test_roots_pin_providers_exactly_enough(parsed: dict, root: str) -> None:
    """Roots: pessimistic (~>) provider pins, and a bounded Terraform version."""
    terraform = parsed[f"{root}/versions.tf"]["terraform"][0]
    providers: dict = {}
    for entry in terraform["required_providers"]:
        providers.update(entry)
    assert "aws" in providers
    for name, spec in providers.items():
        assert spec["version"].startswith("~>"), f"{root}: {name} version {spec['version']} is not a ~> pin"
    assert "<" in terraform["required_version"], "required_version needs an upper bound"


def test_no_ingress_from_anywhere(parsed: dict) -> None:
    assert list(tfcheck.resources(parsed, "aws_vpc_security_group_ingress_rule")), "no ingress rules found"
    assert tfcheck.open_ingress_problems(parsed) == []


def _sg_locals(parsed: dict) -> dict:
    out: dict = {}
    for block in parsed["modules/security_groups/main.tf"]["locals"]:
        out.update(block)
    return out


def test_database_brokers_and_spark_admit_security_groups_only(parsed: dict) -> None:
    """Ingress to the database, the brokers and the EMR nodes never names a CIDR, only groups;
    the one exception is the brokers' SASL/SCRAM port for the hospital gateways' CIDRs, which a
    validation keeps private (and the load balancer for hospital users)."""
    sg = _sg_locals(parsed)
    for flow in sg["flows"]:
        assert flow["from"] in sg["groups"] and flow["to"] in sg["groups"], flow
    cidr_rules = str(sg["ingress_from_cidrs"])
    assert set(re.findall(r'group = "(\w+)"', cidr_rules)) == {"msk", "grafana_alb"}
    assert "var.producer_cidrs" in cidr_rules and "var.hospital_cidrs" in cidr_rules
    variables = {n: b for p, n, b in tfcheck.blocks(parsed, "variable") if p.startswith("modules/security_groups/")}  # fmt: skip
    for var in ("producer_cidrs", "hospital_cidrs"):
        validation = str(variables[var]["validation"])
        assert "0.0.0.0/0" in validation and "::/0" in validation
    # no module but security_groups (and network's endpoint group) creates security groups
    for path, typ, name, _ in tfcheck.resources(parsed, "aws_security_group"):
        assert path.startswith(("modules/security_groups/", "modules/network/")), f"{path}: {name}"


def test_encryption_at_rest_everywhere(parsed: dict) -> None:
    for typ in (
        "aws_s3_bucket",
        "aws_ebs_volume",
        "aws_db_instance",
        "aws_msk_cluster",
        "aws_emr_security_configuration",
        "aws_launch_template",
    ):
        assert list(tfcheck.resources(parsed, typ)), f"no {typ} found"
    assert tfcheck.encryption_problems(parsed) == []


def test_deletion_protection_on(parsed: dict) -> None:
    for typ in ("aws_db_instance", "aws_instance", "aws_lb", "aws_emr_cluster"):
        assert list(tfcheck.resources(parsed, typ)), f"no {typ} found"
    assert tfcheck.deletion_protection_problems(parsed) == []


@pytest.mark.parametrize("root", ROOTS)
def test_required_tags_via_default_tags(parsed: dict, root: str) -> None:
    assert tfcheck.tag_problems(parsed, f"{root}/main.tf") == []


def test_no_secrets_in_outputs_or_code(parsed: dict) -> None:
    assert tfcheck.secret_output_problems(parsed) == []
    # passwords are generated and stored in Secrets Manager
    versions = list(tfcheck.resources(parsed, "aws_secretsmanager_secret_version"))
    assert any("random_password" in str(b.get("secret_string")) for *_, b in versions)


@pytest.mark.parametrize("env", ENVS)
def test_envs_are_thin_callers_of_one_composition(parsed: dict, env: str) -> None:
    """terraform-aws-modules style: an environment is a provider block and one call of
    modules/ecgdash with its sizes; everything else lives in the composition."""
    main = parsed[f"envs/{env}/main.tf"]
    mods = [n for p, n, _ in tfcheck.blocks(parsed, "module") if p.startswith(f"envs/{env}/")]
    assert mods == ["ecgdash"]
    assert _env_call(parsed, env)["source"] == "../../modules/ecgdash"
    assert not any(p.startswith(f"envs/{env}/") for p, *_ in tfcheck.resources(parsed))
    assert set(main) <= {"provider", "module", "locals"}
    assert len((TERRAFORM / f"envs/{env}/main.tf").read_text().splitlines()) < 120


def test_dev_and_prod_differ_only_in_sizes_and_site(parsed: dict) -> None:
    dev, prod = _env_call(parsed, "dev"), _env_call(parsed, "prod")
    assert set(dev) - {"replay"} == set(prod), "dev and prod pass different arguments"
    assert dev["environment"] == "dev" and prod["environment"] == "prod"
    assert dev["vpc_cidr"] != prod["vpc_cidr"]


def test_composition_wires_the_modules(parsed: dict) -> None:
    mods = {n: b for p, n, b in tfcheck.blocks(parsed, "module") if p == COMPOSITION}
    assert set(mods) == {
        "kms", "s3", "logs", "network", "security_groups", "iam", "kafka", "timescaledb",
        "spark", "ops", "grafana", "alarms",
    }  # fmt: skip
    key = "${module.kms.key_arn}"
    for name, body in mods.items():
        assert (TERRAFORM / "modules/ecgdash" / body["source"]).resolve().is_dir(), name
        if name not in ("kms", "network", "security_groups", "ops"):
            assert body.get("kms_key_arn") == key, f"module {name} does not use the KMS key"
    private = "${module.network.private_subnet_ids}"
    for name in ("kafka", "timescaledb", "grafana", "ops"):
        assert mods[name]["subnet_ids"] == private, f"{name} is not in the private subnets"
    assert mods["spark"]["subnet_id"] == "${module.network.private_subnet_ids[0]}"
    sg = '${module.security_groups.ids["%s"]}'
    assert mods["kafka"]["security_group_id"] == sg % "msk"
    assert mods["timescaledb"]["security_group_id"] == sg % "db"
    assert mods["ops"]["security_group_id"] == sg % "ops"
    assert mods["grafana"]["security_group_id"] == sg % "grafana"
    assert mods["grafana"]["alb_security_group_id"] == sg % "grafana_alb"
    assert mods["spark"]["security_group_ids"] == {
        "primary": sg % "emr_primary",
        "core": sg % "emr_core",
        "service_access": sg % "emr_service_access",
    }
    assert mods["network"]["flow_log_destination_arn"] == '${module.logs.log_group_arns["flow_logs"]}'
    assert mods["kafka"]["log_group_name"] == '${module.logs.log_group_names["kafka"]}'
    for name, group in [("spark", "jobs"), ("ops", "ops"), ("grafana", "grafana"), ("timescaledb", "database")]:  # fmt: skip
        assert mods[name]["log_group_name"] == f'${{module.logs.log_group_names["{group}"]}}'
    assert mods["spark"]["service_role_arn"] == "${module.iam.emr_service_role_arn}"
    assert mods["spark"]["instance_profile_arn"] == "${module.iam.emr_instance_profile_arn}"
    assert mods["spark"]["kafka_secret_arn"] == '${module.kafka.secret_arns["jobs"]}'
    assert mods["spark"]["checkpoints_bucket"] == '${module.s3.bucket_names["checkpoints"]}'
    assert mods["ops"]["instance_profile_arn"] == "${module.iam.ops_instance_profile_arn}"
    assert mods["timescaledb"]["instance_profile_name"] == "${module.iam.db_instance_profile_name}"
    assert mods["grafana"]["instance_profile_name"] == "${module.iam.grafana_instance_profile_name}"
    assert mods["iam"]["kafka_secret_arns"] == "${module.kafka.secret_arns}"
    assert mods["iam"]["db_owner_secret_arn"] == "${module.timescaledb.owner_secret_arn}"
    assert mods["logs"]["audit_bucket_name"] == '${module.s3.bucket_names["audit"]}'
    assert mods["grafana"]["provisioning_dir"].endswith('/../../../grafana/provisioning")}')
    app = ""
    for block in parsed[COMPOSITION]["locals"]:
        app += str(block.get("app_settings", ""))
    assert "ECG_KAFKA_BOOTSTRAP = module.kafka.bootstrap_brokers_sasl_scram" in app
    assert "ECG_TOPIC = local.topic" in app and 'ECG_DB_MODE = "external"' in app
    assert mods["spark"]["app_environment"] == "${local.app_settings}"


def _literal_default(parsed: dict, folder: str, var: str):
    return next(b for p, n, b in tfcheck.blocks(parsed, "variable") if p.startswith(folder + "/") and n == var).get("default")  # fmt: skip


def test_prod_has_the_2018_fleet_shape_on_current_instances(parsed: dict) -> None:
    """4 brokers, 4 + 4 Spark nodes (one cluster per job), one database, one UI host."""
    prod = _env_call(parsed, "prod")
    assert prod["kafka"]["broker_count"] == 4
    clusters = prod["spark_clusters"]
    assert {name: c["jobs"] for name, c in clusters.items()} == {"raw-writer": ["raw-writer"], "alarm-job": ["alarm-job"]}  # fmt: skip
    assert all(1 + c["core_instance_count"] == 4 for c in clusters.values())
    previous_generation = re.compile(r"^(db\.|kafka\.)?(m4|m3|t2|c4|r4)\.")
    for env in ENVS:
        call = _env_call(parsed, env)
        for value in (
            call["kafka"]["instance_type"],
            call["database"]["instance_type"],
            call["database"]["rds_instance_class"],
            call["grafana"]["instance_type"],
            call["ops_instance_type"],
        ):
            assert not previous_generation.match(value), f"{env}: {value} is previous generation"


def test_rds_mode_documented_as_without_timescaledb() -> None:
    text = (TERRAFORM / "modules/timescaledb/main.tf").read_text() + (TERRAFORM / "README.md").read_text()
    assert re.search(r"RDS.{0,80}(NOT|not|no) (offer|TimescaleDB)", text, re.S)


def test_spark_runs_the_raw_writer_and_the_alarm_job_from_the_wheel_on_s3(parsed: dict) -> None:
    """Each env runs raw-writer and alarm-job once each; the alarm job stores the beats, so no
    env runs the heart-rate job."""
    spark = _module_call(parsed, COMPOSITION, "spark")
    assert spark["wheel_s3_key"] == "releases/ecgdashboard-${var.app_version}-py3-none-any.whl"
    for env in ENVS:
        jobs = sorted(j for c in _env_call(parsed, env)["spark_clusters"].values() for j in c["jobs"])  # fmt: skip
        assert jobs == ["alarm-job", "raw-writer"], f"{env} does not run the raw writer and the alarm job once each"  # fmt: skip
    cluster = next(b for *_, b in tfcheck.resources(parsed, "aws_emr_cluster"))
    assert "${var.wheel_s3_key}" in str(cluster["bootstrap_action"])
    supervisor = (TERRAFORM / "modules/spark/files/ecgdash-job-supervisor.sh").read_text()
    assert 'exec "$venv/bin/ecgdash" spark "$job"' in supervisor


# --- the alarm job runs on AWS (it decides the patient alarms and stores the beats) ---

JOBS = ["raw-writer", "alarm-job", "hr-job"]


def _composition_locals(parsed: dict) -> dict:
    out: dict = {}
    for block in parsed[COMPOSITION]["locals"]:
        out.update(block)
    return out


def _clusters(*jobs_per_cluster: list[str]) -> dict:
    return {
        f"c{i}": {"jobs": jobs, "primary_instance_type": "m6i.xlarge", "core_instance_type": "m6i.xlarge",
                  "core_instance_count": 0, "executors_per_job": 1}
        for i, jobs in enumerate(jobs_per_cluster)
    }  # fmt: skip


def test_every_job_is_a_query_of_the_cli(parsed: dict) -> None:
    """The composition's job -> query map is the CLI's: `ecgdash spark <job>` exists and its
    query (checkpoint folder, lag group ecgdash.<query>) has that name."""
    queries = _composition_locals(parsed)["queries"]
    assert queries == {"raw-writer": "raw_writer", "alarm-job": "alarm_job", "hr-job": "hr_job"}
    cli = (REPO / "ecgdash/cli/spark.py").read_text()
    cli_jobs = re.search(r"^JOBS = \(([^)]*)\)", cli, re.M)
    assert cli_jobs and set(re.findall(r'"([a-z-]+)"', cli_jobs.group(1))) == set(JOBS)
    for job, query in queries.items():
        source = (REPO / "spark_jobs" / f"{job.replace('-', '_')}.py").read_text()
        assert f'QUERY_NAME = "{query}"' in source, job
    assert "ecgdash.${local.queries[job]}" in str(_module_call(parsed, COMPOSITION, "alarms")["jobs"])


def test_the_clusters_must_run_the_alarm_job(parsed: dict, terraform_bin: Path, tmp_path: Path) -> None:
    """Defect: AWS ran only raw-writer and hr-job, so no patient alarm was ever decided there
    (and the validation compared a list(string) with a tuple literal, which is never equal:
    Terraform rejected every spark_clusters value, the envs' own too). Evaluated by Terraform:
    raw-writer and alarm-job exactly once each, hr-job at most once, nothing else."""

    def accepts(*jobs_per_cluster: list[str]) -> bool:
        return tfeval.accepts(terraform_bin, tmp_path, parsed, "modules/ecgdash", "spark_clusters", _clusters(*jobs_per_cluster))  # fmt: skip

    for env in ENVS:
        clusters = _env_call(parsed, env)["spark_clusters"]
        assert tfeval.accepts(terraform_bin, tmp_path, parsed, "modules/ecgdash", "spark_clusters", clusters), env  # fmt: skip
    assert accepts(["raw-writer", "alarm-job"])
    assert accepts(["raw-writer"], ["alarm-job"])
    assert accepts(["raw-writer"], ["alarm-job"], ["hr-job"])
    assert not accepts(["raw-writer", "hr-job"]), "the clusters must run the alarm job"
    assert not accepts(["raw-writer"], ["hr-job"]), "the clusters must run the alarm job"
    assert not accepts(["alarm-job"]), "the clusters must run the raw writer"
    assert not accepts(["raw-writer", "alarm-job"], ["alarm-job"]), "one alarm job only"
    assert not accepts(["raw-writer", "alarm-job", "hr-job"], ["hr-job"]), "one heart-rate job at most"
    assert not accepts(["raw-writer", "alarm-job", "watchdog"]), "no unknown jobs"

    def spark_accepts(jobs: list[str]) -> bool:
        return tfeval.accepts(terraform_bin, tmp_path, parsed, "modules/spark", "jobs", jobs)

    assert all(spark_accepts([job]) for job in JOBS)
    assert spark_accepts(["raw-writer", "alarm-job"])
    assert not spark_accepts([]) and not spark_accepts(["alarm-job", "alarm-job"]) and not spark_accepts(["watchdog"])


def test_every_running_job_has_a_staleness_threshold(parsed: dict, terraform_bin: Path, tmp_path: Path) -> None:
    """The staleness alarm of each job reads var.stale_after_seconds[job]: the default has one
    for every job (the alarm job's within a minute: it commits every 2 s), and the validation
    rejects a map missing one."""
    default = _literal_default(parsed, "modules/ecgdash", "stale_after_seconds")
    assert set(default) == set(JOBS) and default["alarm-job"] <= 60
    assert "var.stale_after_seconds[job]" in str(_module_call(parsed, COMPOSITION, "alarms")["jobs"])

    def accepts(value: dict) -> bool:
        return tfeval.accepts(terraform_bin, tmp_path, parsed, "modules/ecgdash", "stale_after_seconds", value)

    assert accepts(default)
    assert not accepts({"raw-writer": 60, "hr-job": 300}), "no threshold for the alarm job"
    assert not accepts({**default, "alarm-job": 0})


def test_beats_are_stored_by_exactly_one_job(parsed: dict, terraform_bin: Path, tmp_path: Path) -> None:
    """ECG_ALARM_WRITES_BEATS follows from the clusters (evaluated by Terraform): the alarm job
    stores the beats unless hr-job runs, and app_settings cannot set it."""
    loc = _composition_locals(parsed)
    spark_type = tfeval.variable(parsed, "modules/ecgdash", "spark_clusters")["type"]

    def writes_beats(clusters: dict) -> bool:
        return tfeval.evaluate(
            terraform_bin, tmp_path, "local.alarm_writes_beats", {"spark_clusters": (spark_type, clusters)},
            {"job_cluster": loc["job_cluster"], "alarm_writes_beats": loc["alarm_writes_beats"]},
        )  # fmt: skip

    for env in ENVS:
        assert writes_beats(_env_call(parsed, env)["spark_clusters"]) is True, env
    assert writes_beats(_clusters(["raw-writer", "alarm-job"], ["hr-job"])) is False
    app = str(loc["app_settings"])
    assert "ECG_ALARM_WRITES_BEATS = tostring(local.alarm_writes_beats)" in app
    assert not tfeval.accepts(terraform_bin, tmp_path, parsed, "modules/ecgdash", "app_settings", {"ECG_ALARM_WRITES_BEATS": "true"})  # fmt: skip
    assert tfeval.accepts(terraform_bin, tmp_path, parsed, "modules/ecgdash", "app_settings", {"ECG_ALARM_TRIGGER_S": "2"})  # fmt: skip


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
resource "aws_launch_template" "lt" {
  name = "x"
}
module "child" {
  source              = "./child"
  deletion_protection = var.off
}
variable "off" {
  type        = bool
  description = "x"
  default     = false
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
    assert any("aws_s3_bucket.open" in p for p in enc) and any("aws_db_instance.db" in p for p in enc)
    assert any("aws_launch_template.lt allows IMDSv1" in p for p in enc)
    assert any("aws_launch_template.lt does not set its volumes" in p for p in enc)
    prot = tfcheck.deletion_protection_problems(bad)
    assert any("deletion_protection" in p and "aws_db_instance" in p for p in prot)
    assert any("force-destroyed" in p for p in prot)
    assert any("module child sets deletion_protection" in p for p in prot)
    assert len(tfcheck.secret_output_problems(bad)) == 2
    assert tfcheck.tag_problems(bad, "bad/main.tf") == ["bad/main.tf: no aws provider"]
    assert tfcheck.version_problems(bad, "bad") == ["bad: no versions.tf"]
