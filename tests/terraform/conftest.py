"""Offline Terraform checks. The tools live in their own venvs (python-hcl2 and checkov both
install a module named `hcl2`), made by `.ci/terraform_tools.sh .tools`; set ECG_TF_TOOLS to use
another folder. Missing tools fail the tests: they are not skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TERRAFORM = REPO / "terraform"
sys.path.insert(0, str(HERE))

HINT = "run `.ci/terraform_tools.sh .tools` (or set ECG_TF_TOOLS to the folder it made)"


@pytest.fixture(scope="session")
def tools() -> Path:
    return Path(os.environ.get("ECG_TF_TOOLS", REPO / ".tools")).resolve()


def _tool(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: {HINT}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def hcl2_python(tools: Path) -> Path:
    return _tool(tools / "hcl2-venv" / "bin" / "python")


@pytest.fixture(scope="session")
def terraform_bin(tools: Path) -> Path:
    return _tool(tools / "hcl2-venv" / "bin" / "terraform")


@pytest.fixture(scope="session")
def checkov_bin(tools: Path) -> Path:
    return _tool(tools / "checkov-venv" / "bin" / "checkov")


def parse_tree(hcl2_python: Path, root: Path) -> dict:
    """Every .tf under root, parsed by python-hcl2 in its venv."""
    proc = subprocess.run(
        [str(hcl2_python), str(HERE / "hcl2_dump.py"), str(root)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        pytest.fail(f"python-hcl2 could not parse {root}:\n{proc.stderr}", pytrace=False)
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def parsed(hcl2_python: Path) -> dict:
    tree = parse_tree(hcl2_python, TERRAFORM)
    assert tree, f"no .tf files under {TERRAFORM}"
    return tree


@pytest.fixture(scope="session")
def parse(hcl2_python: Path):
    return lambda root: parse_tree(hcl2_python, root)
