"""One test per defect of issue 15 ("Terraform that applies") and the Terraform items of issue 9.

Each test names the defect in its docstring and fails on the tree before the fix: run them
against an older copy with `ECG_TF_ROOT=/path/to/old/terraform` (terraform/README.md, "Checks").
They read structure rather than exact text where they can, so that they test the property, not
one way of writing it.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from pathlib import Path

import pytest
import tfcheck
import tfcloudinit as cloudinit
import tfvalidate
from tfpaths import REPO, TERRAFORM

ENVS = ["dev", "prod"]
COMPUTE = ("aws_emr_cluster", "aws_instance", "aws_launch_template", "aws_msk_cluster",
           "aws_db_instance", "aws_lb", "aws_grafana_workspace")  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------------


def _folder_files(parsed: dict, folder: str) -> dict:
    return {p: d for p, d in parsed.items() if posixpath.dirname(p) == folder and p.endswith(".tf")}


def _reachable(parsed: dict, root: str) -> list[str]:
    """Folders a root uses: itself and every local module source, transitively."""
    seen, todo = [], [root]
    while todo:
        folder = todo.pop()
        if folder in seen:
            continue
        seen.append(folder)
        for path, name, body in tfcheck.blocks(parsed, "module"):
            if posixpath.dirname(path) == folder:
                target = tfvalidate.module_folder(folder, body)
                if target:
                    todo.append(target)
    return seen


def _locals(parsed: dict, folder: str) -> dict:
    out: dict = {}
    for doc in _folder_files(parsed, folder).values():
        for block in doc.get("locals", []):
            out.update(block)
    return out


def _units(rendered: dict) -> dict[str, tuple[str, str]]:
    """(template, content) of every systemd unit or drop-in the cloud-init templates write."""
    return {
        path: (name, content)
        for name, r in rendered.items()
        for path, content in r.files.items()
        if path.startswith("/etc/systemd/system/")
    }


def _spark_files() -> dict[str, str]:
    folder = TERRAFORM / "modules/spark/files"
    return {p.name: p.read_text() for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}


def _all_host_text(rendered: dict) -> str:
    return "\n".join(r.text for r in rendered.values()) + "\n".join(_spark_files().values())


# --- plan fails in the default mode ---------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_default_mode_configures_no_timescale_provider(parsed: dict, env: str) -> None:
    """Defect: envs/* configured the timescale provider although all its resources had count = 0;
    Terraform configures it anyway, its Configure asks Timescale's API for a token ("Unable to get
    JWT"), so `plan` failed without Timescale credentials. Timescale Cloud now lives in its own
    root (terraform/timescale-cloud); the environments never declare or configure it."""
    folders = _reachable(parsed, f"envs/{env}")
    assert len(folders) > 1, f"envs/{env} calls no module"
    for folder in folders:
        for path, doc in _folder_files(parsed, folder).items():
            configured = {n for n, _ in tfvalidate.entries(doc, "provider")}
            assert "timescale" not in configured, f"{path} configures the timescale provider"
            for tf in doc.get("terraform", []):
                for entry in tf.get("required_providers", []):
                    assert "timescale" not in entry, f"{path} requires the timescale provider"
            for typ, *_ in tfvalidate.typed_entries(doc, "resource"):
                assert not typ.startswith("timescale_"), f"{path}: {typ}"
    cloud = TERRAFORM / "timescale-cloud/main.tf"
    assert cloud.is_file() and 'provider "timescale"' in cloud.read_text()


# --- Grafana never starts -------------------------------------------------------------------------


def test_environment_files_written_at_start_are_optional(rendered: dict) -> None:
    """Defect: Grafana's drop-in had `EnvironmentFile=/run/grafana-ecg.env` without a leading `-`.
    systemd reads environment files before every command, ExecStartPre included, and the file is
    written by that ExecStartPre on tmpfs: a required one that does not exist yet fails the unit."""
    checked = 0
    for path, (name, content) in _units(rendered).items():
        for section, key, value in cloudinit.unit_settings(content):
            if key != "EnvironmentFile":
                continue
            checked += 1
            target = value.lstrip("-")
            volatile = target.startswith(("/run/", "/tmp/", "/var/run/"))
            written_by_a_unit = any(
                target in rendered[name].files.get(prog, "") for prog in cloudinit.unit_commands(content)
            )
            if volatile or written_by_a_unit:
                assert value.startswith("-"), f"{name} {path}: EnvironmentFile={value} must be optional (-)"  # fmt: skip
    assert checked, "no EnvironmentFile= found (the Grafana drop-in has one)"


# --- EMR cannot bootstrap -------------------------------------------------------------------------


def _emr_group_sources(parsed: dict) -> dict[str, str]:
    """role (master, slave) -> the expression the EMR cluster takes its group from."""
    out = {}
    for _, _, _, body in tfcheck.resources(parsed, "aws_emr_cluster"):
        attrs = tfcheck.first(body.get("ec2_attributes")) or {}
        out["master"] = attrs.get("emr_managed_master_security_group", "")
        out["slave"] = attrs.get("emr_managed_slave_security_group", "")
    return out


def _egress_of(parsed: dict, source: str) -> set[tuple[str, object]]:
    """(peer or cidr, port) of every egress rule of the group an EMR attribute names.

    Two layouts are understood: a group in the same module as the cluster
    (`aws_security_group.X.id`, rules referencing it), and the flow table of
    modules/security_groups reached through the composition (`var.security_group_ids.primary`)."""
    m = re.fullmatch(r"\$\{aws_security_group\.(\w+)\.id\}", source)
    if m:
        group = m.group(1)
        out = set()
        for path, typ, name, body in tfcheck.resources(parsed):
            if typ == "aws_security_group" and name == group:
                for rule in body.get("egress", []) or []:
                    out.add((str(rule.get("cidr_blocks")), rule.get("from_port")))
            if typ == "aws_vpc_security_group_egress_rule" and f"aws_security_group.{group}." in str(body.get("security_group_id")):  # fmt: skip
                out.add((body.get("cidr_ipv4") or body.get("referenced_security_group_id"), body.get("from_port")))  # fmt: skip
        return out
    m = re.fullmatch(r"\$\{var\.security_group_ids\.(\w+)\}", source)
    assert m, f"cannot follow the EMR group {source}"
    call = next(b for p, n, b in tfcheck.blocks(parsed, "module") if n == "spark")
    ref = call["security_group_ids"][m.group(1)]
    role = re.fullmatch(r'\$\{module\.security_groups\.ids\["(\w+)"\]\}', ref).group(1)
    sg = _locals(parsed, "modules/security_groups")
    out = {(f["to"], f["port"]) for f in sg["flows"] if f["from"] == role}
    out |= {("0.0.0.0/0", r["port"]) for r in sg["egress_anywhere"] if r["group"] == role}
    return out


@pytest.mark.parametrize("role", ["master", "slave"])
def test_emr_nodes_have_egress_to_s3_kafka_and_the_database(parsed: dict, role: str) -> None:
    """Defect: the EMR groups had no egress rules; Terraform removes AWS's default allow-all
    egress and EMR adds inbound rules only, so bootstrap could reach no S3, PyPI, Secrets
    Manager, MSK or database. Each node group needs HTTPS out (S3 gateway endpoint, AWS APIs,
    PyPI, Maven), Kafka to the brokers and PostgreSQL to the database."""
    egress = _egress_of(parsed, _emr_group_sources(parsed)[role])
    assert ("0.0.0.0/0", 443) in egress, f"no HTTPS egress: {egress}"
    assert any(port == 9096 for _, port in egress), f"no Kafka egress: {egress}"
    assert any(port == 5432 for _, port in egress), f"no PostgreSQL egress: {egress}"


# --- ordering race, one-shot steps ---------------------------------------------------------------


def test_rules_exist_before_anything_boots_into_the_groups(parsed: dict) -> None:
    """Defect: the brokers' and database's ingress rules for the Spark groups depended on the
    whole module.spark (cluster_id included), so they appeared after EMR had run its steps.
    Now no module that launches something creates its own groups, and the security group
    module hands its ids out only after every one of its rules exists."""
    for path, typ, name, _ in tfcheck.resources(parsed, "aws_security_group"):
        folder = posixpath.dirname(path)
        launched = [t for p, t, _n, _b in tfcheck.resources(parsed) if t in COMPUTE and p.startswith(folder + "/")]  # fmt: skip
        assert not launched, f"{folder} creates {typ}.{name} next to {launched}"
    outputs = {n: b for p, n, b in tfcheck.blocks(parsed, "output") if p == "modules/security_groups/outputs.tf"}  # fmt: skip
    rules = {f"${{{t}.{n}}}" for p, t, n, _ in tfcheck.resources(parsed) if p.startswith("modules/security_groups/") and t.endswith("_rule")}  # fmt: skip
    assert rules, "modules/security_groups has no rules"
    assert outputs and all(set(o.get("depends_on", [])) >= rules for o in outputs.values())
    # the EMR cluster takes its groups from that module (through the composition)
    for source in _emr_group_sources(parsed).values():
        m = re.fullmatch(r"\$\{var\.security_group_ids\.(\w+)\}", source)
        assert m, f"the EMR cluster's group {source} does not come from modules/security_groups"
        call = next(b for p, n, b in tfcheck.blocks(parsed, "module") if n == "spark")
        assert "module.security_groups.ids" in call["security_group_ids"][m.group(1)]


def test_jobs_are_supervised_with_backoff_not_one_shot_steps(parsed: dict) -> None:
    """Defect: the jobs ran as EMR steps, once, under `set -e` with no retry, and
    `ignore_changes = [step]` meant a failed step was never resubmitted. Now the bootstrap
    installs a systemd unit per job on the primary node whose supervisor retries with backoff."""
    for path, _, name, body in tfcheck.resources(parsed, "aws_emr_cluster"):
        dynamic = [k for d in body.get("dynamic", []) for k in d]
        assert "step" not in body and "step" not in dynamic, f"{path}: {name} submits EMR steps"
        for lc in body.get("lifecycle", []):
            assert "step" not in str(lc.get("ignore_changes")), path
    files = _spark_files()
    unit = next((c for n, c in files.items() if n.endswith(".service")), "")
    settings = {k: v for _, k, v in cloudinit.unit_settings(unit)}
    assert settings.get("Restart") == "always", "the job unit must restart whatever happens"
    supervisor = files[Path(settings["ExecStart"].split()[0]).name]
    assert re.search(r"while true", supervisor) and re.search(r"delay \* 2", supervisor), (
        "the supervisor must retry with exponential backoff"
    )
    assert "systemctl enable --now" in files["emr_bootstrap.sh"]


# --- CloudTrail, backups, versions, deprecations, examples ----------------------------------------


def _cloudtrail_describe_key_statements(parsed: dict) -> list[dict | str]:
    """Key-policy statements that grant CloudTrail kms:DescribeKey, in either form: an
    aws_iam_policy_document statement, or the text of a jsonencode() statement."""
    found: list[dict | str] = []
    for path, doc in parsed.items():
        if not path.startswith("modules/kms/"):
            continue
        for entry in doc.get("data", []):
            for body in entry.get("aws_iam_policy_document", {}).values():
                for st in body.get("statement", []):
                    if "kms:DescribeKey" in st.get("actions", []) and "cloudtrail.amazonaws.com" in str(st.get("principals")):  # fmt: skip
                        found.append(st)
        for _, _, _, body in tfcheck.resources(parsed, "aws_kms_key"):
            for chunk in re.split(r"\{\s*Sid\s*=", str(body.get("policy", "")))[1:]:
                if "kms:DescribeKey" in chunk and "cloudtrail.amazonaws.com" in chunk:
                    found.append(chunk)
    return found


def test_cloudtrail_may_describe_the_key_without_an_encryption_context(parsed: dict) -> None:
    """Defect: the key policy allowed CloudTrail kms:DescribeKey only under a
    kms:EncryptionContext condition that DescribeKey never carries, so the trail could not use
    the key; AWS's documented CloudTrail key policy allows DescribeKey unconditioned."""
    statements = _cloudtrail_describe_key_statements(parsed)
    assert statements, "no key-policy statement lets CloudTrail describe the key"
    assert any("EncryptionContext" not in str(st) for st in statements), statements


def test_backups_bucket_never_expires_current_objects(parsed: dict) -> None:
    """Defect: the backups bucket expired objects after 7/35 days, deleting pgBackRest's
    archive.info/backup.info and the full backups that differentials and WAL depend on. Only
    pgBackRest's own retention (repo1-retention-full) may remove backups."""
    buckets = _locals(parsed, "modules/s3")["buckets"]
    backups = buckets["backups"]
    assert backups.get("expire_days") is None, f"backups expire after {backups.get('expire_days')}"
    assert backups.get("ia_days") is None
    db = (TERRAFORM / "modules/timescaledb/templates/timescaledb-cloud-init.yaml.tftpl").read_text()
    assert "repo1-retention-full=" in db


def test_managed_grafana_gets_a_version_the_service_accepts(parsed: dict) -> None:
    """Defect: managed mode passed the OSS package version "11.6.0" to aws_grafana_workspace,
    which takes major.minor versions such as "10.4"."""
    for path, _, _, body in tfcheck.resources(parsed, "aws_grafana_workspace"):
        value = str(body.get("grafana_version"))
        m = re.fullmatch(r"\$\{var\.(\w+)\}", value)
        default = tfcheck._var_default(parsed, posixpath.dirname(path), m.group(1)) if m else value
        assert re.fullmatch(r"\d+\.\d+", str(default)), f"{path}: grafana_version {default}"


def test_no_deprecated_region_name(parsed_blocks: dict, provider_schema: dict) -> None:
    """Defect: data.aws_region.current.name is deprecated in hashicorp/aws 6.x (use .region)."""
    problems = tfvalidate.reference_problems(parsed_blocks, provider_schema)
    assert [p for p in problems if "deprecated" in p] == []


def _env_vpc_cidr(parsed: dict, env: str) -> str:
    """The VPC CIDR an environment uses: its composition call's literal, or (before the
    composition) the default of its vpc_cidr variable."""
    for p, n, b in tfcheck.blocks(parsed, "module"):
        if p == f"envs/{env}/main.tf" and n == "ecgdash":
            return b["vpc_cidr"]
    return tfcheck._var_default(parsed, f"envs/{env}", "vpc_cidr")


@pytest.mark.parametrize("env", ENVS)
def test_example_networks_do_not_overlap_the_vpc(parsed: dict, env: str) -> None:
    """Defect: the example set hospital_cidrs = ["10.0.0.0/8"], which overlaps the VPC's
    10.41.0.0/16 that the variable says it must not; the network module now also refuses an
    overlap with a precondition."""
    vpc = ipaddress.ip_network(_env_vpc_cidr(parsed, env))
    example = parsed[f"envs/{env}/terraform.tfvars.example"]
    cidrs = list(example.get("hospital_cidrs", [])) + list(example.get("producer_cidrs", []))
    cidrs += list((example.get("hospital_network") or {}).get("cidrs", []))
    cidrs += list(example.get("gateway_cidrs", []))
    assert cidrs, "the example names no hospital network"
    for c in cidrs:
        assert not ipaddress.ip_network(c).overlaps(vpc), f"{env}: {c} overlaps the VPC {vpc}"
    network = (TERRAFORM / "modules/network/main.tf").read_text()
    assert "precondition" in network and "overlap" in network


# --- nothing feeds the pipeline -----------------------------------------------------------------


def test_an_ingest_service_replays_wfdb_from_the_data_bucket(parsed: dict, rendered: dict) -> None:
    """Defect: nothing ran `ecgdash ingest` for a replay deployment. The ops host (an Auto
    Scaling group) runs it as a restarting systemd service from the data bucket; dev enables it."""
    units = {p: c for p, (_, c) in _units(rendered).items()}
    ingest = [
        (p, c) for p, c in units.items()
        if any("ecgdash ingest" in rendered_file for rendered_file in
               (r.files.get(prog, "") for r in rendered.values() for prog in cloudinit.unit_commands(c)))
    ]  # fmt: skip
    assert ingest, "no systemd unit runs `ecgdash ingest`"
    for path, content in ingest:
        assert {k: v for _, k, v in cloudinit.unit_settings(content)}.get("Restart") == "always", path
    assert list(tfcheck.resources(parsed, "aws_autoscaling_group")), "no Auto Scaling group"
    composition = (TERRAFORM / "modules/ecgdash/main.tf").read_text()
    assert re.search(r'ECGDASH_REPLAY_SOURCE\s*=.*bucket_names\["data"\]', composition)
    dev = next(b for p, n, b in tfcheck.blocks(parsed, "module") if p == "envs/dev/main.tf")
    assert dev.get("replay"), "dev does not replay anything"


def test_gateways_get_scram_users_acls_credentials_and_a_network_path(parsed: dict) -> None:
    """Defect: no path from the hospital's gateways to MSK, no principal to read their SCRAM
    secret. Now: one SCRAM user and secret per gateway, ACLs letting gateways write the
    waveform topic only, a policy for hospital IT to read gateway secrets, and the network
    attachment variables (Transit Gateway, site-to-site VPN, Direct Connect)."""
    kafka = _locals(parsed, "modules/kafka")
    assert "var.gateways" in str(kafka.get("users")), "no per-gateway SCRAM users"
    secrets = [b for p, t, n, b in tfcheck.resources(parsed, "aws_secretsmanager_secret") if p.startswith("modules/kafka/")]  # fmt: skip
    assert secrets and all(str(b.get("for_each")) == "${local.users}" for b in secrets)
    assert list(tfcheck.resources(parsed, "aws_msk_single_scram_secret_association"))
    acl = str(kafka.get("acl"))
    # gateways: Write and Describe on the waveform topic, nothing else
    assert 'setproduct(local.gateway_users, ["Write", "Describe"])' in acl
    assert acl.count("local.gateway_users") == 1
    assert re.search(r'User:\$\{pair\[0\]\}", resource_type = "Topic", resource_name = var\.topic', acl)
    policies = [n for p, t, n, _ in tfcheck.resources(parsed, "aws_iam_policy") if p.startswith("modules/iam/")]  # fmt: skip
    assert "gateway_credentials" in policies
    for typ in ("aws_ec2_transit_gateway_vpc_attachment", "aws_vpn_connection", "aws_dx_gateway_association"):  # fmt: skip
        assert list(tfcheck.resources(parsed, typ)), f"no {typ}"
    network_vars = {n for p, n, _ in tfcheck.blocks(parsed, "variable") if p.startswith("modules/network/")}  # fmt: skip
    assert "hospital_network" in network_vars


def test_every_host_ships_its_logs_with_the_cloudwatch_agent(parsed: dict, rendered: dict) -> None:
    """Defect: no CloudWatch agent wrote the `app` log group. Every kind of host (ops, database,
    Grafana, EMR nodes) installs the agent and loads a configuration that ships its logs to a log
    group; the composition gives each kind its own group (test_composition_wires_the_modules) and
    each kind's role may write it."""
    hosts = {name: r.text for name, r in rendered.items()}
    hosts["emr_bootstrap.sh"] = _spark_files().get("emr_bootstrap.sh", "")
    for name, text in hosts.items():
        assert "amazon-cloudwatch-agent" in text and "fetch-config" in text, f"{name}: no agent"
        assert re.search(r'"log_group_name":\s*"[^"]+"', text), f"{name}: the agent ships nothing"
    spark = (TERRAFORM / "modules/spark/main.tf").read_text()
    assert re.search(r"ECGDASH_LOG_GROUP\s*=\s*var\.log_group_name", spark)
    groups = _locals(parsed, "modules/logs").get("log_groups", {})
    iam = (TERRAFORM / "modules/iam/main.tf").read_text()
    for group in ("ops", "jobs", "database", "grafana"):
        assert group in groups, f"the logs module has no {group} group"
        assert f'var.log_group_arns["{group}"]' in iam, f"no role may write the {group} group"


def test_alarms_on_staleness_lag_restarts_and_failed_steps_reach_sns(parsed: dict) -> None:
    """Defect: no alarm on a failed step or a stalled job. CloudWatch alarms on job staleness
    (measured outside the job), consumer lag, job restarts and deploy failures, and an
    EventBridge rule on failed EMR steps and terminated clusters, all to one SNS topic."""
    alarms = {(b.get("namespace"), b.get("metric_name")): b for *_, b in tfcheck.resources(parsed, "aws_cloudwatch_metric_alarm")}  # fmt: skip
    wanted = [
        ("${var.metric_namespace}", "SecondsSinceLastBatch"),
        ("AWS/Kafka", "EstimatedMaxTimeLag"),
        ("${var.metric_namespace}", "JobRestarts"),
        ("${var.metric_namespace}", "DeployFailures"),
    ]
    for key in wanted:
        assert key in alarms, f"no alarm on {key}"
        assert "aws_sns_topic" in str(alarms[key].get("alarm_actions")), key
    assert alarms[wanted[0]]["treat_missing_data"] == "breaching", "a silent probe must alarm"
    rules = [b for *_, b in tfcheck.resources(parsed, "aws_cloudwatch_event_rule")]
    assert any("EMR Step Status Change" in str(r.get("event_pattern")) and "FAILED" in str(r.get("event_pattern")) for r in rules)  # fmt: skip
    targets = [b for *_, b in tfcheck.resources(parsed, "aws_cloudwatch_event_target")]
    assert any("aws_sns_topic" in str(t.get("arn")) for t in targets)
    probe = (TERRAFORM / "modules/ops/templates/ops-cloud-init.yaml.tftpl").read_text()
    composition = (TERRAFORM / "modules/ecgdash/main.tf").read_text()
    assert "SecondsSinceLastBatch" in probe and re.search(r"ECGDASH_PROBES = .*commits/", composition, re.S)


def _env_set_by_grafana_host(rendered: dict) -> set[str]:
    grafana = rendered["grafana-cloud-init.yaml.tftpl"]
    script = grafana.files.get("/usr/local/sbin/ecg-grafana-env.sh", "")
    return set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", script)) | set(
        re.findall(r"printf '%s=\"%s\"\\n' ([A-Z][A-Z0-9_]+)", script)
    )


def test_grafana_sends_email_and_webhooks_and_refreshes_every_second(rendered: dict) -> None:
    """Defect (with issue 12): `$__env{ECG_ALERT_EMAILS}` was never set on the Grafana host and no
    SMTP was configured, so the e-mail contact point failed and Grafana refused to start its
    alerting provisioning. Now grafana.ini has [smtp] and min_refresh_interval = 1s, and the host
    sets ECG_ALERT_EMAILS, ECG_ALERT_WEBHOOK_URL and ECG_SMTP_* from variables and Secrets Manager."""
    grafana = rendered["grafana-cloud-init.yaml.tftpl"]
    env = _env_set_by_grafana_host(rendered)
    for name in ("ECG_ALERT_EMAILS", "ECG_ALERT_WEBHOOK_URL", "ECG_SMTP_HOST", "ECG_SMTP_USER",
                 "ECG_SMTP_PASSWORD", "ECG_SMTP_FROM_ADDRESS"):  # fmt: skip
        assert name in env, f"the Grafana host does not set {name}"
    ini_text = next((c for p, c in grafana.files.items() if p.endswith("grafana.ini")), "")
    assert ini_text, "no grafana.ini written"
    ini = cloudinit.ini_sections(ini_text)
    assert ini.get("dashboards", "min_refresh_interval") == "1s"
    assert ini.getboolean("smtp", "enabled")
    for key in ("host", "user", "password", "from_address"):
        assert ini.get("smtp", key).startswith("$__env{ECG_SMTP_"), key


def test_every_env_the_provisioning_reads_is_set_on_the_grafana_host(rendered: dict) -> None:
    """The provisioning files (generated by the Python package into grafana/provisioning/) read
    their settings as $__env{NAME}; each NAME must be set by the Grafana host, or Grafana gets an
    empty value (an invalid contact point stops alerting provisioning)."""
    provisioning = REPO / "grafana/provisioning"
    wanted = set()
    for path in provisioning.rglob("*.y*ml"):
        wanted |= set(re.findall(r"\$__env\{(\w+)\}", path.read_text()))
    assert wanted, "no $__env{...} in grafana/provisioning"
    missing = wanted - _env_set_by_grafana_host(rendered)
    assert not missing, f"the Grafana host does not set {sorted(missing)}"


# --- migrations, topics, checkpoints (issue 15 and issue 9) ---------------------------------------


def test_migrations_run_once_at_deploy_time_as_the_owner_role(parsed: dict, rendered: dict) -> None:
    """Defect: `ecgdash db migrate` ran from every EMR step as the postgres superuser. Now the
    ops host's deploy unit runs it with the owner role's DSN; the EMR nodes can read neither the
    owner secret nor run migrate, and the database's owner role is no superuser."""
    for name, text in _spark_files().items():
        assert "db migrate" not in text, f"modules/spark/files/{name} runs migrations"
    iam = (TERRAFORM / "modules/iam/main.tf").read_text()
    emr = iam[iam.index('data "aws_iam_policy_document" "emr_ec2"') :]
    emr = emr[: emr.index('resource "aws_iam_role" "emr_ec2"')]
    assert "owner" not in emr and "admin" not in emr, "the EMR nodes may read the owner secret"
    ops = rendered.get("ops-cloud-init.yaml.tftpl")
    assert ops, "no ops host"
    deploy = next(c for p, c in ops.files.items() if p.endswith("ecgdash-deploy.sh"))
    env = next(c for p, c in ops.files.items() if p.endswith("ecgdash-env.sh"))
    assert '"$ecgdash" db migrate' in deploy
    assert "ECG_DB_ADMIN_DSN" in env and "SECRET_ARN_DB_OWNER" in env
    db = rendered["timescaledb-cloud-init.yaml.tftpl"].text
    assert re.search(r"CREATE ROLE \w+ LOGIN NOSUPERUSER", db) and "ALTER ROLE postgres" not in db


def test_emr_creates_topics_through_the_ecgdash_cli(parsed: dict) -> None:
    """Issue 9: the EMR side created the topics with a copied create_topics.py that hard-coded
    SASL settings; it now calls `ecgdash kafka create-topics --replication-factor N`."""
    files = _spark_files()
    assert "create_topics.py" not in files
    assert all("KafkaAdminClient" not in t and "SCRAM-SHA-512" not in t for t in files.values())
    text = "\n".join(files.values())
    assert re.search(r'ecgdash" kafka create-topics --replication-factor "\$\w+"', text)


def test_checkpoints_are_on_s3(parsed: dict) -> None:
    """Issue 15: checkpoints on S3, so that a replaced cluster resumes where the old one stopped
    (they were on the cluster's HDFS and went with it)."""
    text = "\n".join(_spark_files().values())
    assert "hdfs:" not in text
    assert re.search(r"ECG_CHECKPOINT_DIR=\"\$ECGDASH_CHECKPOINT_URI/\$job\"", text)
    spark = (TERRAFORM / "modules/spark/main.tf").read_text()
    assert re.search(r'ECGDASH_CHECKPOINT_URI\s*=\s*"s3a://\$\{var\.checkpoints_bucket\}', spark)


def test_dev_and_prod_are_one_composition(parsed: dict) -> None:
    """Issue 9: envs/dev/main.tf and envs/prod/main.tf were byte-identical copies kept equal by a
    test; now both are thin callers of modules/ecgdash with their own sizes."""
    dev = (TERRAFORM / "envs/dev/main.tf").read_text()
    prod = (TERRAFORM / "envs/prod/main.tf").read_text()
    assert dev != prod
    for env in ENVS:
        mods = [(n, b.get("source")) for p, n, b in tfcheck.blocks(parsed, "module") if p == f"envs/{env}/main.tf"]  # fmt: skip
        assert mods == [("ecgdash", "../../modules/ecgdash")], mods
