"""Model-checking reactive kernels against a reference model.

* `model`: the reference model (`ReferenceModel`) and the closed set of functions.
* `program`: programs of steps, printable and replayable (`Program`).
* `harness` / `checker`: run a program on a target and check every step (`Session`).
* `machine`: Hypothesis stateful machines and `fuzz` (needs hypothesis).
* `exhaustive`: every small graph and short operation sequence (`exhaustive_check`).
* `targets`: `module:factory` targets and the shipped ones; `peers`: adapters.
* `hooks`: the property list and `register_step_check` for properties added later.

This package imports Hypothesis only from `machine`, so the CLI and the rest
load without it.
"""

from glitchless.properties.exhaustive import Bounds, ExhaustiveReport, exhaustive_check
from glitchless.properties.harness import InvalidStep, Session
from glitchless.properties.hooks import PropertyInfo, StepContext, Violation, properties, register_step_check
from glitchless.properties.model import ReferenceModel
from glitchless.properties.program import Program
from glitchless.properties.reduce import reduce_program
from glitchless.properties.targets import RuntimeLike, Target, TargetError, installed_targets, load_target

__all__ = [
    "Bounds",
    "ExhaustiveReport",
    "InvalidStep",
    "Program",
    "PropertyInfo",
    "ReferenceModel",
    "RuntimeLike",
    "Session",
    "StepContext",
    "Target",
    "TargetError",
    "Violation",
    "exhaustive_check",
    "installed_targets",
    "load_target",
    "properties",
    "reduce_program",
    "register_step_check",
]
