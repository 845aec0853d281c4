"""An offline stand-in for `terraform validate`: every block, argument, reference and module
interface under terraform/ checked against the provider schemas (tfschema.py) and the modules'
own variables and outputs.

Input is hcl2_dump.py's output with `--blocks` (nested blocks keep `__is_block__`). Each check
returns a list of problems (empty = fine), so the tests can also prove that a check fires.

What it checks:
- blocks: every resource, data source and provider block has a known type; every argument and
  nested block (dynamic blocks included) exists in the schema and is written as what it is
  (attribute or block); required arguments and blocks are present; literal values have a type
  Terraform can convert to the argument's type; lifecycle.ignore_changes names arguments;
- references: var.X, local.X, module.X.Y, data.T.N.attr and T.N.attr in every expression point at
  something declared in the same folder, and the attribute read exists (arguments, computed
  attributes and nested blocks, following nested attributes where the schema has them);
  deprecated attributes (DEPRECATED) are reported;
- modules: a call passes only variables the module declares and every variable without a
  default; literal inputs, variable defaults and *.tfvars(.example) values conform to the
  declared variable types (objects: no missing required and no unknown attributes).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

Parsed = dict[str, dict[str, Any]]

BLOCK_MARK = "__is_block__"
RESOURCE_META = {"count", "for_each", "provider", "depends_on", "lifecycle", "connection",
                 "provisioner"}  # fmt: skip
DATA_META = {"count", "for_each", "provider", "depends_on", "lifecycle"}
MODULE_META = {"source", "version", "providers", "count", "for_each", "depends_on"}
PROVIDER_META = {"alias", "version"}

# Deprecations the .jsii does not carry: (kind, type, attribute) -> what to use instead.
# hashicorp/aws 6.0 (CHANGELOG and docs/data-sources/region): `name` of data.aws_region is
# deprecated in favour of `region`.
DEPRECATED = {
    ("data", "aws_region", "name"): "deprecated in hashicorp/aws 6.x: read .region",
}

# Providers without a cdktf package: their schema written from the provider's own docs
# (timescale/terraform-provider-timescale docs/index.md and docs/resources/service.md, which
# tfplugindocs generates from the schema). Only the types this repository uses.
TIMESCALE = {
    "provider": {
        "timescale": {
            "attrs": {
                n: {"required": False, "type": "string"}
                for n in ("access_key", "access_token", "project_id", "secret_key")
            },
            "blocks": {},
        }
    },
    "resource": {
        "timescale_service": {
            "attrs": {
                "connection_pooler_enabled": {"required": False, "type": "bool"},
                "enable_ha_replica": {"required": False, "type": "bool"},
                "environment_tag": {"required": False, "type": "string"},
                "memory_gb": {"required": False, "type": "number"},
                "milli_cpu": {"required": False, "type": "number"},
                "name": {"required": False, "type": "string"},
                "password": {"required": False, "type": "string"},
                "paused": {"required": False, "type": "bool"},
                "read_replica_source": {"required": False, "type": "string"},
                "region_code": {"required": False, "type": "string"},
                "timeouts": {"required": False, "type": "any"},
                "vpc_id": {"required": False, "type": "number"},
            },
            "blocks": {},
            "computed": {
                n: None
                for n in (
                    "hostname",
                    "id",
                    "pooler_hostname",
                    "pooler_port",
                    "port",
                    "replica_hostname",
                    "replica_port",
                    "username",
                    "password",
                    "name",
                    "region_code",
                    "milli_cpu",
                    "memory_gb",
                    "vpc_id",
                )
            },  # fmt: skip
        }
    },
    "data": {},
}


# --- walking the parsed tree --------------------------------------------------------------------


def folder_of(path: str) -> str:
    return posixpath.dirname(path)


def is_block(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get(BLOCK_MARK) for v in value)
    )


def entries(doc: dict, kind: str) -> Iterator[tuple[str, dict]]:
    for entry in doc.get(kind, []):
        for name, body in entry.items():
            if name != BLOCK_MARK:
                yield name, body


def typed_entries(doc: dict, kind: str) -> Iterator[tuple[str, str, dict]]:
    for entry in doc.get(kind, []):
        for typ, named in entry.items():
            if typ == BLOCK_MARK:
                continue
            for name, body in named.items():
                if name != BLOCK_MARK:
                    yield typ, name, body


class Folder:
    """What one Terraform module (a folder of .tf files) declares."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.variables: dict[str, dict] = {}
        self.outputs: dict[str, dict] = {}
        self.locals: set[str] = set()
        self.resources: dict[tuple[str, str], dict] = {}
        self.data: dict[tuple[str, str], dict] = {}
        self.modules: dict[str, dict] = {}
        self.files: list[str] = []


