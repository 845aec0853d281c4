"""Where the Terraform checks look, and how they parse HCL (imported by the tests and by
conftest.py, which holds only fixtures)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TERRAFORM = Path(os.environ.get("ECG_TF_ROOT", REPO / "terraform")).resolve()

HINT = "run `.ci/terraform_tools.sh .tools` (or set ECG_TF_TOOLS to the folder it made)"


PROVIDER_SCHEMAS = {"aws": "aws-21.22.1.jsii", "random": "random-12.0.1.jsii"}


def parse_tree(hcl2_python: Path, root: Path, blocks: bool = False) -> dict:
    """Every .tf (and .tfvars[.example]) under root, parsed by python-hcl2 in its venv; with
    blocks=True nested blocks keep their `__is_block__` marker (tfvalidate needs it)."""
    proc = subprocess.run(
        [str(hcl2_python), str(HERE / "hcl2_dump.py"), str(root)] + (["--blocks"] if blocks else []),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        pytest.fail(f"python-hcl2 could not parse {root}:\n{proc.stderr}", pytrace=False)
    return json.loads(proc.stdout)
