"""Scenario circuit-breaker (pattern 5): the seed's event log and counts, cooldown, probe, threshold."""

from __future__ import annotations

import pytest

from glitchless.scenarios import run_scenario


@pytest.mark.parametrize("seed", [0, 5, 99])
def test_circuit_breaker_event_log_api_calls_and_final_state_match_the_seed(seed: int) -> None:
    r = run_scenario("circuit-breaker", seed)
    assert [c.name for c in r.checks if not c.passed] == []
    assert r.observations["event_log"] == ["closed", "open", "half-open", "open", "half-open", "closed"]
    assert r.observations["api_calls"] == 4
    assert r.observations["final"] == {"state": "closed", "failures": 0, "threshold": 3}


def test_circuit_breaker_open_calls_fail_fast_without_reaching_the_api_during_the_cooldown() -> None:
    obs = run_scenario("circuit-breaker").observations
    assert obs["fail_fast_calls"] == 5
    assert obs["api_requests_while_open"] == 0


@pytest.mark.parametrize("seed", range(8))
def test_circuit_breaker_sends_one_half_open_probe_whichever_concurrent_call_comes_first(seed: int) -> None:
    obs = run_scenario("circuit-breaker", seed).observations
    assert obs["probes_sent"] == 1
    assert obs["concurrent_outcomes"] == ["failed fast", "failed fast", "ok"]


def test_circuit_breaker_threshold_lowered_in_config_applies_at_the_next_failure() -> None:
    assert run_scenario("circuit-breaker").observations["opened_after_failures_with_threshold_2"] == 2
