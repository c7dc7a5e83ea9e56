"""Reactive core edges: deep cold reads, laziness after re-runs, switched sources, flush order and disposal."""

from __future__ import annotations

import gc
import re
import sys
import weakref
from typing import Any

import pytest

from glitchless.kernel import Computed, DisposedError, Effect, Runtime, Signal
from glitchless.kernel.reactive import MAX_NESTING


def exactly(text: str) -> str:
    return "^" + re.escape(text) + "$"


def test_a_cold_read_of_a_long_chain_nests_at_most_max_nesting_fns_and_gets_the_right_value() -> None:
    rt = Runtime()
    s = rt.signal(1)
    depth = 0
    deepest = 0

    def step(prev: Signal[int] | Computed[int]) -> Computed[int]:
        def fn() -> int:
            nonlocal depth, deepest
            depth += 1
            deepest = max(deepest, depth)
            try:
                return prev.get() + 1
            finally:
                depth -= 1

        return rt.computed(fn)

    node: Signal[int] | Computed[int] = s
    for _ in range(3 * MAX_NESTING + 7):
        node = step(node)
    assert isinstance(node, Computed)
    # What this checks is the nesting bound, not the recursion limit (rule 8 has its own
    # tests): leave room for tools that add frames per call, as mutation runs do.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20 * MAX_NESTING + 1000))
    try:
        assert node.get() == 1 + 3 * MAX_NESTING + 7
        assert deepest == MAX_NESTING
        s.set(2)
        assert node.get() == 2 + 3 * MAX_NESTING + 7
    finally:
        sys.setrecursionlimit(limit)


def test_a_check_node_whose_first_computed_source_settles_unchanged_still_checks_the_next_source() -> None:
    rt = Runtime()
    a = rt.signal(0)
    b = rt.signal(0)
    parity = rt.computed(lambda: a.get() % 2)
    mid = rt.computed(lambda: parity.get())
    copy_b = rt.computed(lambda: b.get())
    top = rt.computed(lambda: (mid.get(), copy_b.get()))
    assert top.get() == (0, 0)
    with rt.batch():
        a.set(2)  # parity stays 0: mid settles unchanged
        b.set(5)
    assert top.get() == (0, 5)


def test_a_recomputed_computed_does_not_rerun_when_its_inputs_then_settle_unchanged() -> None:
    rt = Runtime()
    s = rt.signal(0)
    x = rt.signal(10)
    y = rt.signal(20)
    parity = rt.computed(lambda: s.get() % 2)
    runs = 0

    def total() -> int:
        nonlocal runs
        runs += 1
        return parity.get() + x.get() + y.get()

    t = rt.computed(total)
    assert t.get() == 30 and runs == 1
    x.set(11)
    assert t.get() == 31 and runs == 2
    s.set(2)  # parity recomputes to the same 0: t's inputs are unchanged
    assert t.get() == 31 and runs == 2
    y.set(21)
    assert t.get() == 32 and runs == 3
    s.set(4)
    assert t.get() == 32 and runs == 3


def test_a_rerun_that_reads_a_different_first_signal_follows_the_new_one_only() -> None:
    rt = Runtime()
    a = rt.signal("a1")
    b = rt.signal("b1")
    holder: list[Signal[str]] = [a]
    runs = 0

    def read() -> str:
        nonlocal runs
        runs += 1
        return holder[0].get()

    c = rt.computed(read)
    assert c.get() == "a1"
    holder[0] = b
    a.set("a2")  # re-run: now reads b
    assert c.get() == "b1" and runs == 2
    b.set("b2")
    assert c.get() == "b2" and runs == 3
    a.set("a3")  # no longer a dependency
    assert c.get() == "b2" and runs == 3


def test_a_rerun_that_reads_a_different_first_computed_follows_the_new_one_only() -> None:
    rt = Runtime()
    a = rt.signal(1)
    b = rt.signal(100)
    ca = rt.computed(lambda: a.get())
    cb = rt.computed(lambda: b.get())
    holder: list[Computed[int]] = [ca]
    seen: list[int] = []
    rt.effect(lambda: seen.append(holder[0].get()))
    holder[0] = cb
    a.set(2)  # re-run: now reads cb
    assert seen == [1, 100]
    b.set(200)
    assert seen == [1, 100, 200]
    a.set(3)  # no longer a dependency
    assert seen == [1, 100, 200]


