"""One test (or a few) per rule of the kernel contract, named after the rule."""

from __future__ import annotations

import sys
import threading
from typing import Any

import pytest

from glitchless.kernel import (
    Computed,
    CycleError,
    DisposedError,
    ReactiveError,
    Runtime,
    RunawayEffectError,
    Signal,
    WriteInComputedError,
)


@pytest.fixture
def rt() -> Runtime:
    return Runtime()


# -- rule 1: equality cut-off --------------------------------------------


def test_equal_write_changes_nothing_and_runs_nothing(rt: Runtime) -> None:
    s = rt.signal(1)
    runs: list[int] = []
    rt.effect(lambda: runs.append(s.get()))
    s.set(1)
    assert runs == [1]
    s.set(2)
    assert runs == [1, 2]


def test_equal_write_uses_equality_not_identity(rt: Runtime) -> None:
    s = rt.signal([1, 2])
    runs: list[list[int]] = []
    rt.effect(lambda: runs.append(s.get()))
    s.set([1, 2])  # a different but equal object
    assert len(runs) == 1


def test_custom_equals_decides_what_is_a_change(rt: Runtime) -> None:
    s = rt.signal(1.0, equals=lambda a, b: abs(a - b) < 0.5)
    runs: list[float] = []
    rt.effect(lambda: runs.append(s.get()))
    s.set(1.2)
    assert runs == [1.0] and s.peek() == 1.0
    s.set(2.0)
    assert runs == [1.0, 2.0]


def test_computed_with_unchanged_value_stops_propagation(rt: Runtime) -> None:
    s = rt.signal(1)
    parity_runs: list[int] = []
    parity = rt.computed(lambda: parity_runs.append(1) or s.get() % 2)
    downstream_runs: list[int] = []
    label = rt.computed(lambda: downstream_runs.append(1) or f"parity {parity.get()}")
    effect_runs: list[str] = []
    rt.effect(lambda: effect_runs.append(label.get()))
    s.set(3)  # parity stays 1
    assert len(parity_runs) == 2
    assert len(downstream_runs) == 1
    assert effect_runs == ["parity 1"]
    s.set(4)
    assert effect_runs == ["parity 1", "parity 0"]


def test_custom_equals_on_computed_cuts_off_dependents(rt: Runtime) -> None:
    s = rt.signal([3, 1, 2])
    ordered = rt.computed(lambda: sorted(s.get()), equals=lambda a, b: a == b)
    runs: list[list[int]] = []
    rt.effect(lambda: runs.append(ordered.get()))
    s.set([2, 3, 1])
    assert runs == [[1, 2, 3]]


def test_in_place_mutation_then_set_same_object_does_not_notify(rt: Runtime) -> None:
    items = [1]
    s = rt.signal(items)
    runs: list[int] = []
    rt.effect(lambda: runs.append(len(s.get())))
    items.append(2)
    s.set(items)
    assert runs == [1]
    s.update(lambda old: [*old, 3])
    assert runs == [1, 3]


# -- rule 2: laziness -----------------------------------------------------


def test_computed_does_not_run_until_read(rt: Runtime) -> None:
    s = rt.signal(1)
    runs: list[int] = []
    c = rt.computed(lambda: runs.append(1) or s.get() * 2)
    assert runs == []
    s.set(2)
    s.set(3)
    assert runs == []
    assert c.get() == 6
    assert runs == [1]


def test_computed_runs_at_most_once_per_change_of_inputs(rt: Runtime) -> None:
    s = rt.signal(1)
    runs: list[int] = []
    c = rt.computed(lambda: runs.append(1) or s.get() * 2)
    assert c.get() == 2 and c.get() == 2 and c.peek() == 2
    assert len(runs) == 1
    s.set(5)
    s.set(6)
    assert c.get() == 12 and c.get() == 12
    assert len(runs) == 2


def test_computed_not_needed_by_effect_is_not_recomputed(rt: Runtime) -> None:
    flag = rt.signal(True)
    s = rt.signal(1)
    runs: list[int] = []
    expensive = rt.computed(lambda: runs.append(1) or s.get() * 100)
    seen: list[int] = []
    rt.effect(lambda: seen.append(expensive.get() if flag.get() else -1))
    flag.set(False)
    s.set(2)  # expensive is no longer read by anyone live
    assert runs == [1]
    assert seen == [100, -1]


# -- rule 3: glitch freedom ------------------------------------------------


