"""The nine commercial patterns as deterministic scenarios, plus the format to write more."""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points

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
    """Import the built-in scenarios, then those other packages declare.

    A downstream package adds its own by naming a module in the entry-point
    group `glitchless.scenarios`; importing it registers its `@scenario`s.
    """
    for module in SCENARIO_MODULES:
        importlib.import_module(f"glitchless.scenarios.{module}")
    for ep in entry_points(group="glitchless.scenarios"):
        if ep.value not in sys.modules:
            try:
                importlib.import_module(ep.value)
            except Exception as exc:
                raise ImportError(f"scenario module {ep.value!r} (entry point {ep.name!r}) failed to import: {exc}") from exc


def ordered_scenarios() -> list[Scenario]:
    """Every scenario: the built-in ones in patterns.md order, then any a downstream package added."""
    load_all()
    modules = [f"glitchless.scenarios.{m}" for m in SCENARIO_MODULES]

    def position(sc: Scenario) -> int:
        module = getattr(sc.body, "__module__", "")
        return modules.index(module) if module in modules else len(modules)

    return sorted(SCENARIOS.values(), key=position)  # stable: registration order within a module


__all__ = [
    "SCENARIOS",
    "CheckResult",
    "Scenario",
    "ScenarioResult",
    "Script",
    "UnknownScenarioError",
    "get_scenario",
    "load_all",
    "ordered_scenarios",
    "run_scenario",
    "scenario",
]
