"""`ecgdash kafka acls apply`: the ACL document the Terraform deployment writes, parsed into
kafka-python's ACL objects, with one-line errors; against a broker without an authorizer (the
local Tansu) the command fails naming the broker, and nothing is half-applied."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kafka.admin import ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourceType

from ecgdash.core.errors import ConfigError
from ecgdash.core.kafka import parse_acls

# the shape of terraform/modules/kafka's acl_spec output
DOC = {"acls": [
    {"principal": "User:ecgdash-ops", "host": "*", "operation": "Alter", "permission": "Allow",
     "resource_type": "Cluster", "resource_name": "kafka-cluster", "pattern_type": "Literal"},
    {"principal": "User:ecgdash-jobs", "host": "*", "operation": "Read", "permission": "Allow",
     "resource_type": "Topic", "resource_name": "ecg.waveform", "pattern_type": "Literal"},
    {"principal": "User:ecgdash-jobs", "host": "*", "operation": "Describe", "permission": "Allow",
     "resource_type": "Group", "resource_name": "ecgdash", "pattern_type": "Prefixed"},
    {"principal": "User:gw-ward3", "host": "*", "operation": "IdempotentWrite",
     "permission": "Allow", "resource_type": "Cluster", "resource_name": "kafka-cluster",
     "pattern_type": "Literal"},
]}


def test_terraform_document_parses_into_kafka_acls() -> None:
    acls = [s.to_acl() for s in parse_acls(json.dumps(DOC))]
    assert [a.operation for a in acls] == [ACLOperation.ALTER, ACLOperation.READ,
                                           ACLOperation.DESCRIBE, ACLOperation.IDEMPOTENT_WRITE]
    assert acls[2].resource_pattern.pattern_type == ACLResourcePatternType.PREFIXED
    assert acls[1].resource_pattern.resource_type == ResourceType.TOPIC
    assert {a.permission_type for a in acls} == {ACLPermissionType.ALLOW}


@pytest.mark.parametrize("change,message", [
    ({"operation": "Wrte"}, "operation 'Wrte' is not one of"),
    ({"resource_type": "Table"}, "resource_type 'Table'"),
    ({"pattern_type": "Any"}, "pattern_type 'Any'"),
    ({"principal": "ecgdash-jobs"}, "User:<name>"),
    ({"resource_name": None}, "lacks resource_name"),
])
def test_bad_entries_are_named(change: dict, message: str) -> None:
    doc = {"acls": [dict(DOC["acls"][1], **change)]}
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_acls(json.dumps(doc))


def test_not_a_document() -> None:
    with pytest.raises(ConfigError, match="not JSON"):
        parse_acls("{acls")
    with pytest.raises(ConfigError, match='"acls"'):
        parse_acls("[]")


@pytest.mark.integration
def test_broker_without_authorizer_fails_in_one_line(broker: str, tmp_path: Path) -> None:
    f = tmp_path / "acls.json"
    f.write_text(json.dumps(DOC))
    env = {**os.environ, "ECG_DB_MODE": "external", "ECG_KAFKA_BOOTSTRAP": broker}
    res = subprocess.run([sys.executable, "-m", "ecgdash.cli", "kafka", "acls", "apply", str(f)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    err = [line for line in res.stderr.splitlines() if line.startswith("ecgdash: error:")]
    assert len(err) == 1 and broker in err[0] and "Traceback" not in res.stderr
