"""glitchless.kernel: a small glitch-free reactive core on an explicit Runtime."""

from glitchless.kernel.reactive import (
    Computed,
    CycleError,
    DisposedError,
    Effect,
    ReactiveError,
    Runtime,
    RunawayEffectError,
    Scheduler,
    Signal,
    WriteInComputedError,
)

__all__ = [
    "Computed",
    "CycleError",
    "DisposedError",
    "Effect",
    "ReactiveError",
    "Runtime",
    "RunawayEffectError",
    "Scheduler",
    "Signal",
    "WriteInComputedError",
]