def test_pending_effects_run_in_creation_order_even_when_queued_in_reverse() -> None:
    rt = Runtime()
    s = rt.signal(0)
    doubled = rt.computed(lambda: s.get() * 2)
    log: list[str] = []
    rt.effect(lambda: log.append(f"first {doubled.get()}"))  # reached through the computed: queued second
    rt.effect(lambda: log.append(f"second {s.get()}"))  # a direct dependent of s: queued first
    log.clear()
    s.set(1)
    assert log == ["first 2", "second 1"]


def test_an_effect_whose_computed_input_settled_unchanged_does_not_stop_later_effects() -> None:
    rt = Runtime()
    s = rt.signal(0)
    parity = rt.computed(lambda: s.get() % 2)
    log: list[str] = []
    rt.effect(lambda: log.append(f"parity {parity.get()}"))
    rt.effect(lambda: log.append(f"value {s.get()}"))
    log.clear()
    s.set(2)
    assert log == ["value 2"]


def test_an_effect_that_raised_runs_again_when_its_input_changes() -> None:
    rt = Runtime()
    s = rt.signal(0)
    seen: list[int] = []

    def body() -> None:
        v = s.get()
        seen.append(v)
        if v == 1:
            raise ValueError("one")

    rt.effect(body)
    with pytest.raises(ValueError, match="one"):
        s.set(1)
    s.set(2)
    assert seen == [0, 1, 2]


def test_a_computed_disposed_by_its_own_fn_reports_that_exactly() -> None:
    rt = Runtime()
    holder: list[Computed[int]] = []

    def fn() -> int:
        holder[0].dispose()
        return 1

    c = rt.computed(fn, name="self-destruct")
    holder.append(c)
    with pytest.raises(DisposedError, match=exactly("computed 'self-destruct' was disposed while it ran")):
        c.get()


def test_a_disposed_computed_stays_disposed_when_its_source_changes() -> None:
    rt = Runtime()
    s = rt.signal(0)
    runs = 0

    def fn() -> int:
        nonlocal runs
        runs += 1
        return s.get()

    c = rt.computed(fn, name="gone")
    assert c.get() == 0
    c.dispose()
    s.set(1)
    with pytest.raises(DisposedError, match=exactly("computed 'gone' was read after dispose()")):
        c.get()
    assert runs == 1


def test_disposing_a_computed_after_its_computed_source_was_disposed_works() -> None:
    rt = Runtime()
    s = rt.signal(0)
    upstream = rt.computed(lambda: s.get())
    downstream = rt.computed(lambda: upstream.get())
    assert downstream.get() == 0
    upstream.dispose()
    downstream.dispose()
    with pytest.raises(DisposedError):
        downstream.get()


def test_disposing_an_effect_and_the_computed_it_reads_in_one_batch_works() -> None:
    rt = Runtime()
    s = rt.signal(0)
    c = rt.computed(lambda: s.get())
    seen: list[int] = []
    e = rt.effect(lambda: seen.append(c.get()))
    with rt.batch():
        c.dispose()
        e.dispose()
    s.set(1)
    assert seen == [0] and e.disposed


def test_a_disposed_effect_is_not_kept_alive_by_the_signal_it_read() -> None:
    rt = Runtime()
    s = rt.signal(0)

    class Body:
        def __call__(self) -> None:
            s.get()

    body = Body()
    ref = weakref.ref(body)
    e = rt.effect(body)
    e.dispose()
    del e, body
    gc.collect()
    assert ref() is None  # the effect, which holds its body, was released
    s.set(1)


def test_an_effect_finds_out_about_a_computed_disposed_in_the_batch_it_changed_in() -> None:
    rt = Runtime()
    s = rt.signal(0)
    c = rt.computed(lambda: s.get())
    seen: list[Any] = []

    def body() -> None:
        try:
            seen.append(c.get())
        except DisposedError:
            seen.append("disposed")

    rt.effect(body)
    with rt.batch():
        s.set(1)
        assert c.peek() == 1  # c recomputes inside the batch; the effect has not run yet
        c.dispose()
    assert seen == [0, "disposed"]