def folders(parsed: Parsed) -> dict[str, Folder]:
    out: dict[str, Folder] = {}
    for path, doc in parsed.items():
        if not path.endswith(".tf"):
            continue
        f = out.setdefault(folder_of(path), Folder(folder_of(path)))
        f.files.append(path)
        f.variables.update(entries(doc, "variable"))
        f.outputs.update(entries(doc, "output"))
        f.modules.update(entries(doc, "module"))
        for block in doc.get("locals", []):
            f.locals |= {k for k in block if k != BLOCK_MARK}
        for typ, name, body in typed_entries(doc, "resource"):
            f.resources[(typ, name)] = body
        for typ, name, body in typed_entries(doc, "data"):
            f.data[(typ, name)] = body
    return out


# --- literal types ------------------------------------------------------------------------------


def is_expr(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def literal_problems(value: Any, typ: Any, where: str) -> list[str]:
    """Problems converting a literal to a schema TYPE the way Terraform converts values."""
    if is_expr(value) or typ == "any" or value is None:
        return []
    if isinstance(value, dict) and value.get(BLOCK_MARK):
        value = {k: v for k, v in value.items() if k != BLOCK_MARK}
    if typ == "string":
        ok = isinstance(value, (str, int, float, bool))
    elif typ == "number":
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, str) and _is_number(value)
        )
    elif typ == "bool":
        ok = isinstance(value, bool) or value in ("true", "false")
    elif isinstance(typ, list) and typ[0] == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        return [p for i, v in enumerate(value) for p in literal_problems(v, typ[1], f"{where}[{i}]")]
    elif isinstance(typ, list) and typ[0] == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map, got {value!r}"]
        return [p for k, v in value.items() for p in literal_problems(v, typ[1], f"{where}.{k}")]
    else:
        ok = True
    return [] if ok else [f"{where}: {value!r} is not a {typ}"]


# --- blocks against the schema ------------------------------------------------------------------


def _body_problems(body: dict, schema: dict, where: str, meta: set[str]) -> list[str]:
    out: list[str] = []
    attrs, blocks = schema.get("attrs", {}), schema.get("blocks", {})
    dynamic_names: set[str] = set()
    for dyn in body.get("dynamic", []) if "dynamic" not in attrs else []:
        for name, spec in dyn.items():
            if name == BLOCK_MARK:
                continue
            dynamic_names.add(name)
            nested = blocks.get(name, {}).get("block") or attrs.get(name, {}).get("nested")
            if nested is None:
                out.append(f"{where}: dynamic block {name} is not a block of this type")
                continue
            for content in spec.get("content", []):
                out += _body_problems(content, nested, f"{where}.{name}", set())
            unknown = set(spec) - {"for_each", "iterator", "labels", "content", BLOCK_MARK}
            if unknown:
                out.append(f"{where}: dynamic {name} has unknown keys {sorted(unknown)}")
    for key, value in body.items():
        if key in (BLOCK_MARK, "dynamic") and key not in attrs:
            continue
        if key in meta:
            if key == "lifecycle":
                for lc in value:
                    for attr in lc.get("ignore_changes", []) or []:
                        name = str(attr).removeprefix("${").removesuffix("}").split(".")[0]
                        name = name.split("[")[0]
                        if name not in attrs and name not in blocks and name != "all":
                            out.append(f"{where}: lifecycle.ignore_changes names unknown {name}")
            continue
        if key in blocks:
            if not is_block(value):
                out.append(f"{where}: {key} is a block, written as an attribute")
                continue
            spec = blocks[key]
            if not spec["list"] and len(value) > 1:
                out.append(f"{where}: block {key} may appear once, appears {len(value)} times")
            for i, item in enumerate(value):
                out += _body_problems(item, spec["block"], f"{where}.{key}", set())
        elif key in attrs:
            spec = attrs[key]
            if is_block(value):
                if "nested" not in spec:
                    out.append(f"{where}: {key} is an attribute, written as a block")
                    continue
                for item in value:
                    out += _body_problems(item, spec["nested"], f"{where}.{key}", set())
                continue
            out += literal_problems(value, spec["type"], f"{where}.{key}")
        else:
            out.append(f"{where}: unknown argument or block {key!r}")
    for name, spec in attrs.items():
        if spec["required"] and name not in body:
            out.append(f"{where}: required argument {name} missing")
    for name, spec in blocks.items():
        if spec["required"] and name not in body and name not in dynamic_names:
            out.append(f"{where}: required block {name} missing")
    return out


