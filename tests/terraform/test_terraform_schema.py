"""terraform/ against the provider schemas: the offline stand-in for `terraform validate`.

The AWS schema is hashicorp/aws 6.25.0 as `@cdktf/provider-aws@21.22.1` carries it (its .jsii is
generated from the provider's schema), random is hashicorp/random 3.7.2 from
`@cdktf/provider-random@12.0.1`; both fetched and integrity-checked by .ci/terraform_tools.sh.
"""

from __future__ import annotations

import re
from pathlib import Path

import tfvalidate
from tfpaths import TERRAFORM


def test_the_schema_is_the_pinned_provider(provider_schema: dict) -> None:
    aws = provider_schema["resource"]
    assert len(aws) > 1500, "the AWS schema looks incomplete"
    # spot checks that would fail if the extraction broke
    emr = aws["aws_emr_cluster"]
    assert emr["attrs"]["release_label"]["required"] and emr["attrs"]["name"]["required"]
    assert emr["blocks"]["ec2_attributes"]["list"] is False
    assert emr["blocks"]["bootstrap_action"]["list"] is True
    assert "master_public_dns" in emr["computed"] and "master_public_dns" not in emr["attrs"]
    assert provider_schema["data"]["aws_region"]["computed"].keys() >= {"region", "name"}
    assert "random_password" in aws


def test_every_block_matches_the_provider_schema(parsed_blocks: dict, provider_schema: dict) -> None:
    """Every resource, data source and provider block: known type, known arguments and nested
    blocks written as such, required ones present, literals of a convertible type."""
    found = sum(1 for d in parsed_blocks.values() for _ in tfvalidate.typed_entries(d, "resource"))
    assert found > 100, f"only {found} resources found"
    assert tfvalidate.block_problems(parsed_blocks, provider_schema) == []


def test_every_reference_resolves(parsed_blocks: dict, provider_schema: dict) -> None:
    """var., local., module., data. and resource references point at declarations in the same
    module, the attributes read exist, and none is deprecated in hashicorp/aws 6.x."""
    assert tfvalidate.reference_problems(parsed_blocks, provider_schema) == []


def test_every_module_call_matches_the_module(parsed_blocks: dict) -> None:
    """Inputs exist and required ones are passed; literal inputs, defaults and tfvars examples
    conform to the declared variable types."""
    assert tfvalidate.module_problems(parsed_blocks) == []


def _version_ok(version: str, constraint: str) -> bool:
    """Does `version` satisfy a Terraform constraint string such as '>= 6.0, < 7.0' or '~> 6.0'?"""

    def key(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split("."))

    v = key(version)
    for part in constraint.split(","):
        op, want = re.fullmatch(r"\s*(>=|<=|>|<|=|!=|~>)?\s*([\d.]+)\s*", part).groups()
        w = key(want)
        n = len(w)
        if op == "~>":
            upper = (*w[: n - 2], w[n - 2] + 1) if n > 1 else (w[0] + 1,)
            ok = v[: len(w)] >= w and v[: len(upper)] < upper
        else:
            ok = {
                None: v[:n] == w,
                "=": v[:n] == w,
                "!=": v[:n] != w,
                ">=": v >= w,
                ">": v > w,
                "<=": v <= w,
                "<": v < w,
            }[op]
        if not ok:
            return False
    return True


def test_version_constraints_admit_the_checked_schemas_and_nothing_older(parsed: dict) -> None:
    """The schemas checked here are aws 6.25.0 and random 3.7.2: every folder must admit them, and
    aws 5.x must be excluded (data.aws_region's `region` attribute is new in 6.0)."""
    checked = 0
    for path, doc in parsed.items():
        if not path.endswith("versions.tf"):
            continue
        for terraform in doc.get("terraform", []):
            for entry in terraform.get("required_providers", []):
                for name, spec in entry.items():
                    want = {"aws": "6.25.0", "random": "3.7.2"}.get(name)
                    if want is None:
                        continue
                    checked += 1
                    assert _version_ok(want, spec["version"]), f"{path}: {name} {spec['version']}"
                    if name == "aws":
                        assert not _version_ok("5.100.0", spec["version"]), (
                            f"{path}: aws {spec['version']} admits 5.x"
                        )
    assert checked >= 10


def test_version_constraint_reader() -> None:
    assert _version_ok("6.25.0", ">= 6.0, < 7.0") and not _version_ok("7.0.0", ">= 6.0, < 7.0")
    assert _version_ok("6.25.0", "~> 6.0") and not _version_ok("7.1.0", "~> 6.0")
    assert _version_ok("3.7.2", "~> 3.7") and not _version_ok("3.6.0", "~> 3.7")
    assert not _version_ok("5.100.0", ">= 6.0, < 7.0")


