"""The nine commercial patterns as deterministic scenarios, plus the format to write more."""

from __future__ import annotations

import importlib

from glitchless.scenarios.framework import (
    SCENARIOS,
    CheckResult,
    Scenario,
    ScenarioResult,
    Script,
    UnknownScenarioError,
    get_scenario,
    run_scenario,
    scenario,
)

# Module per pattern, in patterns.md order; each registers itself on import.
SCENARIO_MODULES: list[str] = [
    "reactive_intent",
    "secret_rotation",
    "ab_testing",
    "multi_tenant",
    "extension_bundle",
    "circuit_breaker",
    "audit_trail",
    "unit_testing",
    "hot_update",
]


def load_all() -> None:
    for module in SCENARIO_MODULES:
        importlib.import_module(f"glitchless.scenarios.{module}")


__all__ = [
    "SCENARIOS",
    "CheckResult",
    "Scenario",
    "ScenarioResult",
    "Script",
    "UnknownScenarioError",
    "get_scenario",
    "load_all",
    "run_scenario",
    "scenario",
]
