"""Evaluate expressions of terraform/ with Terraform itself (`terraform console`, no provider, no
network): a variable's validation conditions on a given value, or a module's locals.

The variables are declared with their own type in a scratch folder and set from a
terraform.tfvars.json, so the expressions see typed values exactly as on `plan` (a list(string)
from a typed variable is not equal to a tuple literal, which a JSON literal pasted into the
expression would hide)."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import tfcheck

Parsed = dict[str, dict[str, Any]]


def unwrap(expr: Any) -> str:
    """python-hcl2 writes an expression as "${...}"; Terraform wants the inside."""
    text = str(expr)
    if text.startswith("${") and text.endswith("}"):
        return text[2:-1]
    return text


def variable(parsed: Parsed, folder: str, name: str) -> dict:
    for path, var, body in tfcheck.blocks(parsed, "variable"):
        if path.rsplit("/", 1)[0] == folder and var == name:
            return body
    raise AssertionError(f"{folder} declares no variable {name}")


def evaluate(
    terraform_bin: Path,
    workdir: Path,
    expr: str,
    variables: dict[str, tuple[str, Any]],
    locals_: dict[str, str] | None = None,
) -> Any:
    """The value of expr (HCL) in a scratch module that declares `variables` (name -> (type,
    value)) and `locals_` (name -> HCL expression), decoded from JSON."""
    workdir.mkdir(parents=True, exist_ok=True)
    decls = [f'variable "{n}" {{\n  type = {unwrap(t)}\n}}\n' for n, (t, _) in variables.items()]
    if locals_:
        decls.append("locals {\n" + "".join(f"  {n} = {unwrap(e)}\n" for n, e in locals_.items()) + "}\n")
    (workdir / "main.tf").write_text("\n".join(decls))
    (workdir / "terraform.tfvars.json").write_text(json.dumps({n: v for n, (_, v) in variables.items()}))
    proc = subprocess.run(
        [str(terraform_bin), "console"],
        input=f"base64encode(jsonencode({unwrap(expr)}))\n",
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=60,
    )
    out = proc.stdout.strip()
    if proc.returncode != 0 or not out:
        raise AssertionError(f"terraform console could not evaluate {expr}:\n{proc.stderr}{proc.stdout}")
    return json.loads(base64.b64decode(out.strip('"')))


def validations(
    terraform_bin: Path, workdir: Path, parsed: Parsed, folder: str, name: str, value: Any
) -> list[tuple[bool, str]]:
    """(condition holds, error message) of each validation block of variable `name` of `folder`
    for `value`; a condition that cannot be evaluated fails the test."""
    body = variable(parsed, folder, name)
    rules = body.get("validation", [])
    assert rules, f"{folder}: variable {name} has no validation"
    return [
        (
            evaluate(terraform_bin, workdir, rule["condition"], {name: (body["type"], value)}) is True,
            rule["error_message"],
        )
        for rule in rules
    ]


def accepts(terraform_bin: Path, workdir: Path, parsed: Parsed, folder: str, name: str, value: Any) -> bool:
    return all(ok for ok, _ in validations(terraform_bin, workdir, parsed, folder, name, value))
