"""Model-checking reactive kernels against a reference model.

* `program`: programs of steps, plain data: printable, JSON, replayable (`Program`).
* `model`: the reference model (`Model`) and the node bodies target and model share.
* `runner`: drives a target and the model side by side and names the first difference (`Session`).
* `machine`: Hypothesis draws programs and shrinks failures (`fuzz`; needs hypothesis).
* `exhaustive`: every small graph and short operation sequence (`exhaustive_check`).
* `targets`: `module:factory` targets and the shipped ones; `peers`: adapters.
* `hooks`: the property list and `register_step_check` for properties added later.
"""

from glitchless.properties.exhaustive import Bounds, ExhaustiveReport, exhaustive_check
from glitchless.properties.hooks import PropertyInfo, StepContext, Violation, properties, register_step_check
from glitchless.properties.model import Model
from glitchless.properties.program import Program
from glitchless.properties.runner import Failure, InvalidStep, Session, check_program, shrink
from glitchless.properties.targets import RuntimeLike, Target, TargetError, installed_targets, load_target

__all__ = [
    "Bounds", "ExhaustiveReport", "Failure", "InvalidStep", "Model", "Program", "PropertyInfo", "RuntimeLike",
    "Session", "StepContext", "Target", "TargetError", "Violation", "check_program", "exhaustive_check",
    "installed_targets", "load_target", "properties", "register_step_check", "shrink",
]
