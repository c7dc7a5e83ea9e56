"""The properties the machines check, and the hook for properties added by other layers.

Built-in properties are checked by `glitchless.properties.runner`: each names
the first difference between the target's and the model's log of a step.

Three more do not fit a check over the graph machine's steps: two belong to
layers above the bare runtime, one needs graphs far bigger than its programs.
Each has a machine of its own, run when the property is selected
(``--checks NAME``, and by `glitchless conformance`):

* ``snapshot_restore`` (the component layer, `glitchless.properties.snapshot`):
  random components whose state lives in signals, computeds, effects and plain
  attributes; at random points ``restore(snapshot())``, ``hot_update`` to the
  same class, or ``shutdown`` + ``boot(state)``. The observable trace equals
  that of a twin kernel that never did it.
* ``scheduler_determinism`` (the fake scheduler, `glitchless.properties.scheduler`):
  async effects and writer tasks on `glitchless.fakes.simulate`, interleaved by
  choices Hypothesis draws; replaying the recorded choices, and rerunning one
  seed, give the same trace byte for byte, and the async-effect rules
  (supersede, quiescence) hold under every interleaving drawn.
* ``depth`` (rule 8, `glitchless.properties.depth`): chains of 300 to 600
  computeds with diamonds, read and updated under Python's default recursion
  limit, every value checked against a direct evaluation.

The first two need a target built on the glitchless `Runtime` (``needs``:
"components", "scheduler"); on other targets they are not applicable. Depth
applies to every target.

Properties added later plug in with `register_step_check`: a step check is
called after every step the graph machine applies (once the built-in checks
have run) with a `StepContext`, and returns violations. It is enabled, listed
by `glitchless conformance` and selectable with ``--checks`` like any
built-in property.
"""

from __future__ import annotations

import builtins

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glitchless.properties.model import Model
    from glitchless.properties.program import Step
    from glitchless.properties.targets import RuntimeLike


@dataclass(frozen=True)
class Violation:
    """One broken rule: which property, what kind of failure, and at which step (1-based)."""

    property: str
    kind: str
    message: str
    step: int

    @builtins.property
    def label(self) -> str:
        return f"{self.property}/{self.kind}"


@dataclass(frozen=True)
class PropertyInfo:
    name: str
    summary: str
    needs: str | None = None  # a target feature; without it the property is not applicable


BUILTIN_PROPERTIES: tuple[PropertyInfo, ...] = (
    PropertyInfo("glitch_freedom", "every computed and effect run reads values of one settled assignment (rule 3)"),
    PropertyInfo("consistency", "get/peek/untracked reads by the caller return the model's value, in batches too"),
    PropertyInfo("cutoff", "no effect re-runs unless a dependency's value differs by its equality (rules 1, 4; S6)"),
    PropertyInfo("ordering", "effects run exactly when and in the order the model says: none missed, none twice "
                 "(rules 4, 5)"),
    PropertyInfo("laziness", "a computed runs only when read and never with unchanged inputs (rule 2)"),
    PropertyInfo("errors", "errors of fns, equals, effects and cleanups reach exactly who the contract says, and "
                 "the graph recovers (rule 6; S1, S2, S4)"),
    PropertyInfo("disposal", "a disposed node never runs again; each cleanup runs exactly once (rule 7; S7, S8)"),
    PropertyInfo("round_bound", "cascades settle within the round bound; past it RunawayEffectError (rule 5)",
                 "round_bound"),
)


@dataclass(frozen=True)
class StepContext:
    """What a step check can look at after a step: the kernel under test and the model."""

    runtime: RuntimeLike
    handles: list[Any]  # the kernel's node objects, by node id
    model: Model
    steps: list[Step]  # the program so far, the current step last
    index: int  # 1-based index of the current step


StepCheck = Callable[[StepContext], Iterable[Violation]]

# Properties with a machine of their own: the name, and "module:function" of the runner
# (imported only when the property runs, so this module loads without Hypothesis). The runner
# is called as run(target, examples=, seed=, steps=) and returns a machine.FuzzReport.
MACHINE_PROPERTIES: tuple[tuple[PropertyInfo, str], ...] = (
    (
        PropertyInfo(
            "snapshot_restore",
            "restore(snapshot()), hot_update to the same class or shutdown+boot(state) at a random point "
            "leaves the observable trace as if it never happened",
            "components",
        ),
        "glitchless.properties.snapshot:run_machine",
    ),
    (
        PropertyInfo(
            "scheduler_determinism",
            "recorded choices replay and a seed reruns the same trace byte for byte; async effects supersede "
            "(one re-run, newest values) and settle under every interleaving",
            "scheduler",
        ),
        "glitchless.properties.scheduler:run_machine",
    ),
    (
        PropertyInfo(
            "depth",
            "chains of 300 to 600 computeds (with diamonds) evaluate, update and notify correctly under "
            "Python's default recursion limit (rule 8)",
        ),
        "glitchless.properties.depth:run_machine",
    ),
)

_EXTRA: dict[str, tuple[PropertyInfo, StepCheck]] = {}


def register_step_check(info: PropertyInfo, check: StepCheck) -> None:
    """Add a property checked after every step (see the module docstring)."""
    if info.name in {p.name for p in properties()}:
        raise ValueError(f"property {info.name!r} is already registered")
    _EXTRA[info.name] = (info, check)


def unregister_step_check(name: str) -> None:
    _EXTRA.pop(name, None)


def extra_checks() -> list[tuple[PropertyInfo, StepCheck]]:
    return list(_EXTRA.values())


def machine_properties() -> list[tuple[PropertyInfo, str]]:
    return list(MACHINE_PROPERTIES)


def properties() -> list[PropertyInfo]:
    """Every property: built-in ones first, then those with their own machines, then registered ones."""
    return list(BUILTIN_PROPERTIES) + [info for info, _ in MACHINE_PROPERTIES] + [info for info, _ in _EXTRA.values()]


def property_names() -> list[str]:
    return [p.name for p in properties()]
