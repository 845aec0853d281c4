"""Static checks over the JSON that hcl2_dump.py makes of terraform/. Each returns a list of
problems (empty = fine), so that tests can also prove a check fires on a bad config."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Parsed = dict[str, dict[str, Any]]  # relative path -> parsed file

OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
REQUIRED_TAGS = {"Project", "Environment", "Owner", "DataClassification"}


def blocks(parsed: Parsed, kind: str) -> Iterator[tuple[str, str, dict]]:
    """(file, name, body) of every `variable`/`output`/`module`/`provider` block."""
    for path, doc in parsed.items():
        for entry in doc.get(kind, []):
            for name, body in entry.items():
                yield path, name, body


def resources(parsed: Parsed, rtype: str | None = None) -> Iterator[tuple[str, str, str, dict]]:
    """(file, type, name, body) of every resource, optionally of one type."""
    for path, doc in parsed.items():
        for entry in doc.get("resource", []):
            for typ, named in entry.items():
                if rtype is None or typ == rtype:
                    for name, body in named.items():
                        yield path, typ, name, body


def first(value: Any) -> Any:
    """A nested block is a list of bodies; most appear once."""
    return value[0] if isinstance(value, list) and value else value


def variable_problems(parsed: Parsed) -> list[str]:
    out = []
    for path, name, body in blocks(parsed, "variable"):
        if not body.get("type"):
            out.append(f"{path}: variable {name} has no type")
        if not str(body.get("description", "")).strip():
            out.append(f"{path}: variable {name} has no description")
    return out


def output_problems(parsed: Parsed) -> list[str]:
    return [
        f"{path}: output {name} has no description"
        for path, name, body in blocks(parsed, "output")
        if not str(body.get("description", "")).strip()
    ]


def _cidrs(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value is not None else []


def open_ingress_problems(parsed: Parsed) -> list[str]:
    """Any ingress from 0.0.0.0/0 or ::/0, in all three ways Terraform can write one."""
    out = []
    for path, typ, name, body in resources(parsed):
        found: list[str] = []
        if typ == "aws_security_group":
            for rule in body.get("ingress", []) or []:
                found += _cidrs(rule.get("cidr_blocks")) + _cidrs(rule.get("ipv6_cidr_blocks"))
        elif typ == "aws_security_group_rule" and body.get("type") == "ingress":
            found += _cidrs(body.get("cidr_blocks")) + _cidrs(body.get("ipv6_cidr_blocks"))
        elif typ == "aws_vpc_security_group_ingress_rule":
            found += _cidrs(body.get("cidr_ipv4")) + _cidrs(body.get("cidr_ipv6"))
        for cidr in found:
            if cidr in OPEN_CIDRS:
                out.append(f"{path}: {typ}.{name} allows ingress from {cidr}")
    return out


def _true(value: Any) -> bool:
    return value is True or value == "true"


def encryption_problems(parsed: Parsed) -> list[str]:
    out = []

    def need(cond: bool, what: str) -> None:
        if not cond:
            out.append(what)

    sse_files = {p for p, *_ in resources(parsed, "aws_s3_bucket_server_side_encryption_configuration")}
    for path, _, name, _body in resources(parsed, "aws_s3_bucket"):
        need(path in sse_files, f"{path}: aws_s3_bucket.{name} has no server-side encryption")
    for path, _, name, body in resources(parsed, "aws_s3_bucket_server_side_encryption_configuration"):
        default = first(first(body.get("rule")).get("apply_server_side_encryption_by_default"))
        need(
            default.get("sse_algorithm") in ("aws:kms", "AES256"),
            f"{path}: {name} has no SSE algorithm",
        )
    for path, _, name, body in resources(parsed, "aws_ebs_volume"):
        need(
            _true(body.get("encrypted")) and body.get("kms_key_id"),
            f"{path}: aws_ebs_volume.{name} not KMS-encrypted",
        )
    for path, _, name, body in resources(parsed, "aws_instance"):
        root = first(body.get("root_block_device")) or {}
        need(_true(root.get("encrypted")), f"{path}: aws_instance.{name} root volume not encrypted")
        need(
            first(body.get("metadata_options", [{}])).get("http_tokens") == "required",
            f"{path}: aws_instance.{name} allows IMDSv1",
        )
    for path, _, name, body in resources(parsed, "aws_launch_template"):
        for mapping in body.get("block_device_mappings", []) or []:
            ebs = first(mapping.get("ebs")) or {}
            need(_true(ebs.get("encrypted")), f"{path}: aws_launch_template.{name} volume not encrypted")
        need(
            bool(body.get("block_device_mappings")),
            f"{path}: aws_launch_template.{name} does not set its volumes (encryption)",
        )
        need(
            first(body.get("metadata_options", [{}])).get("http_tokens") == "required",
            f"{path}: aws_launch_template.{name} allows IMDSv1",
        )
    for path, _, name, body in resources(parsed, "aws_db_instance"):
        need(
            _true(body.get("storage_encrypted")) and body.get("kms_key_id"),
            f"{path}: aws_db_instance.{name} not KMS-encrypted",
        )
        need(
            _true(body.get("manage_master_user_password")),
            f"{path}: aws_db_instance.{name} master password not in Secrets Manager",
        )
    for path, _, name, body in resources(parsed, "aws_msk_cluster"):
        enc = first(body.get("encryption_info")) or {}
        transit = first(enc.get("encryption_in_transit")) or {}
        need(
            bool(enc.get("encryption_at_rest_kms_key_arn")),
            f"{path}: aws_msk_cluster.{name} no KMS at rest",
        )
        need(
            transit.get("client_broker") == "TLS" and _true(transit.get("in_cluster")),
            f"{path}: aws_msk_cluster.{name} not TLS-only",
        )
    for typ, attr in [
        ("aws_cloudwatch_log_group", "kms_key_id"),
        ("aws_secretsmanager_secret", "kms_key_id"),
        ("aws_sns_topic", "kms_master_key_id"),
        ("aws_cloudtrail", "kms_key_id"),
        ("aws_s3_object", "kms_key_id"),
    ]:
        for path, _, name, body in resources(parsed, typ):
            need(bool(body.get(attr)), f"{path}: {typ}.{name} has no {attr}")
    for path, _, name, body in resources(parsed, "aws_kms_key"):
        need(_true(body.get("enable_key_rotation")), f"{path}: aws_kms_key.{name} without rotation")
    for path, _, name, body in resources(parsed, "aws_emr_security_configuration"):
        text = str(body.get("configuration"))
        need(
            "EnableAtRestEncryption = true" in text and "EnableEbsEncryption = true" in text,
            f"{path}: {name} EMR at-rest/EBS encryption off",
        )
    return out


def _var_default(parsed: Parsed, folder: str, var: str) -> Any:
    for path, name, body in blocks(parsed, "variable"):
        if path.startswith(folder + "/") and name == var:
            return body.get("default")
    return None


def deletion_protection_problems(parsed: Parsed) -> list[str]:
    """Each protectable resource is protected, either literally or by a variable that defaults to
    true; envs pass true explicitly."""
    out = []
    checks = [
        ("aws_db_instance", "deletion_protection"),
        ("aws_instance", "disable_api_termination"),
        ("aws_lb", "enable_deletion_protection"),
        ("aws_emr_cluster", "termination_protection"),
    ]
    for typ, attr in checks:
        for path, _, name, body in resources(parsed, typ):
            value = body.get(attr)
            folder = path.rsplit("/", 1)[0]
            m = re.fullmatch(r"\$\{var\.(\w+)\}", str(value))
            ok = _true(value) or (m is not None and _true(_var_default(parsed, folder, m.group(1))))
            if not ok:
                out.append(f"{path}: {typ}.{name}.{attr} is not on ({value})")
    for path, _, name, body in resources(parsed, "aws_s3_bucket"):
        value = body.get("force_destroy")
        folder = path.rsplit("/", 1)[0]
        m = re.fullmatch(r"\$\{var\.(\w+)\}", str(value))
        if value is True or (m and _var_default(parsed, folder, m.group(1)) is not False):
            out.append(f"{path}: aws_s3_bucket.{name} may be force-destroyed")
    for path, _, name, body in resources(parsed, "aws_db_instance"):
        if _true(body.get("skip_final_snapshot")):
            out.append(f"{path}: aws_db_instance.{name} skips its final snapshot")
    for path, mod, body in blocks(parsed, "module"):
        folder = path.rsplit("/", 1)[0]
        for attr in ("deletion_protection", "termination_protection"):
            if attr not in body:
                continue
            value = body[attr]
            m = re.fullmatch(r"\$\{var\.(\w+)\}", str(value))
            # a pass-through of the caller's own variable is fine when that defaults to true
            if not (_true(value) or (m and _true(_var_default(parsed, folder, m.group(1))))):
                out.append(f"{path}: module {mod} sets {attr} = {value}")
    return out


def tag_problems(parsed: Parsed, env_main: str) -> list[str]:
    providers = [b for p, n, b in blocks(parsed, "provider") if p == env_main and n == "aws"]
    if not providers:
        return [f"{env_main}: no aws provider"]
    out = []
    for body in providers:
        tags = (first(body.get("default_tags")) or {}).get("tags", {})
        missing = REQUIRED_TAGS - set(tags)
        if missing:
            out.append(f"{env_main}: default_tags lacks {sorted(missing)}")
        out += [
            f"{env_main}: tag {k} is empty" for k in REQUIRED_TAGS & set(tags) if not str(tags[k]).strip()
        ]
    return out


SECRET_PATTERN = re.compile(
    r"random_password\.|\.password\b|\.result\b|secret_string|master_password|\.token\b|access_key|secret_key",
)


def secret_output_problems(parsed: Parsed) -> list[str]:
    out = []
    for path, name, body in blocks(parsed, "output"):
        value = str(body.get("value"))
        if SECRET_PATTERN.search(value):
            out.append(f"{path}: output {name} exposes a secret: {value}")
    for path, typ, name, body in resources(parsed):
        for attr in ("password", "master_password"):
            val = body.get(attr)
            if isinstance(val, str) and val and not val.startswith("${"):
                out.append(f"{path}: {typ}.{name}.{attr} is a literal")
    for path, name, body in blocks(parsed, "variable"):
        if re.search(r"password|secret_key|access_key|token", name) and body.get("default") not in (
            None,
            "",
        ):
            out.append(f"{path}: variable {name} has a default that may be a secret")
    return out


def version_problems(parsed: Parsed, folder: str) -> list[str]:
    """required_version set; every required provider has a source and a version constraint; every
    provider whose resources the folder uses is declared."""
    doc = parsed.get(f"{folder}/versions.tf")
    if doc is None:
        return [f"{folder}: no versions.tf"]
    out = []
    terraform = first(doc.get("terraform")) or {}
    if not terraform.get("required_version"):
        out.append(f"{folder}: no required_version")
    declared: dict[str, Any] = {}
    for entry in terraform.get("required_providers", []):
        declared.update(entry)
    for prov, spec in declared.items():
        if not isinstance(spec, dict) or not spec.get("source") or not spec.get("version"):
            out.append(f"{folder}: provider {prov} lacks source or version")
    used = {typ.split("_", 1)[0] for p, typ, _, _ in resources(parsed) if p.startswith(folder + "/")}
    for path, doc2 in parsed.items():
        if path.startswith(folder + "/"):
            for entry in doc2.get("data", []):
                used |= {typ.split("_", 1)[0] for typ in entry}
    for prov in sorted(used - set(declared)):
        out.append(f"{folder}: uses provider {prov} without declaring it in required_providers")
    return out
