"""glitchless.kernel: a small glitch-free reactive core on an explicit Runtime."""

from glitchless.kernel.async_effect import AsyncEffect, AsyncScheduler, is_stale
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
    "AsyncEffect",
    "AsyncScheduler",
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
    "is_stale",
]