def block_problems(parsed: Parsed, schema: dict) -> list[str]:
    out: list[str] = []
    for path, doc in parsed.items():
        if not path.endswith(".tf"):
            continue
        for kind, meta in (("resource", RESOURCE_META), ("data", DATA_META)):
            for typ, name, body in typed_entries(doc, kind):
                where = f"{path}: {'data.' if kind == 'data' else ''}{typ}.{name}"
                block = schema[kind].get(typ)
                if block is None:
                    out.append(f"{where}: unknown {kind} type {typ}")
                    continue
                out += _body_problems(body, block, where, meta)
        for name, body in entries(doc, "provider"):
            block = schema["provider"].get(name)
            if block is None:
                out.append(f"{path}: provider {name} has no schema to check against")
                continue
            out += _body_problems(body, block, f"{path}: provider {name}", PROVIDER_META)
    return out


# --- references ---------------------------------------------------------------------------------


def _read_string(text: str, i: int, code: list[str]) -> int:
    """Skip a quoted string starting at text[i] == '"'; collect the code of its interpolations."""
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        if text.startswith("${", i):
            i = _read_expr(text, i + 2, code)
            continue
        i += 1
    return i


def _read_expr(text: str, i: int, code: list[str]) -> int:
    """Read an expression up to its closing '}' (text[i] is just after '${')."""
    depth = 0
    chunk: list[str] = []
    while i < len(text):
        c = text[i]
        if c == '"':
            chunk.append('""')
            i = _read_string(text, i, code)
            continue
        if c in "{([":
            depth += 1
        elif c in "})]":
            if depth == 0 and c == "}":
                code.append("".join(chunk))
                return i + 1
            depth -= 1
        chunk.append(c)
        i += 1
    code.append("".join(chunk))
    return i


def expression_code(value: Any) -> list[str]:
    """The code (string literals blanked) of every ${...} in a parsed value, keys included."""
    code: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            i = 0
            while True:
                j = v.find("${", i)
                if j < 0:
                    break
                if j > 0 and v[j - 1] == "$":
                    i = j + 2
                    continue
                i = _read_expr(v, j + 2, code)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(k)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(value)
    return code


_INDEX = r"(?:\[[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\])*"
_PATH = rf"((?:\.\w+{_INDEX})*)"
_VAR = re.compile(r"(?<![\w.])var\.(\w+)")
_LOCAL = re.compile(r"(?<![\w.])local\.(\w+)")
_MODULE = re.compile(rf"(?<![\w.])module\.(\w+){_INDEX}(?:\.(\w+))?")
_DATA = re.compile(rf"(?<![\w.])data\.(\w+)\.(\w+){_INDEX}{_PATH}")
_RESOURCE = re.compile(rf"(?<![\w.\"])((?:aws|random|timescale)_\w+)\.(\w+){_INDEX}{_PATH}")


