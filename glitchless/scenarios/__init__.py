"""The nine commercial patterns as deterministic scenarios, plus the format to write more."""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import entry_points

from glitchless.scenarios.framework import (
    CLASHES,
    SCENARIOS,
    CheckResult,
    Scenario,
    ScenarioClashError,
    ScenarioResult,
    Script,
    UnknownScenarioError,
    clash_message,
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


# What the last successful `load_all` read its entry points with. Reading them scans every
# installed distribution, which cost more than running a scenario: they are read once per
# process, and again only if `entry_points` was replaced (a test patching it in).
_loaded_with: list[object] = []


def load_all() -> None:
    """Import the built-in scenarios, then those other packages declare (once per process).

    A downstream package adds its own by naming a module in the entry-point
    group `glitchless.scenarios`; importing it registers its `@scenario`s.
    """
    if _loaded_with and _loaded_with[0] is entry_points:
        return
    for module in SCENARIO_MODULES:
        importlib.import_module(f"glitchless.scenarios.{module}")
    for ep in entry_points(group="glitchless.scenarios"):
        if ep.value not in sys.modules:
            try:
                importlib.import_module(ep.value)
            except Exception as exc:
                raise ImportError(f"scenario module {ep.value!r} (entry point {ep.name!r}) failed to import: {exc}") from exc
    _loaded_with[:] = [entry_points]


def ordered_scenarios() -> list[Scenario]:
    """Every runnable scenario: the built-in ones in patterns.md order, then any a downstream package added.

    Names two packages both registered are left out (see `clashes`).
    """
    load_all()
    modules = [f"glitchless.scenarios.{m}" for m in SCENARIO_MODULES]

    def position(sc: Scenario) -> int:
        module = getattr(sc.body, "__module__", "")
        return modules.index(module) if module in modules else len(modules)

    runnable = [sc for name, sc in SCENARIOS.items() if name not in CLASHES]
    return sorted(runnable, key=position)  # stable: registration order within a module


def clashes() -> list[str]:
    """One message per scenario name that two packages registered, naming both."""
    load_all()
    return [clash_message(name) for name in sorted(CLASHES)]


__all__ = [
    "CLASHES",
    "SCENARIOS",
    "CheckResult",
    "Scenario",
    "ScenarioClashError",
    "ScenarioResult",
    "Script",
    "UnknownScenarioError",
    "clashes",
    "get_scenario",
    "load_all",
    "ordered_scenarios",
    "run_scenario",
    "scenario",
]
