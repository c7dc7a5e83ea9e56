"""Realistic bugs planted in copies of the reactive core, and the fuzz machines catching each.

Each bug in `planted.REALISTIC` is a one-line change (a moved line at most) to
reactive.py's source, loaded as a fresh module; the real kernel is never
touched. The first tests show each bug is real: a small program whose outcome
the contract fixes, right on the real kernel and wrong on the copy. The last
one asks `fuzz --examples 300` (seed 0, the whole contract) to find it: a
failure whose program the real kernel passes (see "Checker strength" in
docs/fuzzing.md).
"""

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

import glitchless.kernel.reactive as real
from glitchless.properties.machine import fuzz
from glitchless.properties.runner import check_program
from glitchless.properties.targets import Target

import planted

REAL_KERNEL = Target.from_factory("glitchless", real.Runtime)


def cascade_of(length: int) -> Callable[[ModuleType], Any]:
    """An effect that increments its own signal until it reaches `length`: `length` flush rounds."""

    def program(k: ModuleType) -> Any:
        rt = k.Runtime()
        s = rt.signal(0)

        def step() -> None:
            v = s.get()
            if v < length:
                s.set(v + 1)

        try:
            rt.effect(step)
        except k.RunawayEffectError:
            return "runaway"
        return s.peek()

    return program


