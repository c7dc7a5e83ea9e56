"""The scenario format: a named async script of steps, faults and checks on virtual time.

A scenario is a function `async def body(s: Script) -> None` registered with
`@scenario(name, description)`. It builds its components, then drives them:

    @scenario("hello", "a counter counts")
    async def hello(s: Script) -> None:
        s.step("boot")
        kernel = s.kernel()                 # a Kernel on this run's clock and trace
        ...
        await s.advance(60)                 # one minute of virtual time
        s.fault("api down", api.down)       # recorded in the trace, then applied
        s.expect("count", counter.count(), 3)
        s.observe("count", counter.count())

Everything it records (steps, faults, notes, checks) goes to one trace stamped
with virtual time, so the same scenario and seed give the same trace, byte for byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from glitchless.fakes import Json, Trace, current_clock, simulate
from glitchless.kernel import Kernel, Runtime

ScenarioBody = Callable[["Script"], Awaitable[None]]


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


@dataclass
class ScenarioResult:
    scenario: str
    seed: int
    checks: list[CheckResult]
    observations: dict[str, Json]
    trace: Trace

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "passed": self.passed,
            "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks],
            "observations": self.observations,
        }


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    body: ScenarioBody


class UnknownScenarioError(LookupError):
    pass


class ScenarioClashError(UnknownScenarioError):
    """Two packages registered scenarios of the same name: neither runs until one is renamed."""


SCENARIOS: dict[str, Scenario] = {}
# Names registered by two different functions, with every contender; such a name is left out of
# `list` and `run --all` and refused by `run`, so one package's mistake does not stop the others.
CLASHES: dict[str, list[Scenario]] = {}


def _same_function(a: ScenarioBody, b: ScenarioBody) -> bool:
    """The same scenario seen twice (its module imported again), not two scenarios sharing a name."""
    return all(getattr(a, attr, None) == getattr(b, attr, None) for attr in ("__module__", "__qualname__"))


def scenario(name: str, description: str) -> Callable[[ScenarioBody], ScenarioBody]:
    """Register `body` as the scenario `name` (listed by `glitchless list`).

    Names are global across every installed package: prefix yours with your package's name
    (`myteam-checkout`). A second function registering a taken name is recorded as a clash,
    reported by `list`, `run` and `run --all`, which keep working for every other scenario.
    """

    def register(body: ScenarioBody) -> ScenarioBody:
        entry = Scenario(name, description, body)
        existing = SCENARIOS.get(name)
        if existing is None or _same_function(existing.body, body):
            SCENARIOS[name] = entry
        else:
            contenders = CLASHES.setdefault(name, [existing])
            if not any(_same_function(c.body, body) for c in contenders):
                contenders.append(entry)
        return body

    return register


def scenario_package(sc: Scenario) -> str:
    """The installed distribution that defines `sc` (its top-level module when none is known)."""
    from importlib.metadata import packages_distributions

    module = str(getattr(sc.body, "__module__", "?"))
    top = module.split(".")[0]
    dists = packages_distributions().get(top, [])
    package = dists[0] if dists else top
    return f"{package} ({module})"


def clash_message(name: str) -> str:
    where = " and ".join(scenario_package(sc) for sc in CLASHES[name])
    return (f"scenario {name!r} is defined by both {where}; rename one of them "
            "(prefix scenario names with your package's name)")


def get_scenario(name: str) -> Scenario:
    from glitchless.scenarios import load_all

    load_all()
    if name in CLASHES:
        raise ScenarioClashError(clash_message(name))
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(sorted(n for n in SCENARIOS if n not in CLASHES))
        raise UnknownScenarioError(f"unknown scenario {name!r}; known scenarios: {known}") from None


@dataclass
class Script:
    """What a scenario body drives: virtual time, the trace, checks and observations."""

    scenario: str
    seed: int
    trace: Trace
    checks: list[CheckResult] = field(default_factory=list)
    observations: dict[str, Json] = field(default_factory=dict)
    kernels: list[Kernel] = field(default_factory=list)

    def now(self) -> float:
        return self.trace.clock.now()

    def step(self, title: str, **data: object) -> None:
        """Start a named step of the script (a line of the timeline)."""
        self.trace.record("step", title=title, **data)

    def note(self, what: str, **data: object) -> None:
        """Record something that happened (an observation along the way)."""
        self.trace.record("note", what=what, **data)

    def fault(self, description: str, inject: Callable[[], object]) -> None:
        """Record a fault in the trace, then inject it."""
        self.trace.record("fault", what=description)
        inject()

    async def advance(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass (everything due in between runs)."""
        self.trace.record("advance", seconds=seconds)
        await asyncio.sleep(seconds)

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(CheckResult(name, bool(passed), detail))
        self.trace.record("check", name=name, passed=bool(passed), detail=detail)
        return bool(passed)

    def expect(self, name: str, actual: object, expected: object) -> bool:
        """Check that `actual == expected`, with both in the detail."""
        ok = actual == expected
        detail = f"got {actual!r}" if ok else f"expected {expected!r}, got {actual!r}"
        return self.check(name, ok, detail)

    def expect_raises(self, name: str, error: type[BaseException], action: Callable[[], object]) -> bool:
        """Check that `action()` raises `error`; the message goes into the detail."""
        try:
            action()
        except error as exc:
            return self.check(name, True, f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            return self.check(name, False, f"expected {error.__name__}, got {type(exc).__name__}: {exc}")
        return self.check(name, False, f"expected {error.__name__}, nothing was raised")

    def observe(self, key: str, value: object) -> None:
        """Publish an observation under `key` (patterns.md names the keys).

        Stored as it reads back from JSON (tuples become lists), as the trace records it.
        """
        event = self.trace.record("observe", key=key, value=value)
        self.observations[key] = event.data["value"]

    def kernel(self, **kwargs: Any) -> Kernel:
        """A component kernel on this run's clock; kept for `glitchless graph`."""
        kwargs.setdefault("runtime", Runtime(scheduler=asyncio.get_running_loop()))
        k = Kernel(clock=self.trace.clock.now, **kwargs)
        self.kernels.append(k)
        return k


def run_scenario(name: str, seed: int = 0, *, keep: list[Script] | None = None) -> ScenarioResult:
    """Run one scenario under `seed` on the deterministic loop and collect its result."""
    sc = get_scenario(name)

    async def main() -> Script:
        trace = Trace(current_clock())
        script = Script(sc.name, seed, trace)
        trace.record("start", scenario=sc.name, seed=seed)
        try:
            await sc.body(script)
        except Exception as exc:  # a crash is a failed check, not a lost run
            script.check("scenario ran to the end", False, f"{type(exc).__name__}: {exc}")
        trace.record("end", passed=bool(script.checks) and all(c.passed for c in script.checks))
        return script

    made: list[Script] = []

    async def tracked() -> Script:
        made.append(await main())
        return made[-1]

    try:
        script = simulate(tracked, seed=seed)
    except Exception as exc:
        # Errors no one handled during the run (a failed async effect, a failed callback) surface
        # after the body returned: they fail the run, with the script's record kept.
        if not made:
            raise
        script = made[0]
        script.check("no unhandled errors during the run", False, _flatten(exc))
    if keep is not None:
        keep.append(script)
    return ScenarioResult(sc.name, seed, script.checks, script.observations, script.trace)


def _flatten(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_flatten(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"
