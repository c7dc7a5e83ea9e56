"""Peer kernels as targets: what the machines find in each.

Marked `peer`: each test runs whenever its peer is importable and is skipped
otherwise. The findings asserted here are the peers' documented deviations
from the kernel contract, reduced to minimal programs.
"""

import pytest

from glitchless.properties.machine import Options, fuzz
from glitchless.properties.program import AddComputed, AddEffect, AddSignal, EffectWrite, Program, Set
from glitchless.properties.runner import check_program

pytestmark = pytest.mark.peer


def needs(module):
    return pytest.importorskip(module, reason=f"{module} is not installed")


def labels(name, steps):
    return {v.label for v in check_program(Program(3, tuple(steps)), name)}


SELF_WRITING = [AddSignal(0), AddEffect("sum", (0,), write=EffectWrite(0, "const", 1))]
CUTOFF = [AddSignal(0), AddSignal(0), AddComputed("min", (0, 1)), AddEffect("sum", (2,)), Set(0, 1)]


def test_signalpy_missing_equality_cutoff_through_computeds_is_found_and_shrunk():
    needs("signalpy.kernel.reactive")
    report = fuzz("signalpy", examples=200, seed=0, checks={"cutoff/spurious-run"},
                  report_multiple=False, shrink=False,
                  options=Options(errors=False, dispose_in_runs=False, interrupts=False))
    [failure] = report.failures
    text = failure.render()
    assert "effect(" in text, text  # an equal write (float or copy) or a computed that did not change
    assert len(failure.program.steps) <= 5, text
    assert labels("signalpy", CUTOFF) == {"cutoff/spurious-run"}


def test_signalpy_leaves_a_self_writing_effect_stale():
    needs("signalpy.kernel.reactive")
    report = fuzz("signalpy", examples=200, seed=0, checks={"ordering/missed-run"},
                  report_multiple=False, shrink=False)
    [failure] = report.failures
    # Shrunk to a signal and its self-writing effect, plus at most the write that wakes it (which
    # program of those the search meets first varies, e.g. under coverage tracing).
    assert len(failure.program.steps) <= 3 and any(isinstance(s, AddEffect) and s.write for s in failure.program.steps), \
        failure.render()
    assert labels("signalpy", SELF_WRITING) == {"ordering/missed-run"}


def test_signalpy_fuzz_reports_both_deviations_in_one_run():
    needs("signalpy.kernel.reactive")
    report = fuzz("signalpy", examples=150, seed=0, shrink=False)  # every distinct kind, each reduced
    assert {"cutoff/spurious-run", "ordering/missed-run"} <= set(report.labels())


def test_reaktiv_leaves_a_self_writing_effect_stale_and_compares_by_identity():
    needs("reaktiv")
    assert labels("reaktiv", SELF_WRITING) == {"ordering/missed-run"}
    assert labels("reaktiv", CUTOFF) == set()  # value cut-off through computeds works for ints
    equal_copy = [AddSignal(0), AddEffect("sum", (0,)), Set(0, 0, "copy")]
    assert labels("reaktiv", equal_copy) == {"cutoff/spurious-run"}


def test_nervio_leaves_a_self_writing_effect_stale_and_nests_flushes():
    needs("nervio")
    assert labels("nervio", SELF_WRITING) == {"ordering/missed-run"}
    nested = [AddSignal(0), AddEffect("sum", (0,)), AddEffect("sum", (0,), write=EffectWrite(0, "const", 1))]
    assert labels("nervio", nested) == {"cutoff/spurious-run"}  # e1 runs inside e2's run: not yet due


def test_glitchless_passes_the_programs_the_peers_fail():
    for steps in (SELF_WRITING, CUTOFF):
        assert labels("glitchless", steps) == set()