def recompute_count_after_cut_off(k: ModuleType) -> Any:
    """c reads (b, s); b's input changes but b's value does not: c is not recomputed."""
    rt = k.Runtime()
    s2, s = rt.signal(0), rt.signal(0)
    b = rt.computed(lambda: s2.get() // 10)
    calls = []
    c = rt.computed(lambda: calls.append(1) or (b.get(), s.get()))
    s.set(1)
    s.set(2)  # s's version now differs from b's
    c.get()
    s2.set(1)
    c.get()
    return len(calls)


def runs_after_a_failed_check(k: ModuleType) -> Any:
    """A signal's custom equals raises while the flush checks whether an effect's source changed."""
    rt = k.Runtime()

    def equals(old: int, new: int) -> bool:
        if (old, new) == (0, 2):
            raise ValueError("cannot compare 0 with 2")
        return old == new

    s = rt.signal(0, equals=equals)
    runs = []
    rt.effect(lambda: runs.append(s.get()))
    with pytest.raises(ValueError):
        with rt.batch():
            s.set(1)
            s.set(2)  # the flush compares what the effect saw (0) with 2
    s.set(1)
    return runs


def runs_after_dropping_a_source(k: ModuleType) -> Any:
    rt = k.Runtime()
    flag, a = rt.signal(True), rt.signal(0)
    runs = []

    def effect() -> None:
        runs.append(1)
        if flag.get():
            a.get()

    rt.effect(effect)
    flag.set(False)
    a.set(1)  # no longer read: nothing runs
    return len(runs)


def writes_after_a_failed_flush(k: ModuleType) -> Any:
    rt = k.Runtime()
    s, t = rt.signal(0), rt.signal(0)
    seen = []

    def failing() -> None:
        if s.get() == 1:
            raise ValueError("one")

    rt.effect(failing)
    rt.effect(lambda: seen.append(t.get()))
    with pytest.raises(ValueError):
        s.set(1)
    t.set(5)
    return seen


def runs_after_an_equal_but_distinct_value(k: ModuleType) -> Any:
    rt = k.Runtime()
    s = rt.signal(1)
    c = rt.computed(lambda: [s.get() % 2])
    runs = []
    rt.effect(lambda: runs.append(c.get()))
    s.set(3)  # c recomputes to an equal list
    return len(runs)


def read_after_recovering(k: ModuleType) -> Any:
    rt = k.Runtime()
    s = rt.signal(0)
    c = rt.computed(lambda: 0 if s.get() != 1 else 1 // 0)
    c.get()
    s.set(1)
    with pytest.raises(ZeroDivisionError):
        c.get()
    s.set(2)
    try:
        return c.get()
    except ZeroDivisionError:
        return "stale error"


def runs_of_a_peeking_effect(k: ModuleType) -> Any:
    rt = k.Runtime()
    s = rt.signal(0)
    runs = []
    rt.effect(lambda: runs.append(s.peek()))
    s.set(1)
    return runs


def read_after_disposing_a_source(k: ModuleType) -> Any:
    """An effect reading a computed that gets disposed runs once more and reads the disposal."""
    rt = k.Runtime()
    s = rt.signal(0)
    c = rt.computed(lambda: s.get() + 1)
    seen: list[Any] = []

    def body() -> None:
        try:
            seen.append(c.get())
        except k.DisposedError:
            seen.append("disposed")

    rt.effect(body)
    c.dispose()
    return seen


def chain_read_after_write(k: ModuleType) -> Any:
    rt = k.Runtime()
    a, b = rt.signal(0), rt.signal(0)
    c = rt.computed(lambda: a.get() + b.get())
    d = rt.computed(lambda: c.get())
    d.get()
    b.set(1)  # c's last source changed: d is CHECK
    return d.get()


def cleanup_order(k: ModuleType) -> Any:
    rt = k.Runtime()
    s = rt.signal(0)
    log = []

    def effect() -> Callable[[], None]:
        v = s.get()
        log.append(f"run {v}")
        return lambda: log.append(f"cleanup {v}")

    rt.effect(effect)
    s.set(1)
    return log


def effect_order(k: ModuleType) -> Any:
    rt = k.Runtime()
    a, b = rt.signal(0), rt.signal(0)
    log = []
    rt.effect(lambda: log.append(("first", a.get())))
    rt.effect(lambda: log.append(("second", b.get())))
    with rt.batch():
        b.set(1)  # marks the second effect first
        a.set(1)
    return log[2:]


def runs_after_an_untracked_read(k: ModuleType) -> Any:
    rt = k.Runtime()
    a, b = rt.signal(0), rt.signal(0)
    runs = []

    def effect() -> None:
        rt.untracked(a.get)
        runs.append(b.get())

    rt.effect(effect)
    b.set(1)  # read after the untracked call: tracked
    return runs


def runs_inside_nested_batches(k: ModuleType) -> Any:
    rt = k.Runtime()
    s = rt.signal(0)
    log = []
    rt.effect(lambda: log.append(s.get()))
    with rt.batch():
        with rt.batch():
            s.set(1)
        log.append("inner batch done")
        s.set(2)
    return log


class Interrupt(BaseException):
    """Stands for KeyboardInterrupt (S3): a BaseException that is not an Exception."""


def once(condition: bool, done: list[int]) -> None:
    """Raise Interrupt the first time `condition` holds."""
    if condition and not done:
        done.append(1)
        raise Interrupt


def runs_after_an_interrupted_flush(k: ModuleType) -> Any:
    """The first effect is interrupted; the second, not reached yet, runs at the next flush."""
    rt = k.Runtime()
    s = rt.signal(0)
    done: list[int] = []
    seen: list[int] = []
    rt.effect(lambda: once(s.get() == 1, done))
    rt.effect(lambda: seen.append(s.get()))
    with pytest.raises(Interrupt):
        s.set(1)
    s.set(1)  # an equal write still flushes what the interrupt left pending
    return seen


def runs_of_an_interrupted_effect(k: ModuleType) -> Any:
    rt = k.Runtime()
    s = rt.signal(0)
    done: list[int] = []
    runs: list[int] = []

    def body() -> None:
        runs.append(s.get())
        once(s.peek() == 1, done)

    rt.effect(body)
    with pytest.raises(Interrupt):
        s.set(1)
    s.set(1)  # the interrupted run happens again, at this flush
    return runs


def read_after_an_interrupted_computed(k: ModuleType) -> Any:
    rt = k.Runtime()
    s = rt.signal(0)
    done: list[int] = []

    def fn() -> int:
        once(s.get() == 1, done)
        return s.get() * 10

    c = rt.computed(fn)
    c.get()
    s.set(1)
    with pytest.raises(Interrupt):
        c.get()
    try:
        return c.get()  # S5: left dirty, so this read runs fn again
    except k.CycleError:
        return "cycle"


def frames_of_a_held_error(k: ModuleType) -> Any:
    """The names of the frames a computed's error, read later, has in its traceback."""
    rt = k.Runtime()

    def failing_fn() -> int:
        raise ValueError("no")

    c = rt.computed(failing_fn)
    for _ in range(2):  # the first read runs the fn; the second gets the held error
        try:
            c.get()
        except ValueError as exc:
            tb, frames = exc.__traceback__, []
            while tb is not None:
                frames.append(tb.tb_frame.f_code.co_name)
                tb = tb.tb_next
    return "failing_fn" in frames


def cleanups_of_a_disposed_scope(k: ModuleType) -> Any:
    rt = k.Runtime()
    log = []
    with rt.scope() as scope:
        rt.effect(lambda: lambda: log.append("first"))
        rt.effect(lambda: lambda: log.append("second"))
    scope.dispose()
    return log


def runs_after_a_read_in_an_untracked_block(k: ModuleType) -> Any:
    rt = k.Runtime()
    s = rt.signal(0)
    runs = []

    def effect() -> None:
        with rt.untracked():
            runs.append(s.get())

    rt.effect(effect)
    s.set(1)
    return runs


# bug -> (program, what the contract says it returns): the real kernel returns it, the planted copy not.
DEMONSTRATIONS: dict[str, tuple[Callable[[ModuleType], Any], Any]] = {
    "round-bound-off-by-one": (cascade_of(real.MAX_FLUSH_ROUNDS), real.MAX_FLUSH_ROUNDS),
    "wrong-version-compared": (recompute_count_after_cut_off, 1),
    "refresh-skips-last-source": (chain_read_after_write, 1),
    "cleanup-after-run": (cleanup_order, ["run 0", "cleanup 0", "run 1"]),
    "dirty-flag-kept-on-error": (runs_after_a_failed_check, [0, 1]),
    "sources-not-truncated": (runs_after_dropping_a_source, 2),
    "batch-depth-leaks-on-error": (writes_after_a_failed_flush, [0, 5]),
    "effects-in-insertion-order": (effect_order, [("first", 1), ("second", 1)]),
    "identity-only-equality": (runs_after_an_equal_but_distinct_value, 1),
    "stale-error-after-recovery": (read_after_recovering, 0),
    "untracked-drops-observer": (runs_after_an_untracked_read, [0, 1]),
    "peek-subscribes": (runs_of_a_peeking_effect, [0]),
    "dispose-skips-dependents": (read_after_disposing_a_source, [1, "disposed"]),
    "nested-batch-flushes-early": (runs_inside_nested_batches, [0, "inner batch done", 2]),
    "interrupt-drops-the-rest": (runs_after_an_interrupted_flush, [0, 1]),
    "interrupted-effect-left-clean": (runs_of_an_interrupted_effect, [0, 1, 1]),
    "interrupted-computed-left-running": (read_after_an_interrupted_computed, 10),
    "error-loses-traceback": (frames_of_a_held_error, True),
    "scope-disposes-oldest-first": (cleanups_of_a_disposed_scope, ["second", "first"]),
    "untracked-block-tracks": (runs_after_a_read_in_an_untracked_block, [0]),
}


def test_there_are_at_least_twelve_realistic_bugs_each_demonstrated() -> None:
    assert len(planted.REALISTIC) >= 12
    assert set(DEMONSTRATIONS) == set(planted.REALISTIC)


@pytest.mark.parametrize("name", sorted(planted.REALISTIC))
def test_each_realistic_bug_is_a_real_bug(name: str) -> None:
    program, contract = DEMONSTRATIONS[name]
    assert program(planted.fresh_kernel()) == contract
    assert program(planted.REALISTIC[name]()) != contract


def test_each_realistic_bug_changes_a_line_or_two_of_the_source() -> None:
    for make in planted.REALISTIC.values():
        kernel = make()
        assert kernel.Runtime is not real.Runtime
    assert cascade_of(3)(real) == 3  # planting never touched the real kernel


def test_a_patch_whose_line_is_gone_fails_loudly() -> None:
    with pytest.raises(LookupError, match="planted bug out of date: 'no such line' occurs 0 times"):
        planted.patched_kernel(("no such line", "x"))
    with pytest.raises(LookupError, match="occurs [2-9] times"):
        planted.patched_kernel(("self._observer = prev", "x"))


# Bugs the generator cannot reach yet, measured (docs/fuzzing.md, "Checker strength"): they are the
# checker's known gaps, not caught bugs, and are kept out of the catching test below.
NOT_YET_REACHED: dict[str, str] = {
    "identity-only-equality": "since faults and operations share the draws, 300 examples on seeds 0..2 miss it "
                              "(an equal but distinct value must come out of a computed an effect watches); "
                              "1,000 examples on seed 0 catch it",
}
CAUGHT = sorted(set(planted.REALISTIC) - set(NOT_YET_REACHED))


def test_at_least_twelve_realistic_bugs_are_expected_to_be_caught() -> None:
    assert set(NOT_YET_REACHED) <= set(planted.REALISTIC)
    assert len(CAUGHT) >= 12


@pytest.mark.parametrize("name", CAUGHT)
def test_fuzzing_300_examples_catches_each_realistic_bug(name: str) -> None:
    # `glitchless fuzz --examples 300 --seed S`, the whole contract, unshrunk, for S = 0, then 1, then 2
    # until one catches it (faults and operations share the draws, so one seed's 300 examples do not
    # always meet a given bug). The search stops at its first failure: the command's run finds that one
    # first too, from the same seed, then goes on looking for more. A failure counts as catching the
    # planted bug only when the real kernel passes its program.
    target = Target.from_factory(f"planted:{name}", planted.REALISTIC[name]().Runtime)
    labels: list[str] = []
    for seed in (0, 1, 2):
        report = fuzz(target, examples=300, seed=seed, shrink=False, reduce=False, report_multiple=False)
        if any(not check_program(f.program, REAL_KERNEL) for f in report.failures):
            return
        labels += [f.label for f in report.failures]
    pytest.fail(f"fuzz --examples 300 on seeds 0..2 missed the planted bug {name}; its failures, all shared "
                f"with the real kernel: {labels}")