def test_diamond_join_never_sees_mixed_branches(rt: Runtime) -> None:
    a = rt.signal(1)
    b = rt.computed(lambda: a.get() + 1)
    c = rt.computed(lambda: a.get() * 2)
    seen: list[tuple[int, int]] = []
    d = rt.computed(lambda: seen.append((b.get(), c.get())) or b.get() + c.get())
    out: list[int] = []
    rt.effect(lambda: out.append(d.get()))
    a.set(5)
    assert seen == [(2, 2), (6, 10)]
    assert out == [4, 16]


def test_jagged_diamond_runs_join_once_with_consistent_inputs(rt: Runtime) -> None:
    # Branches of different depth: a -> b -> c -> d and a -> e, joined in f.
    a = rt.signal(1)
    b = rt.computed(lambda: a.get() + 1)
    c = rt.computed(lambda: b.get() + 1)
    d = rt.computed(lambda: c.get() + 1)
    e = rt.computed(lambda: a.get() * 10)
    seen: list[tuple[int, int]] = []
    f = rt.computed(lambda: seen.append((d.get(), e.get())) or d.get() + e.get())
    rt.effect(lambda: f.get() and None)
    a.set(2)
    assert seen == [(4, 10), (5, 20)]


def test_effect_reading_several_derived_values_sees_one_assignment(rt: Runtime) -> None:
    first = rt.signal("ada")
    last = rt.signal("lovelace")
    full = rt.computed(lambda: f"{first.get()} {last.get()}")
    initials = rt.computed(lambda: first.get()[0] + last.get()[0])
    seen: list[tuple[str, str]] = []
    rt.effect(lambda: seen.append((full.get(), initials.get())))
    with rt.batch():
        first.set("grace")
        last.set("hopper")
    assert seen == [("ada lovelace", "al"), ("grace hopper", "gh")]


# -- dynamic dependencies (rule 4: re-collected on every run) ------------------


def test_dynamic_dependencies_follow_the_branch_taken(rt: Runtime) -> None:
    use_a = rt.signal(True)
    a = rt.signal("a1")
    b = rt.signal("b1")
    runs: list[str] = []
    c = rt.computed(lambda: runs.append("c") or (a.get() if use_a.get() else b.get()))
    out: list[str] = []
    rt.effect(lambda: out.append(c.get()))
    b.set("b2")  # not read yet: nothing recomputes
    assert runs == ["c"] and out == ["a1"]
    use_a.set(False)
    assert out == ["a1", "b2"]
    a.set("a2")  # no longer read: nothing recomputes
    assert runs == ["c", "c"] and out == ["a1", "b2"]
    b.set("b3")
    assert out == ["a1", "b2", "b3"]


def test_effect_dependencies_are_recollected_each_run(rt: Runtime) -> None:
    which = rt.signal(0)
    sigs = [rt.signal(i * 10) for i in range(3)]
    seen: list[int] = []
    rt.effect(lambda: seen.append(sigs[which.get()].get()))
    sigs[1].set(11)
    assert seen == [0]
    which.set(1)
    sigs[0].set(1)
    assert seen == [0, 11]
    sigs[1].set(12)
    assert seen == [0, 11, 12]


# -- rule 4: effects -------------------------------------------------------


def test_effect_runs_once_when_created(rt: Runtime) -> None:
    runs: list[int] = []
    rt.effect(lambda: runs.append(1))
    assert runs == [1]


def test_effect_runs_once_per_flush_with_a_changed_dependency(rt: Runtime) -> None:
    a = rt.signal(1)
    b = rt.signal(2)
    runs: list[tuple[int, int]] = []
    rt.effect(lambda: runs.append((a.get(), b.get())))
    with rt.batch():
        a.set(10)
        b.set(20)
        a.set(11)
    assert runs == [(1, 2), (11, 20)]


def test_cleanup_runs_before_next_run_and_on_dispose(rt: Runtime) -> None:
    s = rt.signal(1)
    log: list[str] = []

    def body() -> Any:
        v = s.get()
        log.append(f"run {v}")
        return lambda: log.append(f"cleanup {v}")

    e = rt.effect(body)
    s.set(2)
    e.dispose()
    e.dispose()
    assert log == ["run 1", "cleanup 1", "run 2", "cleanup 2"]