def test_nodes_repr_shows_their_name_or_nothing() -> None:
    rt = Runtime()
    assert repr(rt.computed(lambda: 1, name="total")) == "Computed(total)"
    assert repr(rt.computed(lambda: 1)) == "Computed()"
    assert repr(rt.effect(lambda: None, name="log")) == "Effect(log)"
    assert repr(rt.effect(lambda: None)) == "Effect()"


def test_effects_and_scopes_report_disposed_as_a_bool_false_until_disposed() -> None:
    rt = Runtime()
    e = rt.effect(lambda: None)
    scope = rt.scope()
    assert e.disposed is False and scope.disposed is False
    e.dispose()
    scope.dispose()
    assert e.disposed is True and scope.disposed is True


def test_rule7_cleanups_failing_on_dispose_are_raised_together_naming_the_effect() -> None:
    rt = Runtime()

    def body() -> None:
        def fail(n: int) -> None:
            raise RuntimeError(f"cleanup {n}")

        rt.on_cleanup(lambda: fail(1))
        rt.on_cleanup(lambda: fail(2))

    e = rt.effect(body, name="saver")
    with pytest.raises(ExceptionGroup) as info:
        e.dispose()
    assert info.value.message == "effect 'saver': its cleanups failed"
    assert [str(x) for x in info.value.exceptions] == ["cleanup 1", "cleanup 2"]
    assert e.disposed is True


def test_rule6_an_interrupt_in_a_middle_cleanup_leaves_exactly_the_later_ones_for_the_next_flush() -> None:
    rt = Runtime()
    s = rt.signal(0)
    log: list[str] = []
    interrupt = [False]

    def middle() -> None:
        log.append("b")
        if interrupt[0]:
            interrupt[0] = False
            raise KeyboardInterrupt

    def body() -> None:
        log.append(f"run {s.get()}")
        rt.on_cleanup(lambda: log.append("a"))
        rt.on_cleanup(middle)
        rt.on_cleanup(lambda: log.append("c"))

    rt.effect(body)
    interrupt[0] = True
    with pytest.raises(KeyboardInterrupt):
        s.set(1)
    assert log == ["run 0", "a", "b"]
    s.set(1)  # an equal write flushes what the interrupt cut short
    assert log == ["run 0", "a", "b", "c", "run 1"]


def test_a_disposed_computed_stays_disposed_after_its_sources_change() -> None:
    rt = Runtime()
    s = rt.signal(1)
    c = rt.computed(lambda: s.get() * 10)
    seen: list[object] = []

    def body() -> None:
        try:
            seen.append(c.get())
        except DisposedError:
            seen.append("disposed")

    rt.effect(body)
    c.dispose()
    s.set(2)
    assert seen == [10, "disposed"]
    assert c not in s._subs  # disposal unsubscribed it from its sources
    with pytest.raises(DisposedError):
        c.get()


def test_disposing_a_computed_counts_as_a_write_for_unobserved_computeds_checked_before() -> None:
    rt = Runtime()
    s = rt.signal(1)
    d = rt.computed(lambda: s.get() * 10)  # unobserved: it re-validates when the runtime's epoch moved
    s.set(2)
    assert d.get() == 20
    s.set(3)
    rt.computed(lambda: 0).dispose()  # moves the epoch on again, never back to one d was checked in
    assert d.get() == 30
    source = rt.computed(lambda: s.get())
    reader = rt.computed(lambda: source.get() + 1)
    assert reader.get() == 4
    source.dispose()  # no signal written: only the epoch tells reader to look again
    with pytest.raises(DisposedError):
        reader.get()


def test_on_cleanup_inside_a_computed_is_refused_naming_the_rule() -> None:
    rt = Runtime()
    c = rt.computed(lambda: rt.on_cleanup(lambda: None))
    with pytest.raises(Exception, match="^on_cleanup\\(\\) called inside a computed; only effects and scopes have cleanups$"):
        c.get()


