"""The scenario registry: entry points read once per process; a name two packages share is a clear error."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import glitchless.scenarios as scenarios
from glitchless.cli import main
from glitchless.scenarios import CLASHES, SCENARIOS

TEAM = '''
from glitchless.scenarios import Script, scenario


@scenario("shared-name", "{team}'s scenario")
async def shared(s: Script) -> None:
    s.expect("{team} ran", 1, 1)


@scenario("{team}-own", "only {team} has this one")
async def own(s: Script) -> None:
    s.expect("{team} ran its own", 1, 1)
'''


@pytest.fixture
def two_teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for team in ("alpha", "beta"):
        (tmp_path / f"{team}_scenarios.py").write_text(TEAM.format(team=team))
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [EntryPoint(name=t, value=f"{t}_scenarios", group="glitchless.scenarios") for t in ("alpha", "beta")]
    monkeypatch.setattr(scenarios, "entry_points", lambda group: points if group == "glitchless.scenarios" else [])
    yield
    for name in ("shared-name", "alpha-own", "beta-own"):
        SCENARIOS.pop(name, None)
        CLASHES.pop(name, None)
    for team in ("alpha", "beta"):
        sys.modules.pop(f"{team}_scenarios", None)


CLASH = (
    "glitchless: error: scenario 'shared-name' is defined by both alpha_scenarios (alpha_scenarios) "
    "and beta_scenarios (beta_scenarios); rename one of them (prefix scenario names with your package's name)\n"
)


def test_list_shows_every_other_scenario_and_names_both_packages_of_a_clash(
    two_teams: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 1
    out, err = capsys.readouterr()
    names = [line.split()[0] for line in out.splitlines()]
    assert names[-2:] == ["alpha-own", "beta-own"] and "hot-update" in names and "shared-name" not in names
    assert err == CLASH


def test_other_scenarios_still_run_and_the_clashing_name_is_refused(
    two_teams: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "beta-own"]) == 0
    assert "beta ran its own" in capsys.readouterr().out
    assert main(["run", "shared-name"]) == 2
    assert capsys.readouterr().err == CLASH


def test_run_all_runs_the_rest_then_reports_the_clash_and_fails(
    two_teams: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--all", "--json"]) == 1
    out, err = capsys.readouterr()
    assert '"scenario": "alpha-own"' in out and '"scenario": "beta-own"' in out and "shared-name" not in out
    assert err.endswith(CLASH)


def test_importing_the_same_module_twice_is_not_a_clash(two_teams: None) -> None:
    scenarios.load_all()
    body = SCENARIOS["alpha-own"].body
    scenarios.scenario("alpha-own", "registered again")(body)  # the same function, seen again
    assert "alpha-own" not in CLASHES and SCENARIOS["alpha-own"].description == "registered again"


def test_entry_points_are_read_once_per_process_not_once_per_seed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reads: list[str] = []

    def counting(group: str) -> list[EntryPoint]:
        reads.append(group)
        return []

    monkeypatch.setattr(scenarios, "entry_points", counting)
    assert main(["explore", "hot-update", "--seeds", "5"]) == 0
    assert main(["list"]) == 0
    assert reads == ["glitchless.scenarios"]
