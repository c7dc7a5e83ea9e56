"""Three bugs planted in fresh copies of the kernel, and the machines catching each.

The copies come from tests/planted.py (loaded with importlib under their own
names and patched); the real glitchless.kernel.reactive is never modified.
"""

import pytest

import glitchless.kernel.reactive as real
from glitchless.properties.harness import Session
from glitchless.properties.machine import fuzz
from glitchless.properties.model import AddComputed, AddEffect, AddSignal
from glitchless.properties.program import Read, Set
from glitchless.properties.targets import Target

import planted

REAL = (real.Computed._same, real.Runtime._run_effect, real.Runtime._mark)

# What each planted bug must be reported as (any one of these property/kind labels).
EXPECTED = {
    "no-equality-cutoff": {"ordering/missing-cutoff-computed", "laziness/missing-cutoff-computed"},
    "effect-runs-twice": {"ordering/repeated-run"},
    "stale-computed": {"consistency/stale-read", "glitch_freedom/inconsistent-read", "quiescence/stale-effect",
                       "ordering/missed-run"},
}


def target(name):
    return Target.from_factory(f"planted:{name}", planted.PLANTED[name]().Runtime)


@pytest.mark.parametrize("name", sorted(planted.PLANTED))
def test_fuzzing_catches_each_planted_bug(name):
    # Hypothesis's own shrinking is slow on stateful machines; the structural reducer alone
    # gets these to a handful of steps (test_properties_fuzz checks Hypothesis shrinking).
    report = fuzz(target(name), examples=150, seed=0, checks={"ordering", "laziness", "consistency",
                                                               "glitch_freedom", "quiescence"},
                  report_multiple=False, shrink=False)
    assert report.failures, f"the machines missed the planted bug {name}"
    assert report.failures[0].label in EXPECTED[name]
    assert len(report.failures[0].program.steps) <= 6, report.failures[0].render()


def test_planting_never_touches_the_real_kernel():
    for make in planted.PLANTED.values():
        make()
    assert (real.Computed._same, real.Runtime._run_effect, real.Runtime._mark) == REAL
    assert fuzz("glitchless", examples=50, seed=3).ok


def run(target_, steps, checks=None):
    s = Session(target_.make(), 3, checks, target_.unsupported)
    return {v.label for v in s.run(steps)}


DIAMOND_CUTOFF = [AddSignal(0), AddSignal(0), AddComputed("min", (0, 1)), AddEffect("sum", (2,)), Set(0, 1)]


def test_no_equality_cutoff_reruns_an_effect_whose_computed_did_not_change():
    assert run(target("no-equality-cutoff"), DIAMOND_CUTOFF) == {"ordering/missing-cutoff-computed"}
    assert run(Target.from_factory("glitchless", real.Runtime), DIAMOND_CUTOFF) == set()


def test_an_effect_run_twice_per_flush_is_a_repeated_run():
    steps = [AddSignal(0), AddEffect("sum", (0,)), Set(0, 1)]
    assert "ordering/repeated-run" in run(target("effect-runs-twice"), steps)


def test_a_stale_computed_is_read_stale_and_leaves_effects_stale():
    steps = [AddSignal(0), AddComputed("sum", (0,)), AddComputed("sum", (1,)), AddEffect("sum", (2,)), Set(0, 1)]
    assert run(target("stale-computed"), steps) == {"quiescence/stale-effect"}
    assert run(target("stale-computed"), steps + [Read(2)]) >= {"consistency/stale-read"}
