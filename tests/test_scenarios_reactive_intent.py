"""Scenario reactive-intent (pattern 0): each escape hatch's observation, under several seeds."""

from __future__ import annotations

import pytest

from glitchless.scenarios import run_scenario


@pytest.mark.parametrize("seed", [0, 1, 7, 123])
def test_reactive_intent_passes_every_check_and_reports_the_escape_hatch_numbers(seed: int) -> None:
    r = run_scenario("reactive-intent", seed)
    assert [c.name for c in r.checks if not c.passed] == []
    obs = r.observations
    assert obs["batched_runs"] == 1
    assert obs["unbatched_runs"] == 2
    assert obs["stale_when_superseded"] is True
    assert obs["rerun_query"] == "q4"
    assert obs["cancelled_after_seconds"] == 3.0
    assert obs["foreign_write_effect_on_loop"] is True
    assert obs["mutation_notified"] is False
    assert obs["update_notified"] is True
    assert obs["phantom_rotations_at_boot"] == 0
    assert obs["rotation_events"] == ["k1"]
    assert obs["max_open_resources"] == 1
    assert obs["open_resources"] == 0


def test_reactive_intent_checks_each_of_the_seven_steps() -> None:
    r = run_scenario("reactive-intent")
    steps = [str(e.data["title"]) for e in r.trace.of("step")]
    assert [t.split(".")[0] for t in steps[1:]] == ["1", "2", "3", "4", "5", "6", "7"]
    assert len(r.checks) >= 14
