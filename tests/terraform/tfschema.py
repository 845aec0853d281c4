"""Terraform provider schemas rebuilt from the cdktf prebuilt provider packages.

`@cdktf/provider-aws@21.22.1` is generated from hashicorp/aws 6.25.0 and carries, in its `.jsii`
file, one config interface per resource and data source (every argument and nested block, whether
it is required, its type) and one class whose properties are the attributes a reference can read.
This module turns that into a small JSON schema per block type:

    {"provider": {"aws": BLOCK}, "resource": {"aws_emr_cluster": BLOCK, ...}, "data": {...}}
    BLOCK = {"attrs":    {name: {"required": bool, "type": TYPE, "nested"?: BLOCK}},
             "blocks":   {name: {"required": bool, "list": bool, "block": BLOCK}},
             "computed": {name: NESTED or null}}   # readable attributes (references)
    TYPE  = "string" | "number" | "bool" | "any" | ["list", TYPE] | ["map", TYPE]

Terraform names come from the registry links in the generated docs (`...#release_label
EmrCluster#release_label`), which every argument carries; computed attributes, which have no
link, are converted from camelCase. Built once per .jsii and cached beside it (a few seconds).
What the .jsii does not carry: ConflictsWith/ExactlyOneOf, allowed values, deprecations (see
DEPRECATED in tfvalidate.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 4  # bump when the cached format changes

_LINK = re.compile(r"\{@link (\S+) (\w+)\}")
_ANCHOR = re.compile(r"#(\w+) \w+#\w+\}")
_BLOCK = re.compile(r"^(\w+) block\.$")
# cdktf renames attributes that clash with construct members (count -> countAttribute, ...)
_CLASHES = {"count", "provider", "lifecycle", "node", "for_each", "depends_on", "fqn", "version"}
_SKIP_PROPS = {"tfResourceType", "internalValue", "terraformAttribute", "terraformResource",
               "wrapsSet", "creationStack", "fqn"}  # fmt: skip


def snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()


def _tf_name(prop: dict) -> str:
    docs = prop.get("docs", {})
    m = _ANCHOR.search(docs.get("summary", "") + " " + docs.get("remarks", ""))
    return m.group(1) if m else snake(prop["name"])


def _type(t: dict, types: dict) -> Any:
    if "primitive" in t:
        return {"string": "string", "number": "number", "boolean": "bool"}.get(t["primitive"], "any")
    if "collection" in t:
        kind = t["collection"]["kind"]
        return ["list" if kind == "array" else "map", _type(t["collection"]["elementtype"], types)]
    if "union" in t:
        parts = [u for u in t["union"]["types"] if u.get("fqn") != "cdktf.IResolvable"]
        if len(parts) == 1:
            return _type(parts[0], types)
        return "any"
    return "any"  # a struct-typed attribute (object); its fields are not checked


def _struct_fqn(t: dict) -> tuple[str | None, bool]:
    """(fqn of a block's struct, is it a list) for a block-typed property."""
    if "fqn" in t:
        return t["fqn"], False
    for u in t.get("union", {}).get("types", []):
        col = u.get("collection")
        if col and "fqn" in col["elementtype"]:
            return col["elementtype"]["fqn"], True
    return None, False


def _config_block(fqn: str, types: dict, depth: int = 0) -> dict:
    out: dict = {"attrs": {}, "blocks": {}}
    for prop in types[fqn].get("properties", []):
        name = _tf_name(prop)
        required = not prop.get("optional", False)
        if _BLOCK.match(prop.get("docs", {}).get("summary", "")):
            sub, is_list = _struct_fqn(prop["type"])
            block = _config_block(sub, types, depth + 1) if sub and depth < 12 else {}
            out["blocks"][name] = {"required": required, "list": is_list, "block": block}
        else:
            attr = {"required": required, "type": _type(prop["type"], types)}
            sub, _ = _struct_fqn(prop["type"])
            if sub and sub in types and depth < 12:
                # an attribute of objects (provider "attributes as blocks" mode, e.g. the
                # step of aws_emr_cluster): HCL accepts block syntax for it too
                attr["nested"] = _config_block(sub, types, depth + 1)
            out["attrs"][name] = attr
    return out


def _element_class(fqn: str, types: dict) -> str | None:
    """XList / XMap -> the XOutputReference its get() returns."""
    for method in types.get(fqn, {}).get("methods", []):
        if method["name"] == "get":
            return method.get("returns", {}).get("type", {}).get("fqn")
    return None


def _computed(fqn: str, types: dict, depth: int = 0) -> dict:
    out: dict = {}
    if depth > 4 or fqn not in types:
        return out
    for prop in types[fqn].get("properties", []):
        name = prop["name"]
        if prop.get("static") or name.endswith("Input") or name in _SKIP_PROPS:
            continue
        tf = snake(name)
        if tf.endswith("_attribute") and tf[: -len("_attribute")] in _CLASHES:
            tf = tf[: -len("_attribute")]
        nested = None
        sub = prop["type"].get("fqn")
        if sub and sub.startswith(types[fqn]["assembly"]):
            element = _element_class(sub, types)
            nested = _computed(element or sub, types, depth + 1)
        out[tf] = nested
    return out


def build(jsii_path: Path) -> dict:
    """The schema of every resource, data source and the provider in one .jsii file."""
    assembly = json.loads(jsii_path.read_text())
    types = assembly["types"]
    schema: dict = {"provider": {}, "resource": {}, "data": {}, "source": assembly["name"]}
    for fqn, t in types.items():
        if t.get("kind") != "class" or t.get("base") not in (
            "cdktf.TerraformResource",
            "cdktf.TerraformDataSource",
            "cdktf.TerraformProvider",
        ):
            continue
        m = _LINK.search(t.get("docs", {}).get("summary", ""))
        config = next(
            (p["type"]["fqn"] for p in t["initializer"]["parameters"] if p["name"] == "config"),
            None,
        )
        if not m or not config:
            continue
        url, tf_type = m.groups()
        block = _config_block(config, types)
        if t["base"] == "cdktf.TerraformProvider":
            schema["provider"][tf_type] = block
            schema["version"] = url.rstrip("/").split("/")[-2]
            continue
        block["computed"] = _computed(fqn, types)
        kind = "data" if "/data-sources/" in url else "resource"
        schema[kind][tf_type] = block
    return schema


def load(jsii_path: Path) -> dict:
    """The schema of one provider package, from the cache beside the .jsii when it is current."""
    cache = jsii_path.with_suffix(".schema.json")
    stat = jsii_path.stat()
    key = f"{SCHEMA_VERSION}:{stat.st_size}:{int(stat.st_mtime)}"
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("key") == key:
            return cached["schema"]
    schema = build(jsii_path)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key": key, "schema": schema}))
    tmp.replace(cache)
    return schema


def merge(*schemas: dict) -> dict:
    """One lookup table over several providers (aws + random)."""
    out: dict = {"provider": {}, "resource": {}, "data": {}}
    for s in schemas:
        for kind in out:
            out[kind].update(s[kind])
    return out
