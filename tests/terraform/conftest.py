"""Offline Terraform checks. The tools live in their own venvs (python-hcl2 and checkov both
install a module named `hcl2`), made by `.ci/terraform_tools.sh .tools`; set ECG_TF_TOOLS to use
another folder. Missing tools fail the tests: they are not skipped.

ECG_TF_ROOT points the checks at another copy of terraform/ (e.g. an older commit's, to show that
a defect test fails there). These tests import nothing of the project's Python packages."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling tf*.py helper modules
from tfpaths import HINT, PROVIDER_SCHEMAS, REPO, TERRAFORM, parse_tree  # noqa: E402


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


@pytest.fixture(scope="session")
def parsed(hcl2_python: Path) -> dict:
    tree = parse_tree(hcl2_python, TERRAFORM)
    assert tree, f"no .tf files under {TERRAFORM}"
    return tree


@pytest.fixture(scope="session")
def parsed_blocks(hcl2_python: Path) -> dict:
    return parse_tree(hcl2_python, TERRAFORM, blocks=True)


@pytest.fixture(scope="session")
def parse(hcl2_python: Path):
    return lambda root, blocks=False: parse_tree(hcl2_python, root, blocks)


@pytest.fixture(scope="session")
def provider_schema(tools: Path) -> dict:
    """hashicorp/aws 6.25.0 and hashicorp/random 3.7.2 as the cdktf packages carry them, plus the
    hand-written timescale schema of tfvalidate.TIMESCALE."""
    import tfschema
    import tfvalidate

    loaded = []
    for name, file in PROVIDER_SCHEMAS.items():
        path = _tool(tools / "providers" / file)
        schema = tfschema.load(path)
        assert schema["provider"].get(name), f"{path} carries no {name} provider"
        loaded.append(schema)
    return tfschema.merge(*loaded, tfvalidate.TIMESCALE)


@pytest.fixture(scope="session")
def rendered(terraform_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every cloud-init template under TERRAFORM rendered by Terraform with the sample values,
    parsed (cloudinit.Rendered), by template file name."""
    import tfcloudinit as cloudinit
    from tfsamples import SAMPLES

    tmp = tmp_path_factory.mktemp("render")
    out = {}
    for call in cloudinit.template_calls(TERRAFORM):
        missing = [k for k in call.keys if k not in SAMPLES]
        assert not missing, f"{call.module}: add sample values for {missing} to tfsamples.SAMPLES"
        text = cloudinit.render(
            terraform_bin, call.template, {k: SAMPLES[k] for k in call.keys}, tmp / "console"
        )
        out[call.template.name] = cloudinit.parse_cloud_config(text)
    return out