def test_cleanup_reads_are_not_tracked(rt: Runtime) -> None:
    s = rt.signal(1)
    other = rt.signal(0)
    runs: list[int] = []

    def body() -> Any:
        runs.append(s.get())
        return lambda: other.get() and None

    rt.effect(body)
    s.set(2)
    other.set(5)
    assert runs == [1, 2]


# -- rule 5: flush ----------------------------------------------------------


def test_set_outside_batch_flushes_before_returning(rt: Runtime) -> None:
    s = rt.signal(0)
    seen: list[int] = []
    rt.effect(lambda: seen.append(s.get()))
    s.set(1)
    assert seen == [0, 1]


def test_batch_defers_flush_to_outermost_exit(rt: Runtime) -> None:
    s = rt.signal(0)
    seen: list[int] = []
    rt.effect(lambda: seen.append(s.get()))
    with rt.batch():
        s.set(1)
        with rt.batch():
            s.set(2)
        assert seen == [0]
        s.set(3)
        assert seen == [0]
    assert seen == [0, 3]


def test_reads_inside_batch_see_latest_writes(rt: Runtime) -> None:
    s = rt.signal(1)
    doubled = rt.computed(lambda: s.get() * 2)
    rt.effect(lambda: doubled.get() and None)
    with rt.batch():
        s.set(5)
        assert s.get() == 5
        assert doubled.get() == 10


def test_batch_that_raises_still_flushes_its_writes(rt: Runtime) -> None:
    s = rt.signal(0)
    seen: list[int] = []
    rt.effect(lambda: seen.append(s.get()))
    with pytest.raises(KeyError):
        with rt.batch():
            s.set(1)
            raise KeyError("boom")
    assert seen == [0, 1]


def test_pending_effects_run_in_creation_order(rt: Runtime) -> None:
    s = rt.signal(0)
    order: list[str] = []
    # Subscribe in the reverse of creation order to make the order observable.
    late = rt.computed(lambda: s.get())
    rt.effect(lambda: order.append(f"first {late.get()}"))
    rt.effect(lambda: order.append(f"second {s.get()}"))
    rt.effect(lambda: order.append(f"third {late.get()}"))
    order.clear()
    s.set(1)
    assert order == ["first 1", "second 1", "third 1"]


def test_effect_writes_are_flushed_in_the_same_flush_until_quiet(rt: Runtime) -> None:
    celsius = rt.signal(0)
    fahrenheit = rt.signal(32.0)
    shown: list[float] = []
    rt.effect(lambda: fahrenheit.set(celsius.get() * 9 / 5 + 32))
    rt.effect(lambda: shown.append(fahrenheit.get()))
    celsius.set(100)
    assert shown == [32.0, 212.0]


def test_effect_writing_a_signal_it_read_converges(rt: Runtime) -> None:
    s = rt.signal(0)
    seen: list[int] = []

    def clamp_up_to_three() -> None:
        v = s.get()
        seen.append(v)
        if v < 3:
            s.set(v + 1)

    rt.effect(clamp_up_to_three)
    assert s.peek() == 3
    assert seen == [0, 1, 2, 3]  # at quiescence it observed the current value


def test_effect_writing_through_a_computed_it_read_sees_the_final_value(rt: Runtime) -> None:
    s = rt.signal(0)
    doubled = rt.computed(lambda: s.get() * 2)
    seen: list[int] = []

    def body() -> None:
        seen.append(doubled.get())
        if s.peek() == 0:
            s.set(1)

    rt.effect(body)
    assert seen == [0, 2]


def test_runaway_effects_raise_and_the_runtime_keeps_working(rt: Runtime) -> None:
    ping = rt.signal(0)
    pong = rt.signal(0)
    a = rt.effect(lambda: pong.set(ping.get() + 1), name="ping->pong")
    with pytest.raises(RunawayEffectError, match="ping->pong|pong->ping"):
        rt.effect(lambda: ping.set(pong.get() + 1), name="pong->ping")
    # The new effect was disposed as its creation failed (no handle, so nothing live): the
    # surviving one settles.
    ping.set(100)
    assert pong.peek() == 101
    assert not a.disposed
    other = rt.signal(1)
    seen: list[int] = []
    rt.effect(lambda: seen.append(other.get()))
    other.set(2)
    assert seen == [1, 2]


# -- rule 6: errors lose nothing ---------------------------------------------


