"""The checks only glitchless's internals allow (messages, subscriptions, crashes), each shown to catch a
planted bug on a small program the real kernel passes; and each misuse the contract refuses, refused with its
message."""

import pytest

import planted
from glitchless.properties.program import MISUSES, AddComputed, AddEffect, AddSignal, Dispose, EffectWrite, Misuse, Program, Read
from glitchless.properties.runner import check_program
from glitchless.properties.targets import Target


def labels(target, steps):
    return {v.label for v in check_program(Program(3, tuple(steps)), target)}


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


def misused(kind):
    return [AddSignal(0), AddComputed("sum", (0,)), AddEffect("sum", (1,)), Misuse(kind, 0), Read(1)]


@pytest.mark.parametrize("kind", MISUSES)
def test_the_real_kernel_refuses_each_misuse_with_the_contracts_error(kind):
    assert labels("glitchless", misused(kind)) == set()


@pytest.mark.parametrize(("kind", "patch", "label"), [
    # the refusal dropped: the cleanup is taken (and runs nowhere), the effect is created
    ("cleanup_outside", ("        else:\n            raise ReactiveError(\"on_cleanup() called outside",
                         "        elif False:\n            raise ReactiveError(\"on_cleanup() called outside"),
     "errors/lost-error"),
    ("cancel_sync", ("        if cancel_on_supersede:\n", "        if False:\n"), "errors/lost-error"),
    # reworded: the error is right, its message is off the table (a TypeError off the table is a crash too)
    ("cleanup_not_callable", ("on_cleanup needs a callable, got", "on_cleanup wants a callable, got"),
     "errors/kernel-crash"),
    ("dispose_while_running", ("was disposed while it ran", "was disposed during its run"), "errors/wrong-message"),
    # the table's form, but the wrong type named
    ("cleanup_not_callable", ("on_cleanup needs a callable, got {type(fn).__name__}",
                              "on_cleanup needs a callable, got {type(None).__name__}"), "errors/wrong-message"),
    ("write_in_computed", ("written while a computed was running;", "written inside a computed;"),
     "errors/wrong-message"),
])
def test_a_misuse_let_through_or_misreported_is_caught(kind, patch, label):
    assert labels(copy(patch), misused(kind)) == {label}