def _attr_path_problems(path: str, block: dict, where: str, kind: str, typ: str) -> list[str]:
    names = re.findall(r"\.(\w+)", re.sub(_INDEX, "", path)) if path else []
    if not names:
        return []
    first = names[0]
    if (kind, typ, first) in DEPRECATED:
        return [f"{where}: {typ}.{first} {DEPRECATED[(kind, typ, first)]}"]
    computed = block.get("computed", {})
    known = set(computed) | set(block.get("attrs", {})) | set(block.get("blocks", {}))
    if first not in known:
        return [f"{where}: {typ} has no attribute {first}"]
    nested = computed.get(first)
    for name in names[1:]:
        if not isinstance(nested, dict) or not nested:
            break
        if name not in nested:
            return [f"{where}: {typ}.{first} has no attribute {name}"]
        nested = nested.get(name)
    return []


def reference_problems(parsed: Parsed, schema: dict) -> list[str]:
    out: list[str] = []
    fs = folders(parsed)
    for folder in fs.values():
        for path in folder.files:
            for code in expression_code(parsed[path]):
                out += _code_problems(code, folder, fs, schema, path)
    return sorted(set(out))


def _code_problems(code: str, f: Folder, fs: dict[str, Folder], schema: dict, path: str) -> list[str]:
    out: list[str] = []
    for m in _VAR.finditer(code):
        if m.group(1) not in f.variables:
            out.append(f"{path}: var.{m.group(1)} is not declared in {f.path}")
    for m in _LOCAL.finditer(code):
        if m.group(1) not in f.locals:
            out.append(f"{path}: local.{m.group(1)} is not declared in {f.path}")
    for m in _MODULE.finditer(code):
        name, output = m.groups()
        if name not in f.modules:
            out.append(f"{path}: module.{name} is not declared in {f.path}")
            continue
        target = module_folder(f.path, f.modules[name])
        if output and target in fs and output not in fs[target].outputs:
            out.append(f"{path}: module.{name} ({target}) has no output {output}")
    for m in _DATA.finditer(code):
        typ, name, attrs = m.groups()
        if (typ, name) not in f.data:
            out.append(f"{path}: data.{typ}.{name} is not declared in {f.path}")
            continue
        block = schema["data"].get(typ)
        if block:
            out += _attr_path_problems(attrs, block, f"{path}: data.{typ}.{name}", "data", typ)
    for m in _RESOURCE.finditer(code):
        typ, name, attrs = m.groups()
        if (typ, name) not in f.resources:
            out.append(f"{path}: {typ}.{name} is not declared in {f.path}")
            continue
        block = schema["resource"].get(typ)
        if block:
            out += _attr_path_problems(attrs, block, f"{path}: {typ}.{name}", "resource", typ)
    return out


# --- modules and variable types -----------------------------------------------------------------


def module_folder(caller: str, body: dict) -> str | None:
    source = str(body.get("source", ""))
    if not source.startswith(("./", "../")):
        return None
    return posixpath.normpath(posixpath.join(caller, source))


class _TypeParser:
    TOKEN = re.compile(r'\s*(?:(\w+)|("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?)|(.))')

    def __init__(self, text: str) -> None:
        self.tokens = [t for t in self.TOKEN.findall(text) if any(t)]
        self.tokens = [next(x for x in t if x) for t in self.tokens]
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expect: str | None = None) -> str:
        tok = self.tokens[self.i]
        if expect is not None and tok != expect:
            raise ValueError(f"expected {expect!r}, got {tok!r}")
        self.i += 1
        return tok

    def skip_value(self) -> None:
        depth = 0
        while self.peek() is not None:
            tok = self.peek()
            if tok in "([{":
                depth += 1
            elif tok in ")]}":
                if depth == 0:
                    return
                depth -= 1
            elif tok == "," and depth == 0:
                return
            self.take()

    def parse(self) -> Any:
        tok = self.take()
        if tok in ("string", "number", "bool", "any"):
            return tok
        if tok in ("list", "set", "map"):
            self.take("(")
            inner = self.parse()
            self.take(")")
            return (tok, inner)
        if tok == "tuple":
            self.take("(")
            self.take("[")
            items = []
            while self.peek() != "]":
                items.append(self.parse())
                if self.peek() == ",":
                    self.take()
            self.take("]")
            self.take(")")
            return ("tuple", items)
        if tok == "object":
            self.take("(")
            self.take("{")
            attrs: dict[str, tuple[Any, bool]] = {}
            while self.peek() != "}":
                name = self.take()
                self.take("=")
                if self.peek() == "optional":
                    self.take()
                    self.take("(")
                    inner = self.parse()
                    if self.peek() == ",":
                        self.take()
                        self.skip_value()
                    self.take(")")
                    attrs[name] = (inner, True)
                else:
                    attrs[name] = (self.parse(), False)
                if self.peek() == ",":
                    self.take()
            self.take("}")
            self.take(")")
            return ("object", attrs)
        raise ValueError(f"unknown type {tok!r}")


