"""The properties the machines check, and the hook for properties added by other layers.

Built-in properties are checked by `glitchless.properties.checker` from the
trace of every operation. Two more are planned and belong to layers built
elsewhere; they plug in through `register_step_check` without changes here:

* ``snapshot_restore`` (component layer): snapshot -> teardown -> replace ->
  activate -> restore is observationally equivalent to never having updated.
* ``scheduler_determinism`` (the fake scheduler): the same seed gives the same
  interleaving and the same trace.

A step check is called after every step the machine applies (once the
built-in checks have run) with a `StepContext`, and returns violations. It
is enabled, listed by `glitchless conformance` and selectable with
``--checks`` like any built-in property.
"""

from __future__ import annotations

import builtins

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glitchless.properties.model import ReferenceModel
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
    PropertyInfo("glitch_freedom", "every computed and effect run reads values of one settled assignment"),
    PropertyInfo("consistency", "get/peek/untracked reads by the caller return the model's value, in batches too"),
    PropertyInfo(
        "ordering",
        "effects run exactly when the model says: once per round in creation order, none in a batch, "
        "none spurious (equality cut-off included), none missed",
    ),
    PropertyInfo("quiescence", "after every operation each live effect's last observation equals the model"),
    PropertyInfo("cleanups", "a cleanup runs once, right before its effect's next run or at its disposal", "cleanups"),
    PropertyInfo("laziness", "a computed runs only when something needs it and never with unchanged inputs"),
    PropertyInfo("no_errors", "no legal operation raises"),
)


@dataclass(frozen=True)
class StepContext:
    """What a step check can look at after a step: the kernel under test and the model."""

    runtime: RuntimeLike
    handles: list[Any]  # the kernel's node objects, by node id
    model: ReferenceModel
    steps: list[Step]  # the program so far, the current step last
    index: int  # 1-based index of the current step


StepCheck = Callable[[StepContext], Iterable[Violation]]

_EXTRA: dict[str, tuple[PropertyInfo, StepCheck]] = {}


def register_step_check(info: PropertyInfo, check: StepCheck) -> None:
    """Add a property checked after every step (see the module docstring)."""
    if info.name in {p.name for p in BUILTIN_PROPERTIES} or info.name in _EXTRA:
        raise ValueError(f"property {info.name!r} is already registered")
    _EXTRA[info.name] = (info, check)


def unregister_step_check(name: str) -> None:
    _EXTRA.pop(name, None)


def extra_checks() -> list[tuple[PropertyInfo, StepCheck]]:
    return list(_EXTRA.values())


def properties() -> list[PropertyInfo]:
    """Every property: built-in ones first, then registered ones."""
    return list(BUILTIN_PROPERTIES) + [info for info, _ in _EXTRA.values()]


def property_names() -> list[str]:
    return [p.name for p in properties()]
