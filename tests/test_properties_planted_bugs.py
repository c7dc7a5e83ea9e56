"""Bugs planted in fresh copies of the kernel, and the machines catching each.

The copies come from tests/planted.py (loaded with importlib under their own
names and patched); the real glitchless.kernel.reactive is never modified.
"""

import pytest

import glitchless.kernel.reactive as real
from glitchless.properties.machine import Options, fuzz
from glitchless.properties.program import AddComputed, AddEffect, AddSignal, Batch, Program, Read, Set
from glitchless.properties.runner import check_program
from glitchless.properties.targets import Target

import planted

REAL = (real.Runtime._recompute, real.Runtime._run_effect, real.Runtime._mark)

# What each planted bug must be reported as (any one of these property/kind labels).
EXPECTED = {
    "no-equality-cutoff": {"cutoff/spurious-run", "laziness/extra-recompute"},
    "effect-runs-twice": {"ordering/repeated-run"},
    "stale-computed": {"consistency/stale-read", "glitch_freedom/inconsistent-read", "ordering/missed-run"},
}
# The parts of the contract today's kernel already keeps (the rest waits for the hardened kernel):
# planted bugs must be caught within them, so that a kernel bug elsewhere cannot mask them.
KEPT = Options(errors=False, dispose_in_runs=False, cascades=False, transient=False, equals=False, writes=False,
               ops=False)  # the core generator: these three bugs are about the core, and their labels say so


def target(name):
    return Target.from_factory(f"planted:{name}", planted.PLANTED[name]().Runtime)


@pytest.mark.parametrize("name", sorted(planted.PLANTED))
def test_fuzzing_catches_each_planted_bug(name):
    # Without Hypothesis's shrinking, the runner's shrinker alone gets these to a handful of
    # steps (a stale read three computeds deep needs 8: build, cache, change, read; a run for nothing
    # below a computed without cut-off, 9: change, build, cache, change back, read).
    report = fuzz(target(name), examples=150, seed=0, report_multiple=False, shrink=False, options=KEPT)
    assert report.failures, f"the machines missed the planted bug {name}"
    assert report.failures[0].label in EXPECTED[name]
    assert len(report.failures[0].program.steps) <= 9, report.failures[0].render()


def test_planting_never_touches_the_real_kernel():
    for make in planted.PLANTED.values():
        make()
    assert (real.Runtime._recompute, real.Runtime._run_effect, real.Runtime._mark) == REAL
    assert fuzz("glitchless", examples=50, seed=3, options=KEPT).ok


def run(target_, steps, checks=None):
    return {v.label for v in check_program(Program(3, tuple(steps)), target_, checks)}


DIAMOND_CUTOFF = [AddSignal(0), AddSignal(0), AddComputed("min", (0, 1)), AddEffect("sum", (2,)), Set(0, 1)]


def test_no_equality_cutoff_reruns_an_effect_whose_computed_did_not_change():
    assert run(target("no-equality-cutoff"), DIAMOND_CUTOFF) == {"cutoff/spurious-run"}
    assert run(Target.from_factory("glitchless", real.Runtime), DIAMOND_CUTOFF) == set()


def test_an_effect_run_twice_per_flush_is_a_repeated_run():
    steps = [AddSignal(0), AddEffect("sum", (0,)), Set(0, 1)]
    assert "ordering/repeated-run" in run(target("effect-runs-twice"), steps)


def test_a_stale_computed_is_read_stale_and_leaves_effects_stale():
    steps = [AddSignal(0), AddComputed("sum", (0,)), AddComputed("sum", (1,)), AddEffect("sum", (2,)), Set(0, 1)]
    assert run(target("stale-computed"), steps) == {"ordering/missed-run"}
    # Unobserved computeds validate on read (the kernel's epoch), so the stale value shows on an observed
    # chain, read inside a batch before the flush.
    in_batch = steps[:4] + [Batch((Set(0, 1), Read(2)))]
    assert run(target("stale-computed"), in_batch) == {"consistency/stale-read"}
    assert run(Target.from_factory("glitchless", real.Runtime), in_batch) == set()


# s -> parity -> sum -> effect; s goes 0 -> 2: the parity computed cuts the change off, so nothing below it runs.
CUT_OFF_CHAIN = [AddSignal(0), AddComputed("parity", (0,)), AddComputed("sum", (1,)), AddEffect("sum", (2,)), Set(0, 2)]


def test_a_computed_recomputed_below_a_cut_off_is_caught_though_no_value_changes():
    # The effect's change check recomputes a CHECK source instead of checking its sources first: the
    # sum runs again for nothing. Every value stays right; only the count of runs shows it.
    recomputing = Target.from_factory("planted:check-recomputes", planted.patched_kernel(
        ("self._recompute(src) if state == DIRTY else self._refresh(src)",
         "self._recompute(src) if state != DIRTY else self._refresh(src)")).Runtime)
    assert run("glitchless", CUT_OFF_CHAIN) == set()
    assert run(recomputing, CUT_OFF_CHAIN) == {"laziness/extra-recompute"}
    report = fuzz(recomputing, examples=300, seed=0, report_multiple=False, shrink=False)
    assert [f.label for f in report.failures] == ["laziness/extra-recompute"]
