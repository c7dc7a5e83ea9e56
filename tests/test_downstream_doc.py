"""docs/downstream.md, run: its files written into a fresh project, its snippets executed, its tests
run with pytest, its scenario run through the entry point it declares, and its graph-coverage
example compared with what `glitchless coverage` measures for that project."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from glitchless.reports.project import load
from sample_team import run_glitchless

DOC = Path(__file__).resolve().parent.parent / "docs" / "downstream.md"
BLOCK = re.compile(r"(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)


def blocks() -> list[tuple[str | None, str, str]]:
    return [(m["file"], m["lang"], m["body"]) for m in BLOCK.finditer(DOC.read_text())]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("doc") / "shop-project"
    for file, _, body in blocks():
        if file is not None:
            (root / file).parent.mkdir(parents=True, exist_ok=True)
            (root / file).write_text(body)
    # What `pip install -e .` leaves for importlib.metadata: the entry points the doc's pyproject declares.
    meta = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    info = root / f"{meta['name']}-{meta['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n")
    groups = meta.get("entry-points", {})
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for group, eps in groups.items()))
    return root


def test_the_doc_has_the_files_and_snippets_this_test_runs() -> None:
    files = {f for f, _, _ in blocks() if f}
    assert files == {"pyproject.toml", "shop/__init__.py", "shop/cart.py", "shop/scenarios.py", "tests/test_cart.py"}
    assert len([b for f, lang, b in blocks() if f is None and lang == "python"]) == 2


def test_the_docs_pyproject_is_a_valid_glitchless_config(project: Path) -> None:
    p = load(project)
    assert (p.source, p.tests, p.floors["shop"].lines) == (("shop",), ("tests",), 80.0)
    for _, lang, body in blocks():
        if lang == "toml":
            tomllib.loads(body)  # the dependency example parses too


def test_the_docs_snippets_run(project: Path) -> None:
    for _, lang, body in [b for b in blocks() if b[0] is None and b[1] == "python"]:
        result = subprocess.run([sys.executable, "-c", body], cwd=project, capture_output=True, text=True,
                                env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"})
        assert result.returncode == 0, body + result.stderr


def test_the_docs_tests_pass_and_its_scenario_runs(project: Path) -> None:
    tests = run_glitchless(project, "run", "shop-checkout")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "shop-checkout: 1/1 checks passed -- PASS" in tests.stdout
    pytest_run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                                cwd=project, capture_output=True, text=True, env={"PYTHONPATH": str(project)})
    assert pytest_run.returncode == 0, pytest_run.stdout
    assert "4 passed" in pytest_run.stdout


def test_the_docs_graph_coverage_example_is_what_coverage_measures(project: Path) -> None:
    result = run_glitchless(project, "coverage")
    assert result.returncode == 0, result.stdout + result.stderr
    (example,) = [json.loads(b) for _, lang, b in blocks() if lang == "json"]
    assert json.loads((project / "reports" / "graph-coverage.json").read_text()) == example
