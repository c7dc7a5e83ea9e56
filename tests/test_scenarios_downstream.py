"""A downstream package adds its own scenario through the `glitchless.scenarios` entry-point group."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import glitchless.scenarios as scenarios
from glitchless.cli import main

TEAM_MODULE = '''
from glitchless.kernel import Runtime
from glitchless.scenarios import Script, scenario


@scenario("team-counter", "a downstream team's own scenario")
async def team_counter(s: Script) -> None:
    s.step("count to three, an hour apart")
    rt = Runtime()
    count = rt.signal(0)
    seen = []
    rt.effect(lambda: seen.append(count.get()))
    for _ in range(3):
        await s.advance(3600)
        count.update(lambda n: n + 1)
    s.expect("the effect saw every count", seen, [0, 1, 2, 3])
    s.expect("three hours passed", s.now(), 10800.0)
    s.observe("seen", seen)
'''


@pytest.fixture
def team_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "team_scenarios.py").write_text(TEAM_MODULE)
    (tmp_path / "broken_scenarios.py").write_text("raise RuntimeError('missing dependency')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [EntryPoint(name="team", value="team_scenarios", group="glitchless.scenarios")]
    monkeypatch.setattr(scenarios, "entry_points", lambda group: points if group == "glitchless.scenarios" else [])
    yield
    scenarios.SCENARIOS.pop("team-counter", None)
    sys.modules.pop("team_scenarios", None)


def test_a_downstream_scenario_is_listed_after_the_built_in_ones(
    team_entry_point: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names[-1] == "team-counter" and names[0] == "reactive-intent"


def test_a_downstream_scenario_runs_and_passes(team_entry_point: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "team-counter", "--json"]) == 0
    assert '"passed": true' in capsys.readouterr().out


def test_a_downstream_module_that_fails_to_import_is_a_one_line_error(
    team_entry_point: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    points = [EntryPoint(name="broken", value="broken_scenarios", group="glitchless.scenarios")]
    monkeypatch.setattr(scenarios, "entry_points", lambda group: points)
    assert main(["run", "team-counter"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken_scenarios" in err and "missing dependency" in err