def test_computed_error_reaches_reader_and_recovers(rt: Runtime) -> None:
    d = rt.signal(0)
    inv = rt.computed(lambda: 10 // d.get())
    with pytest.raises(ZeroDivisionError):
        inv.get()
    with pytest.raises(ZeroDivisionError):
        inv.peek()
    d.set(5)
    assert inv.get() == 2


def test_computed_error_propagates_through_dependents(rt: Runtime) -> None:
    d = rt.signal(0)
    inv = rt.computed(lambda: 10 // d.get())
    plus = rt.computed(lambda: inv.get() + 1)
    with pytest.raises(ZeroDivisionError):
        plus.get()
    d.set(2)
    assert plus.get() == 6


def test_repeated_reads_of_a_failed_computed_do_not_grow_its_traceback(rt: Runtime) -> None:
    bad = rt.computed(lambda: 1 // 0)
    depths = []
    for _ in range(3):
        try:
            bad.get()
        except ZeroDivisionError as exc:
            tb, n = exc.__traceback__, 0
            while tb is not None:
                tb, n = tb.tb_next, n + 1
            depths.append(n)
    assert depths[0] == depths[1] == depths[2]


def test_effect_error_does_not_stop_other_effects(rt: Runtime) -> None:
    s = rt.signal(0)
    seen: list[int] = []

    def fragile() -> None:
        if s.get() == 1:
            raise ValueError("fragile saw 1")

    rt.effect(fragile)
    rt.effect(lambda: seen.append(s.get()))
    with pytest.raises(ValueError, match="fragile saw 1"):
        s.set(1)
    assert seen == [0, 1]
    s.set(2)  # the failing effect is still live and recovers
    assert seen == [0, 1, 2]


def test_several_effect_errors_become_an_exception_group(rt: Runtime) -> None:
    s = rt.signal(0)

    def failing(tag: str) -> Any:
        def body() -> None:
            if s.get():
                raise ValueError(tag)

        return body

    rt.effect(failing("a"))
    rt.effect(failing("b"))
    with pytest.raises(ExceptionGroup) as info:
        s.set(1)
    assert [str(e) for e in info.value.exceptions] == ["a", "b"]


def test_effect_error_in_batch_propagates_from_batch_exit(rt: Runtime) -> None:
    s = rt.signal(0)

    def fail_on_change() -> None:
        if s.get():
            raise RuntimeError("bad")

    rt.effect(fail_on_change)
    with pytest.raises(RuntimeError, match="bad"):
        with rt.batch():
            s.set(1)
    assert s.peek() == 1


def test_effect_failing_on_first_run_raises_from_creation_and_is_not_left_live(rt: Runtime) -> None:
    s = rt.signal(0)
    runs: list[int] = []

    def body() -> None:
        runs.append(s.get())
        raise ValueError("no")

    with pytest.raises(ValueError):
        rt.effect(body)
    s.set(1)
    assert runs == [0]


# -- rule 7: disposal ---------------------------------------------------------


def test_disposed_effect_never_runs_again(rt: Runtime) -> None:
    s = rt.signal(0)
    runs: list[int] = []
    e = rt.effect(lambda: runs.append(s.get()))
    e.dispose()
    s.set(1)
    assert runs == [0]
    assert e.disposed


def test_effect_disposed_while_pending_in_flush_does_not_run(rt: Runtime) -> None:
    s = rt.signal(0)
    log: list[str] = []
    victim_holder: list[Any] = []

    def killer() -> None:
        if s.get() == 1:
            victim_holder[0].dispose()

    def victim() -> Any:
        log.append(f"victim {s.get()}")
        return lambda: log.append("victim cleanup")

    rt.effect(killer)
    victim_holder.append(rt.effect(victim))
    s.set(1)
    assert log == ["victim 0", "victim cleanup"]


def test_effect_disposing_itself_during_run_runs_cleanup_once(rt: Runtime) -> None:
    s = rt.signal(0)
    log: list[str] = []
    holder: list[Any] = []

    def body() -> Any:
        v = s.get()
        if v == 1:
            holder[0].dispose()
        return lambda: log.append(f"cleanup {v}")

    holder.append(rt.effect(body))
    s.set(1)
    s.set(2)
    assert log == ["cleanup 0", "cleanup 1"]


def test_reading_a_disposed_computed_is_a_clear_error(rt: Runtime) -> None:
    s = rt.signal(1)
    c = rt.computed(lambda: s.get() + 1, name="total")
    assert c.get() == 2
    c.dispose()
    with pytest.raises(DisposedError, match="'total'"):
        c.get()
    s.set(3)  # runtime still fine
    assert s.get() == 3


def test_dependents_of_a_disposed_computed_report_it(rt: Runtime) -> None:
    s = rt.signal(1)
    c = rt.computed(lambda: s.get() + 1, name="inner")
    outer = rt.computed(lambda: c.get() * 2)
    assert outer.get() == 4
    c.dispose()
    with pytest.raises(DisposedError):
        outer.get()


# -- cycles and writes in computeds --------------------------------------------


def test_computed_reading_itself_is_a_cycle_error(rt: Runtime) -> None:
    holder: list[Computed[int]] = []
    c = rt.computed(lambda: holder[0].get() + 1, name="selfish")
    holder.append(c)
    with pytest.raises(CycleError, match="selfish"):
        c.get()


def test_transitive_cycle_is_a_cycle_error_and_runtime_keeps_working(rt: Runtime) -> None:
    use_cycle = rt.signal(False)
    holder: list[Computed[int]] = []
    a = rt.computed(lambda: holder[0].get() + 1 if use_cycle.get() else 0, name="a")
    b = rt.computed(lambda: a.get() + 1, name="b")
    holder.append(b)
    assert b.get() == 1
    use_cycle.set(True)
    with pytest.raises(CycleError):
        b.get()
    use_cycle.set(False)
    assert b.get() == 1


def test_write_in_computed_is_refused_with_clear_error(rt: Runtime) -> None:
    s = rt.signal(0)
    t = rt.signal(0, name="target")

    def impure() -> int:
        t.set(s.get())
        return 1

    c = rt.computed(impure)
    with pytest.raises(WriteInComputedError, match="'target'"):
        c.get()
    assert t.peek() == 0
    t.set(4)  # writes outside computeds still work
    assert t.get() == 4


def test_reactive_errors_share_one_base_class() -> None:
    for cls in (CycleError, WriteInComputedError, RunawayEffectError, DisposedError):
        assert issubclass(cls, ReactiveError)


# -- bad input --------------------------------------------------------------------


@pytest.mark.parametrize("bad", [None, 42, "not a function"])
def test_non_callable_computed_fn_is_a_type_error(rt: Runtime, bad: Any) -> None:
    with pytest.raises(TypeError, match="computed fn must be callable"):
        rt.computed(bad)


@pytest.mark.parametrize("bad", [None, 42])
def test_non_callable_effect_fn_is_a_type_error(rt: Runtime, bad: Any) -> None:
    with pytest.raises(TypeError, match="effect fn must be callable"):
        rt.effect(bad)


# -- untracked -----------------------------------------------------------------------


def test_untracked_reads_do_not_subscribe(rt: Runtime) -> None:
    a = rt.signal(1)
    b = rt.signal(10)
    seen: list[int] = []
    rt.effect(lambda: seen.append(a.get() + rt.untracked(b.get)))
    b.set(20)
    assert seen == [11]
    a.set(2)
    assert seen == [11, 22]


def test_peek_does_not_subscribe(rt: Runtime) -> None:
    a = rt.signal(1)
    c = rt.computed(lambda: a.get() * 3)
    seen: list[int] = []
    rt.effect(lambda: seen.append(c.peek()))
    a.set(2)
    assert seen == [3]


# -- rule 8: depth and width ------------------------------------------------------------


def _chain(rt: Runtime, head: Signal[int], length: int) -> Computed[int]:
    node: Signal[int] | Computed[int] = head
    for _ in range(length):
        prev = node
        node = rt.computed(lambda prev=prev: prev.get() + 1)  # type: ignore[misc]
        node.get()  # built bottom-up, as a long-lived graph would be
    assert isinstance(node, Computed)
    return node


def test_update_through_10000_chain_under_default_recursion_limit(rt: Runtime) -> None:
    assert sys.getrecursionlimit() <= 1000  # CPython's default: nothing in the suite raised it
    head = rt.signal(0)
    tail = _chain(rt, head, 10_000)
    seen: list[int] = []
    rt.effect(lambda: seen.append(tail.get()))
    head.set(1)
    assert seen == [10_000, 10_001]


def test_equality_cutoff_at_chain_root_skips_whole_chain(rt: Runtime) -> None:
    head = rt.signal(0)
    parity = rt.computed(lambda: head.get() % 2)
    tail = _chain(rt, parity, 10_000)  # type: ignore[arg-type]
    seen: list[int] = []
    rt.effect(lambda: seen.append(tail.get()))
    head.set(2)
    assert seen == [10_000]


def test_wide_fan_out_runs_every_effect_once(rt: Runtime) -> None:
    s = rt.signal(0)
    counts = [0] * 1000

    def make(i: int) -> Any:
        def body() -> None:
            s.get()
            counts[i] += 1

        return body

    for i in range(1000):
        rt.effect(make(i))
    s.set(1)
    assert counts == [2] * 1000


# -- independent runtimes and threads --------------------------------------------------


def test_two_runtimes_never_affect_each_other() -> None:
    rt1, rt2 = Runtime(), Runtime()
    s1 = rt1.signal(0)
    s2 = rt2.signal(0)
    seen1: list[int] = []
    rt1.effect(lambda: seen1.append(s1.get()))
    with rt2.batch():
        s1.set(1)  # rt2's batch must not defer rt1's flush
        assert seen1 == [0, 1]
        s2.set(1)


def test_foreign_thread_write_without_scheduler_is_refused(rt: Runtime) -> None:
    s = rt.signal(0, name="shared")
    errors: list[BaseException] = []

    def write() -> None:
        try:
            s.set(1)
        except ReactiveError as exc:
            errors.append(exc)

    t = threading.Thread(target=write)
    t.start()
    t.join()
    assert len(errors) == 1 and "foreign thread" in str(errors[0])
    assert s.peek() == 0


# -- sharper edges found by mutation testing ---------------------------------------------


def test_join_whose_branches_all_cut_off_is_not_recomputed(rt: Runtime) -> None:
    a = rt.signal(1)
    branches = [rt.computed(lambda k=k: (a.get() + k) // 10) for k in range(3)]  # type: ignore[misc]
    joins: list[int] = []
    join = rt.computed(lambda: joins.append(1) or sum(b.get() for b in branches))
    seen: list[int] = []
    rt.effect(lambda: seen.append(join.get()))
    a.set(2)  # every branch keeps its value
    assert len(joins) == 1 and seen == [0]
    a.set(8)  # only the last branch changes: (8 + 2) // 10 == 1
    assert len(joins) == 2 and seen == [0, 1]


def test_reads_after_a_nested_computed_recompute_are_still_tracked(rt: Runtime) -> None:
    a = rt.signal(1)
    b = rt.signal(10)
    doubled = rt.computed(lambda: a.get() * 2)
    seen: list[tuple[int, int]] = []
    rt.effect(lambda: seen.append((doubled.get(), b.get())))
    b.set(11)
    a.set(2)
    b.set(12)
    assert seen == [(2, 10), (2, 11), (4, 11), (4, 12)]


def test_computed_reading_after_nested_computed_tracks_both(rt: Runtime) -> None:
    a = rt.signal(1)
    b = rt.signal(10)
    inner = rt.computed(lambda: a.get() + 1)
    outer = rt.computed(lambda: inner.get() + b.get())
    assert outer.get() == 12
    b.set(20)
    assert outer.get() == 22


def _counting_effect(rt: Runtime, goal: int) -> Signal[int]:
    s = rt.signal(0)

    def step() -> None:
        v = s.get()
        if v < goal:
            s.set(v + 1)

    rt.effect(step)
    return s


def test_flush_that_settles_within_the_round_bound_is_not_runaway(rt: Runtime) -> None:
    from glitchless.kernel.reactive import MAX_FLUSH_ROUNDS

    s = _counting_effect(rt, MAX_FLUSH_ROUNDS)
    assert s.peek() == MAX_FLUSH_ROUNDS


def test_flush_one_round_past_the_bound_is_runaway(rt: Runtime) -> None:
    from glitchless.kernel.reactive import MAX_FLUSH_ROUNDS

    with pytest.raises(RunawayEffectError, match=f"after {MAX_FLUSH_ROUNDS} rounds"):
        _counting_effect(rt, MAX_FLUSH_ROUNDS + 1)


def test_effects_after_a_disposed_pending_effect_still_run(rt: Runtime) -> None:
    s = rt.signal(0)
    log: list[str] = []
    holder: list[Any] = []
    rt.effect(lambda: holder[0].dispose() if s.get() else None)
    holder.append(rt.effect(lambda: log.append(f"victim {s.get()}")))
    rt.effect(lambda: log.append(f"after {s.get()}"))
    s.set(1)
    assert log == ["victim 0", "after 0", "after 1"]


def test_error_messages_name_the_node_and_the_problem(rt: Runtime) -> None:
    holder: list[Computed[int]] = []
    c = rt.computed(lambda: holder[0].get(), name="loop")
    holder.append(c)
    with pytest.raises(CycleError, match=r"^computed 'loop' depends on itself$"):
        c.get()
    t = rt.signal(0, name="out")
    bad = rt.computed(lambda: t.set(1) or 0)
    with pytest.raises(WriteInComputedError, match=r"^signal 'out' written while a computed was running"):
        bad.get()
    unnamed = rt.computed(lambda: 1)
    unnamed.dispose()
    with pytest.raises(DisposedError, match=r"^computed was read after dispose\(\)$"):
        unnamed.get()


def test_runaway_error_names_every_effect_still_pending(rt: Runtime) -> None:
    a = rt.signal(0)
    b = rt.signal(0)
    rt.effect(lambda: b.set(a.get() + 1), name="a->b")
    with pytest.raises(RunawayEffectError, match=r"rounds: effect 'a->b', effect 'b->a'$"):
        rt.effect(lambda: a.set(b.get() + 1), name="b->a")


def test_effect_writing_a_signal_it_no_longer_reads_does_not_rerun(rt: Runtime) -> None:
    use_b = rt.signal(True)
    b = rt.signal(0)
    runs: list[str] = []

    def body() -> None:
        if use_b.get():
            runs.append(f"reads b={b.get()}")
        else:
            runs.append("writes b")
            b.set(b.peek() + 1)  # b was a dependency of the previous run only

    rt.effect(body)
    use_b.set(False)
    assert runs == ["reads b=0", "writes b"]
    assert b.peek() == 1


# -- found by the property suite's probes --------------------------------------------


class _QueueScheduler:
    """Collects handed-over callbacks; `run` plays them on the owner thread."""

    def __init__(self) -> None:
        self.queue: list[tuple[Any, tuple[Any, ...]]] = []

    def call_soon_threadsafe(self, callback: Any, *args: Any) -> None:
        self.queue.append((callback, args))

    def run(self) -> None:
        while self.queue:
            callback, args = self.queue.pop(0)
            callback(*args)


def test_updates_from_a_foreign_thread_are_applied_on_the_owner_and_not_lost() -> None:
    loop = _QueueScheduler()
    rt = Runtime(scheduler=loop)
    counter = rt.signal(0)

    def worker() -> None:
        counter.update(lambda x: x + 1)
        counter.update(lambda x: x + 1)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert counter.peek() == 0  # nothing applied on the foreign thread
    loop.run()
    assert counter.peek() == 2


def test_a_foreign_write_while_the_owner_runs_a_computed_is_handed_over() -> None:
    loop = _QueueScheduler()
    rt = Runtime(scheduler=loop)
    s = rt.signal(0)
    errors: list[BaseException] = []

    def computed_that_lets_a_thread_write() -> int:
        def foreign() -> None:
            try:
                s.set(1)
            except Exception as exc:
                errors.append(exc)

        t = threading.Thread(target=foreign)
        t.start()
        t.join()  # the owner is inside this computed while the thread writes
        return 1

    assert rt.computed(computed_that_lets_a_thread_write).get() == 1
    loop.run()
    assert errors == [] and s.peek() == 1


def test_an_effect_that_writes_then_raises_on_creation_still_flushes_its_write(rt: Runtime) -> None:
    s = rt.signal(0)
    seen: list[int] = []
    rt.effect(lambda: seen.append(s.get()))

    def writes_then_raises() -> None:
        s.set(1)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        rt.effect(writes_then_raises)
    assert seen == [0, 1]


def test_a_computed_that_disposes_itself_while_running_stays_disposed(rt: Runtime) -> None:
    s = rt.signal(1)
    holder: list[Computed[int]] = []
    c = rt.computed(lambda: (holder[0].dispose(), s.get())[1], name="self-disposing")
    holder.append(c)
    with pytest.raises(DisposedError, match="'self-disposing' was disposed while it ran"):
        c.get()
    with pytest.raises(DisposedError, match="'self-disposing' was read after dispose"):
        c.get()
    assert s.peek() == 1 and not s._subs  # it left no subscription behind
