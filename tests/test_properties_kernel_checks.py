"""The checks only glitchless's internals allow (messages, subscriptions, crashes), each shown to catch a
planted bug on a small program the real kernel passes."""

import planted
from glitchless.properties.program import AddComputed, AddEffect, AddSignal, Dispose, EffectWrite, Read
from glitchless.properties.runner import Session
from glitchless.properties.targets import Target


def labels(target, steps):
    session = Session(target, 3)
    try:
        return {v.label for v in session.run(steps)}
    finally:
        session.close()


def copy(*patches):
    return Target.from_factory("planted:copy", planted.patched_kernel(*patches).Runtime)


RUNAWAY = [AddSignal(0), AddEffect("sum", (0,), write=EffectWrite(0, "count", 200))]
DISPOSED_OBSERVER = [AddSignal(0), AddComputed("sum", (0,)), AddEffect("sum", (1,)), Dispose(2)]
FOREIGN_CYCLE = [AddSignal(0), AddComputed("sum", (0,), later=1), Read(1, "thread")]


def test_the_real_kernel_passes_the_three_programs():
    for steps in (RUNAWAY, DISPOSED_OBSERVER, FOREIGN_CYCLE):
        assert labels("glitchless", steps) == set()


def test_a_message_off_the_contracts_table_is_reported():
    reworded = copy(("effects still re-triggering after", "effects still re-running after"))
    assert labels(reworded, RUNAWAY) == {"errors/wrong-message"}


def test_a_subscription_left_behind_by_a_disposed_effect_is_reported():
    # The computed loses its last subscriber but stays subscribed to its signal: no value changes, a leak.
    no_cascade = copy(("    epoch = src._rt._epoch\n    stack: list[Computed[Any]] = [src]\n",
                       "    epoch = src._rt._epoch\n    stack: list[Computed[Any]] = []\n"))
    assert labels(no_cascade, DISPOSED_OBSERVER) == {"laziness/subscriptions"}


def test_an_error_from_the_kernels_own_code_is_reported():
    # The foreign-thread cycle check builds its message with a bad call: a TypeError from inside the kernel.
    bad_call = copy(("raise CycleError(f\"{_describe('computed', node.name)} depends on itself\")",
                     "raise CycleError(f\"{_describe('computed')} depends on itself\")"))
    assert labels(bad_call, FOREIGN_CYCLE) == {"errors/kernel-crash"}
