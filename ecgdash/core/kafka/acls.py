"""Kafka ACLs from a JSON document (the Terraform deployment writes it for MSK):

    {"acls": [{"principal": "User:gw-ward3", "host": "*", "operation": "Write",
               "permission": "Allow", "resource_type": "Topic", "resource_name": "ecg.waveform",
               "pattern_type": "Literal"}, ...]}

Names are Kafka's (case-insensitive): operations Read, Write, Create, Delete, Alter, Describe,
ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All; resource types Topic, Group,
Cluster, TransactionalId; pattern types Literal, Prefixed; permission Allow or Deny. Applying is
idempotent: ACLs already present are left alone, the others are created.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ecgdash.core.errors import ConfigError, DeliveryError
from ecgdash.core.kafka.clients import admin
from ecgdash.core.kafka.security import PLAINTEXT, KafkaSecurity
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)

FIELDS = ("principal", "host", "operation", "permission", "resource_type", "resource_name",
          "pattern_type")


@dataclass(frozen=True)
class AclSpec:
    principal: str
    host: str
    operation: str
    permission: str
    resource_type: str
    resource_name: str
    pattern_type: str

    def to_acl(self) -> ACL:
        return ACL(self.principal, self.host, _enum(ACLOperation, self.operation, "operation"),
                   _enum(ACLPermissionType, self.permission, "permission"),
                   ResourcePattern(_enum(ResourceType, self.resource_type, "resource_type"),
                                   self.resource_name,
                                   _enum(ACLResourcePatternType, self.pattern_type, "pattern_type")))


def _enum(kind: Any, name: str, field: str) -> Any:
    key = "".join(ch for ch in str(name).upper() if ch.isalnum())
    for member in kind:
        if member.name.replace("_", "") == key and member.name not in ("ANY", "UNKNOWN", "MATCH"):
            return member
    choices = sorted(m.name for m in kind if m.name not in ("ANY", "UNKNOWN", "MATCH"))
    raise ConfigError(f"ACL {field} {name!r} is not one of {', '.join(choices)}")


def parse_acls(text: str) -> list[AclSpec]:
    """The ACLs of a JSON document; ConfigError naming the entry and field that is wrong."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"ACL document is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("acls"), list):
        raise ConfigError('ACL document must be {"acls": [...]}')
    out = []
    for i, entry in enumerate(doc["acls"]):
        if not isinstance(entry, dict):
            raise ConfigError(f"ACL {i} is not an object")
        missing = [f for f in FIELDS if f != "host" and not isinstance(entry.get(f), str)]
        if missing:
            raise ConfigError(f"ACL {i} lacks {', '.join(missing)}")
        spec = AclSpec(**{f: str(entry.get(f, "*")) for f in FIELDS})
        if not spec.principal.startswith("User:"):
            raise ConfigError(f"ACL {i}: principal {spec.principal!r} must look like User:<name>")
        spec.to_acl()  # names checked now, before anything is applied
        out.append(spec)
    return out


def _key(acl: ACL) -> tuple:
    p = acl.resource_pattern
    return (acl.principal, acl.host, acl.operation, acl.permission_type, p.resource_type,
            p.resource_name, p.pattern_type)


def apply_acls(bootstrap: str, specs: list[AclSpec], security: KafkaSecurity = PLAINTEXT
               ) -> tuple[int, int]:
    """Create the ACLs of `specs` that the cluster lacks; returns (created, already present)."""
    client = admin(bootstrap, security)
    try:
        try:
            everything = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                                   ResourcePatternFilter(ResourceType.ANY, None,
                                                         ACLResourcePatternType.ANY))
            present = {_key(a) for a in client.describe_acls(everything)[0]}
        except Exception as exc:  # the broker's own error (no authorizer, no permission)
            raise DeliveryError(f"cannot list ACLs on {bootstrap}: {exc}") from exc
        wanted = [s.to_acl() for s in specs]
        missing = [a for a in wanted if _key(a) not in present]
        if missing:
            try:
                res = client.create_acls(missing)
            except Exception as exc:  # the broker refused or does not answer CreateAcls
                raise DeliveryError(f"cannot create ACLs on {bootstrap}: {exc}") from exc
            failed = res.get("failed", [])
            if failed:
                raise DeliveryError(f"{len(failed)} ACLs not created on {bootstrap}, first: "
                                    f"{failed[0]}")
        return len(missing), len(wanted) - len(missing)
    finally:
        client.close()