# --- the checks fire on a bad configuration ----------------------------------------------------

BAD_ROOT = """
variable "count_of_things" {
  type = number
  default = "many"
}
variable "settings" {
  type = object({ size = number, name = optional(string) })
  default = { size = 1, colour = "red" }
}
data "aws_region" "current" {}
resource "aws_no_such_thing" "x" {}
resource "aws_s3_bucket" "b" {
  bucket     = "x"
  no_such    = 1
  versioning = [{ enabled = true }]
}
resource "aws_emr_cluster" "c" {
  name          = "c"
  service_role  = "r"
  release_label = ["emr-7"]
  ec2_attributes = { subnet_id = "s" }
  tags {
    a = "b"
  }
  dynamic "no_such_block" {
    for_each = []
    content {}
  }
  lifecycle {
    ignore_changes = [not_an_argument]
  }
}
resource "aws_msk_cluster" "k" {
  cluster_name = "k"
  kafka_version = "3.8.x"
  number_of_broker_nodes = true
}
resource "aws_sns_topic" "t" {
  name = "${var.undeclared}-${local.nothing}-${data.aws_region.current.name}"
  kms_master_key_id = aws_kms_key.missing.arn
  display_name = aws_s3_bucket.b.no_such_attribute
}
module "child" {
  source = "./child"
  unknown_input = 1
}
output "o" {
  description = "x"
  value       = module.child.no_such_output
}
"""

BAD_CHILD = """
variable "needed" {
  type        = string
  description = "required, not passed"
}
output "real" {
  description = "x"
  value       = var.needed
}
"""


def test_validator_catches_a_bad_configuration(parse, tmp_path: Path, provider_schema: dict) -> None:
    (tmp_path / "root/child").mkdir(parents=True)
    (tmp_path / "root/main.tf").write_text(BAD_ROOT)
    (tmp_path / "root/child/main.tf").write_text(BAD_CHILD)
    (tmp_path / "root/terraform.tfvars.example").write_text('nope = 1\ncount_of_things = "x"\n')
    bad = parse(tmp_path, blocks=True)
    blocks = "\n".join(tfvalidate.block_problems(bad, provider_schema))
    refs = "\n".join(tfvalidate.reference_problems(bad, provider_schema))
    mods = "\n".join(tfvalidate.module_problems(bad))
    expected_blocks = [
        "unknown resource type aws_no_such_thing",
        "aws_s3_bucket.b: unknown argument or block 'no_such'",
        "aws_s3_bucket.b: versioning is a block, written as an attribute",
        "aws_emr_cluster.c.release_label: ['emr-7'] is not a string",
        "aws_emr_cluster.c: ec2_attributes is a block, written as an attribute",
        "aws_emr_cluster.c: tags is an attribute, written as a block",
        "dynamic block no_such_block is not a block of this type",
        "lifecycle.ignore_changes names unknown not_an_argument",
        "aws_msk_cluster.k: required block broker_node_group_info missing",
        "aws_msk_cluster.k.number_of_broker_nodes: True is not a number",
    ]
    expected_refs = [
        "var.undeclared is not declared",
        "local.nothing is not declared",
        "aws_region.name deprecated",
        "aws_kms_key.missing is not declared",
        "aws_s3_bucket has no attribute no_such_attribute",
        "module.child (root/child) has no output no_such_output",
    ]
    expected_mods = [
        "default of var.count_of_things: 'many' is not a number",
        "default of var.settings: unknown attribute 'colour'",
        "module child passes unknown_input, which root/child does not declare",
        "module child does not pass required variable needed",
        "terraform.tfvars.example: sets nope, which root does not declare",
        "terraform.tfvars.example: count_of_things: 'x' is not a number",
    ]
    for text, found in [(blocks, expected_blocks), (refs, expected_refs), (mods, expected_mods)]:
        missing = [e for e in found if e not in text]
        assert not missing, f"not reported: {missing}\n--- reported:\n{text}"


def test_schema_checks_cover_every_folder(parsed_blocks: dict) -> None:
    folders = tfvalidate.folders(parsed_blocks)
    assert {f for f in folders if f.startswith("modules/")} >= {
        f"modules/{m}" for m in ("network", "kafka", "spark", "grafana", "s3", "kms", "iam", "logs")
    }
    assert any(f.startswith("envs/") for f in folders)
    assert all(not p.startswith(str(TERRAFORM)) for p in parsed_blocks)
