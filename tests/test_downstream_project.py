"""A separate team project (tests/sample_team.py) measured by glitchless: run, coverage, graph coverage,
mutate and report each work on THAT project's code.

The mutation part takes about half a minute: it is marked `slow`, which the default test run leaves
out (pyproject addopts); run it with `python -m pytest -m slow tests/test_downstream_project.py`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sample_team import run_glitchless, write_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("team"))


@pytest.fixture(scope="module")
def covered(project: Path) -> tuple[Path, str]:
    result = run_glitchless(project, "coverage")
    assert result.returncode == 0, result.stdout + result.stderr
    return project, result.stdout


def test_run_finds_the_teams_scenario_through_its_entry_point(project: Path) -> None:
    listed = run_glitchless(project, "list")
    assert "teamapp-checkout" in listed.stdout
    result = run_glitchless(project, "run", "teamapp-checkout")
    assert result.returncode == 0, result.stderr
    assert "teamapp-checkout: 1/1 checks passed -- PASS" in result.stdout


def test_coverage_measures_only_the_teams_files(covered: tuple[Path, str]) -> None:
    project, out = covered
    data = json.loads((project / "reports" / "coverage" / "coverage.json").read_text())
    assert sorted(data["files"]) == ["teamapp/__init__.py", "teamapp/cart.py", "teamapp/scenarios.py"]
    summary = json.loads((project / "reports" / "coverage" / "summary.json").read_text())
    assert list(summary["packages"]) == ["teamapp"]
    assert summary["project"] == "teamapp"
    # three tests and the registered scenario, run as one more test item
    assert (summary["tests"]["passed"], summary["tests"]["failed"]) == (4, 0)
    assert "teamapp " in out and "glitchless" not in out.split("graph coverage")[0].split("package")[1]


def test_graph_coverage_lists_the_operation_no_test_calls_as_missed(covered: tuple[Path, str]) -> None:
    project, out = covered
    graph = json.loads((project / "reports" / "graph-coverage.json").read_text())
    assert graph["operations"] == {"covered": ["cart.add"], "missed": ["cart.refund"]}
    assert graph["subscriptions"] == {"covered": [], "missed": ["cart.on_order[order.*]"]}
    assert graph["effects"] == {"covered": ["cart.announce"], "missed": []}
    assert graph["computeds"] == {"covered": ["cart.total"], "missed": []}
    assert "operations never invoked: cart.refund" in out


def test_report_is_about_the_teams_project(covered: tuple[Path, str]) -> None:
    project, _ = covered
    result = run_glitchless(project, "report")
    assert result.returncode == 0, result.stdout + result.stderr
    page = (project / "reports" / "index.html").read_text()
    summary = (project / "reports" / "summary.md").read_text()
    assert "<title>teamapp: glitchless report</title>" in page
    assert "Scenarios: 1/1 pass" in summary and "| teamapp-checkout | 1/1 | PASS |" in summary
    assert "circuit-breaker" not in summary  # glitchless's own scenarios are not the team's
    assert "cart.refund" in page and "All tests passed in the coverage run" in page


def test_a_malformed_config_names_the_key(tmp_path: Path) -> None:
    project = write_project(tmp_path)
    text = (project / "pyproject.toml").read_text().replace("teamapp = { lines = 50 }", 'teamapp = { lines = "high" }')
    (project / "pyproject.toml").write_text(text)
    result = run_glitchless(project, "coverage")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "glitchless: error: pyproject.toml: [tool.glitchless] floors.teamapp.lines must be a number from 0 to 100, "
        "got 'high'"
    )
    assert not (project / "reports" / "coverage").exists()


@pytest.mark.slow
def test_mutate_mutates_the_teams_code_and_scores_it(project: Path) -> None:
    result = run_glitchless(project, "mutate", "--max-children", "2")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads((project / "reports" / "mutation.json").read_text())
    assert report["total"] > 0
    assert all(s["file"].startswith("teamapp/") for s in report["survivors"])
    assert report["title"] == "teamapp (teamapp)"
    assert f"score (killed / scored): {report['killed_percent']:.1f}%" in result.stdout
    names = run_glitchless(project, "report")
    assert names.returncode == 0
    assert "Mutation testing: teamapp (teamapp)" in (project / "reports" / "index.html").read_text()


def test_a_failing_scenario_fails_coverage_and_the_report_shows_it(tmp_path: Path) -> None:
    project = write_project(tmp_path)
    scenarios = project / "teamapp" / "scenarios.py"
    scenarios.write_text(scenarios.read_text().replace('total(), 5)', 'total(), 6)'))
    result = run_glitchless(project, "coverage")
    assert result.returncode == 1
    assert ("scenario teamapp-checkout: failed checks: total: expected 6, got 5 "
            "(replay: glitchless run teamapp-checkout)") in result.stdout
    tests = json.loads((project / "reports" / "coverage" / "tests.json").read_text())
    assert (tests["passed"], tests["failed"], tests["failing"]) == (3, 1, ["scenario teamapp-checkout"])
    assert run_glitchless(project, "report").returncode == 1  # the scenario fails there too
    page = (project / "reports" / "index.html").read_text()
    assert "The coverage run had failing tests" in page and "scenario teamapp-checkout" in page