def test_a_scope_disposed_inside_a_batch_leaves_the_batchs_effects_for_its_exit() -> None:
    rt = Runtime()
    s = rt.signal(0)
    seen: list[int] = []
    rt.effect(lambda: seen.append(s.get()))
    scope = rt.scope()
    with scope:
        rt.computed(lambda: s.get())
    with rt.batch():
        s.set(1)
        scope.dispose()
        assert seen == [0]  # still batched
    assert seen == [0, 1]


def test_rule9_a_loop_thread_stops_owning_the_runtime_when_its_loop_stops() -> None:
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    rt = Runtime(scheduler=loop)  # created on this thread
    s = rt.signal(0)
    seen: list[tuple[int, str]] = []
    rt.effect(lambda: seen.append((s.get(), threading.current_thread().name)))

    async def write_one() -> None:
        s.set(1)

    def serve_then_write() -> None:
        loop.run_until_complete(write_one())  # the loop runs here: this thread owns the runtime
        s.set(2)  # the loop stopped: the creator owns it again, so this write is handed over

    t = threading.Thread(target=serve_then_write, name="server")
    t.start()
    t.join(10)
    assert not t.is_alive()
    assert s.peek() == 1 and seen == [(0, "MainThread"), (1, "server")]
    loop.run_until_complete(asyncio.sleep(0))  # the handed-over write is applied where the loop runs now
    loop.close()
    assert s.peek() == 2 and seen[-1] == (2, "MainThread")


def test_rule9_a_creator_that_once_ran_the_loop_hands_writes_over_while_another_thread_runs_it() -> None:
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    rt = Runtime(scheduler=loop)
    s = rt.signal(0)
    seen: list[tuple[int, str]] = []
    rt.effect(lambda: seen.append((s.get(), threading.current_thread().name)))

    async def write_one() -> None:
        s.set(1)

    loop.run_until_complete(write_one())  # the creator runs the loop once
    serving = threading.Event()
    loop.call_soon_threadsafe(serving.set)
    t = threading.Thread(target=loop.run_forever, name="server")
    t.start()
    assert serving.wait(10)
    s.set(2)  # the loop runs in "server" now: it owns the runtime, so this write is handed over
    applied = threading.Event()
    loop.call_soon_threadsafe(applied.set)  # queued after the handed-over write
    assert applied.wait(10)
    loop.call_soon_threadsafe(loop.stop)
    t.join(10)
    loop.close()
    assert seen == [(0, "MainThread"), (1, "MainThread"), (2, "server")]


def test_rule9_a_foreign_read_of_a_computed_just_left_unobserved_returns_its_cached_value() -> None:
    import threading

    rt = Runtime()
    s = rt.signal(1)
    calls: list[str] = []

    def fn() -> int:
        calls.append(threading.current_thread().name)
        return s.get() * 10

    c = rt.computed(fn)
    e = rt.effect(lambda: c.get())
    e.dispose()  # c loses its last subscriber; nothing was written since it was computed
    got: list[int] = []
    t = threading.Thread(target=lambda: got.append(c.get()), name="reader")
    t.start()
    t.join(10)
    assert got == [10]
    assert calls == ["MainThread"]  # current, so cached: fn did not run again on the foreign thread


def test_rule4_an_equals_failing_in_the_flush_skips_only_that_effect_which_stays_live() -> None:
    rt = Runtime()
    fail = [False]

    def equals(a: int, b: int) -> bool:
        if fail[0]:
            fail[0] = False  # one comparison fails
            raise RuntimeError("equals")
        return a == b

    s = rt.signal(0, equals=equals)
    first: list[int] = []
    second: list[int] = []
    rt.effect(lambda: first.append(s.get()))
    rt.effect(lambda: second.append(s.get()))
    with pytest.raises(RuntimeError, match="^equals$"):
        with rt.batch():
            s.set(2)
            fail[0] = True  # the flush's value comparison for the first effect fails
    assert first == [0] and second == [0, 2]
    s.set(3)
    assert first == [0, 3] and second == [0, 2, 3]