def parse_type(text: Any) -> Any:
    """A variable's `type` as parsed by python-hcl2 ("${map(object({a = string}))}") -> tree."""
    if text is None:
        return "any"
    s = str(text)
    if s.startswith("${") and s.endswith("}"):
        s = s[2:-1]
    return _TypeParser(s).parse()


def conform_problems(value: Any, typ: Any, where: str) -> list[str]:
    """Problems converting a (partly) literal value to a variable type."""
    if is_expr(value) or typ == "any" or value is None:
        return []
    if typ in ("string", "number", "bool"):
        return literal_problems(value, typ, where)
    kind = typ[0]
    if kind in ("list", "set"):
        if not isinstance(value, list):
            return [f"{where}: expected a {kind}, got {value!r}"]
        return [p for i, v in enumerate(value) for p in conform_problems(v, typ[1], f"{where}[{i}]")]
    if kind == "tuple":
        if not isinstance(value, list) or len(value) != len(typ[1]):
            return [f"{where}: expected a tuple of {len(typ[1])}, got {value!r}"]
        return [p for i, (v, t) in enumerate(zip(value, typ[1])) for p in conform_problems(v, t, f"{where}[{i}]")]  # fmt: skip
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map, got {value!r}"]
        return [p for k, v in value.items() for p in conform_problems(v, typ[1], f"{where}.{k}")]
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        out = []
        for k in value:
            if k not in typ[1] and not is_expr(k):
                out.append(f"{where}: unknown attribute {k!r} (the type has {sorted(typ[1])})")
        for k, (t, optional) in typ[1].items():
            if k in value:
                out += conform_problems(value[k], t, f"{where}.{k}")
            elif not optional:
                out.append(f"{where}: attribute {k!r} is required by the type")
        return out
    return []


def module_problems(parsed: Parsed) -> list[str]:
    out: list[str] = []
    fs = folders(parsed)
    for f in fs.values():
        for name, body in f.variables.items():
            try:
                typ = parse_type(body.get("type"))
            except (ValueError, IndexError) as exc:
                out.append(f"{f.path}: variable {name} has a type I cannot parse: {exc}")
                continue
            if "default" in body:
                out += conform_problems(body["default"], typ, f"{f.path}: default of var.{name}")
        for name, body in f.modules.items():
            target = module_folder(f.path, body)
            if target is None:
                continue
            if target not in fs:
                out.append(f"{f.path}: module {name}: source {body.get('source')} has no .tf files")
                continue
            declared = fs[target].variables
            for arg, value in body.items():
                if arg in MODULE_META or arg == BLOCK_MARK:
                    continue
                if arg not in declared:
                    out.append(f"{f.path}: module {name} passes {arg}, which {target} does not declare")
                    continue
                typ = parse_type(declared[arg].get("type"))
                out += conform_problems(value, typ, f"{f.path}: module {name}.{arg}")
            for var, spec in declared.items():
                if "default" not in spec and var not in body:
                    out.append(f"{f.path}: module {name} does not pass required variable {var}")
    for path, doc in parsed.items():
        if ".tfvars" not in path:
            continue
        folder = fs.get(folder_of(path))
        if folder is None:
            out.append(f"{path}: no module beside it")
            continue
        for key, value in doc.items():
            if key not in folder.variables:
                out.append(f"{path}: sets {key}, which {folder.path} does not declare")
                continue
            out += conform_problems(value, parse_type(folder.variables[key].get("type")), f"{path}: {key}")
    return out