def test_rule7_cleanups_that_dispose_their_effect_and_fail_raise_together() -> None:
    rt = Runtime()
    s = rt.signal(0)
    handle: list[Effect] = []

    def body() -> None:
        s.get()

        def fail_and_dispose() -> None:
            handle[0].dispose()
            raise RuntimeError("first")

        def fail() -> None:
            raise RuntimeError("second")

        rt.on_cleanup(fail_and_dispose)
        rt.on_cleanup(fail)

    handle.append(rt.effect(body))
    with pytest.raises(ExceptionGroup) as info:
        s.set(1)
    assert info.value.message == "effect: its cleanups failed"
    assert [str(x) for x in info.value.exceptions] == ["first", "second"]
    assert handle[0].disposed is True


def test_rule6_an_interrupt_keeps_both_the_cut_short_effects_and_those_queued_meanwhile() -> None:
    rt = Runtime()
    x = rt.signal(0)
    y = rt.signal(0)
    seen_y: list[int] = []
    interrupt = [False]

    def writer() -> None:
        y.set(x.get() * 10)

    def interrupted() -> None:
        x.get()
        if interrupt[0]:
            interrupt[0] = False
            raise KeyboardInterrupt

    rt.effect(writer)
    rt.effect(interrupted)
    rt.effect(lambda: seen_y.append(y.get()))
    interrupt[0] = True
    with pytest.raises(KeyboardInterrupt):
        x.set(1)  # writer queues y's reader, then the next effect is interrupted
    x.set(1)  # an equal write flushes what was left
    assert seen_y == [0, 10]


def test_rule4_an_effect_reads_the_disposal_of_a_computed_whose_value_was_none() -> None:
    rt = Runtime()
    s = rt.signal(0)
    c = rt.computed(lambda: None if s.get() == 0 else s.get())
    seen: list[object] = []

    def body() -> None:
        try:
            seen.append(c.get())
        except DisposedError:
            seen.append("disposed")

    rt.effect(body)
    c.dispose()
    assert seen == [None, "disposed"]


def test_rule4_an_exception_held_as_a_signals_value_is_unchanged_when_it_is_the_same_object() -> None:
    rt = Runtime()
    last_error = rt.signal(RuntimeError("boom"))
    n = rt.signal(0)
    runs: list[int] = []

    def body() -> None:
        last_error.get()
        runs.append(n.get())

    rt.effect(body)
    with rt.batch():
        n.set(1)
        n.set(0)  # changed and changed back: nothing the effect saw differs
    assert runs == [0]


def test_current_effect_is_the_outer_effect_again_after_it_creates_an_inner_one() -> None:
    rt = Runtime()
    seen: list[Effect | None] = []

    def outer() -> None:
        rt.effect(lambda: None)
        seen.append(rt.current_effect())

    e = rt.effect(outer)
    assert seen == [e]


def test_rule4_a_named_effects_cleanup_and_run_both_failing_raise_together_naming_it() -> None:
    rt = Runtime()
    s = rt.signal(0)

    def body() -> Any:
        if s.get():
            raise RuntimeError("run")

        def cleanup() -> None:
            raise RuntimeError("cleanup")

        return cleanup

    rt.effect(body, name="job")
    with pytest.raises(ExceptionGroup) as info:
        s.set(1)
    assert info.value.message == "effect 'job': its cleanup and its run failed"
    assert [str(x) for x in info.value.exceptions] == ["cleanup", "run"]


def test_rule9_a_foreign_read_during_a_computeds_run_does_not_hide_the_owners_read() -> None:
    import threading

    rt = Runtime()  # fresh: the computed's first run is the runtime's first observer
    s = rt.signal(1)

    def fn() -> int:
        t = threading.Thread(target=s.get)  # a foreign read while the owner's computed runs
        t.start()
        t.join(10)
        return s.get() * 10

    c = rt.computed(fn)
    assert c.get() == 10
    s.set(2)
    assert c.get() == 20  # the owner's read after the foreign one still made s a dependency


def test_rule4_an_effect_is_not_rerun_for_the_same_cached_error_of_a_computed() -> None:
    rt = Runtime()
    n = rt.signal(0)

    def failing() -> int:
        raise RuntimeError("always")

    c = rt.computed(failing)
    runs: list[int] = []

    def body() -> None:
        try:
            c.get()
        except RuntimeError:
            pass
        runs.append(n.get())

    rt.effect(body)
    with rt.batch():
        n.set(1)
        n.set(0)  # changed and back; c still holds the very error the effect saw
    assert runs == [0]
