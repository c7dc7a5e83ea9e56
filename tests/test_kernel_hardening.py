"""Regression tests for the reactive-core hardening: one per reproducer, named after the rule it restores."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from async_support import collect_errors, runtime

from glitchless.fakes import simulate
from glitchless.kernel import (
    CycleError,
    DisposedError,
    Effect,
    ReactiveError,
    Runtime,
    RunawayEffectError,
)


@pytest.fixture
def rt() -> Runtime:
    return Runtime()


# -- rule 4 / S1: a cleanup that raises before a re-run ---------------------------------


def test_rule4_a_raising_cleanup_still_lets_the_body_run_and_its_error_propagates(rt: Runtime) -> None:
    s = rt.signal(0)
    seen: list[int] = []
    fail = [True]

    def body() -> Any:
        seen.append(s.get())

        def cleanup() -> None:
            if fail[0]:
                fail[0] = False
                raise RuntimeError("cleanup")

        return cleanup

    e = rt.effect(body)
    with pytest.raises(RuntimeError, match="^cleanup$"):
        s.set(1)
    assert seen == [0, 1]  # the body ran in that same flush: live and current, not stale
    assert not e.disposed
    s.set(2)
    assert seen == [0, 1, 2]


def test_rule7_a_cleanup_raising_on_dispose_still_disposes_and_propagates(rt: Runtime) -> None:
    s = rt.signal(0)
    seen: list[int] = []

    def body() -> Any:
        seen.append(s.get())

        def cleanup() -> None:
            raise RuntimeError("cleanup on dispose")

        return cleanup

    e = rt.effect(body)
    with pytest.raises(RuntimeError, match="cleanup on dispose"):
        e.dispose()
    assert e.disposed
    s.set(1)
    assert seen == [0]
    e.dispose()  # a second dispose does nothing, its cleanup is gone


# -- rule 6 / S2: an effect whose creation fails is never live --------------------------


def test_rule6_an_effect_whose_creation_flush_fails_elsewhere_is_disposed(rt: Runtime) -> None:
    s = rt.signal(0)

    def reader() -> None:
        if s.get() == 1:
            raise ValueError("reader saw 1")

    rt.effect(reader)
    writes: list[int] = []

    def writer() -> None:
        writes.append(s.get())
        s.set(1)

    with pytest.raises(ValueError, match="reader saw 1"):
        rt.effect(writer)
    assert writes == [0, 1]  # in its creation flush it saw its own write, as any effect would
    s.set(5)  # the writer would run (and write 1 again) if it were still live
    assert writes == [0, 1]
    assert s.peek() == 5


def test_rule6_an_effect_whose_creation_runs_away_is_disposed_and_later_writes_work(rt: Runtime) -> None:
    s = rt.signal(0)
    cleanups: list[str] = []

    def loop_forever() -> Any:
        s.set(s.get() + 1)
        return lambda: cleanups.append("cleanup")

    with pytest.raises(RunawayEffectError):
        rt.effect(loop_forever, name="loop")
    n = s.peek()
    s.set(n + 10)  # no RunawayEffectError any more: the effect is gone
    assert s.peek() == n + 10
    assert cleanups.count("cleanup") >= 1  # its registered cleanup ran on disposal


# -- S3: an interrupt mid-flush strands nobody ------------------------------------------


def test_rule6_an_interrupt_in_an_effect_leaves_it_and_the_rest_pending_for_the_next_flush(rt: Runtime) -> None:
    s = rt.signal(0)
    other = rt.signal(0)
    log: list[str] = []
    interrupt = [False]

    def first() -> None:
        v = s.get()
        log.append(f"first {v}")
        if interrupt[0]:
            interrupt[0] = False
            raise KeyboardInterrupt

    def second() -> None:
        log.append(f"second {s.get()}")

    rt.effect(first)
    rt.effect(second)
    log.clear()
    interrupt[0] = True
    with pytest.raises(KeyboardInterrupt):
        s.set(1)
    assert log == ["first 1"]
    other.set(1)  # the next set outside a batch flushes what was cut short
    assert log == ["first 1", "first 1", "second 1"]


def test_rule6_an_interrupt_in_a_batch_flush_runs_at_the_next_batch_exit(rt: Runtime) -> None:
    s = rt.signal(0)
    log: list[int] = []
    interrupt = [False]

    def body() -> None:
        log.append(s.get())
        if interrupt[0]:
            interrupt[0] = False
            raise SystemExit

    rt.effect(body)
    interrupt[0] = True
    with pytest.raises(SystemExit):
        with rt.batch():
            s.set(1)
    with rt.batch():
        pass
    assert log == [0, 1, 1]


# -- S4: a computed's equals that raises ------------------------------------------------


def test_rule6_a_raising_equals_fails_the_computed_like_its_fn_and_it_recovers(rt: Runtime) -> None:
    s = rt.signal(0)
    bad = [False]

    def equals(a: int, b: int) -> bool:
        if bad[0]:
            raise ValueError("equals broke")
        return a == b

    c = rt.computed(lambda: s.get() * 10, equals=equals)
    assert c.get() == 0
    bad[0] = True
    s.set(1)
    with pytest.raises(ValueError, match="equals broke"):
        c.get()
    with pytest.raises(ValueError, match="equals broke"):  # every reader gets it, never the stale 0
        c.get()
    bad[0] = False
    s.set(2)
    assert c.get() == 20


def test_rule6_a_raising_signal_equals_fails_the_write_and_changes_nothing(rt: Runtime) -> None:
    def equals(a: int, b: int) -> bool:
        raise ValueError("signal equals broke")

    s = rt.signal(0, equals=equals)
    seen: list[int] = []
    rt.effect(lambda: seen.append(s.get()))
    with pytest.raises(ValueError, match="signal equals broke"):
        s.set(1)
    assert s.peek() == 0 and seen == [0]


# -- S5: an interrupt inside a computed fn ----------------------------------------------


def test_rule6_an_interrupt_in_a_computed_leaves_it_dirty_not_a_cycle(rt: Runtime) -> None:
    s = rt.signal(1)
    interrupt = [True]
    runs: list[int] = []

    def fn() -> int:
        runs.append(s.get())
        if interrupt[0]:
            interrupt[0] = False
            raise KeyboardInterrupt
        return s.get() * 2

    c = rt.computed(fn)
    with pytest.raises(KeyboardInterrupt):
        c.get()
    assert c.get() == 2  # not CycleError: the next read re-runs fn
    assert runs == [1, 1]


def test_rule6_an_interrupt_in_a_computed_read_by_an_effect_reruns_both_later(rt: Runtime) -> None:
    s = rt.signal(1)
    interrupt = [False]

    def fn() -> int:
        if interrupt[0]:
            interrupt[0] = False
            raise KeyboardInterrupt
        return s.get() * 2

    c = rt.computed(fn)
    seen: list[int] = []
    rt.effect(lambda: seen.append(c.get()))
    interrupt[0] = True
    with pytest.raises(KeyboardInterrupt):
        s.set(2)
    s.set(2)  # an equal write still flushes what the interrupt left pending
    assert seen == [2, 4]


# -- rule 9: owner thread and foreign threads -------------------------------------------


def test_rule9_a_loop_run_in_another_thread_owns_the_runtime_and_applies_writes() -> None:
    loop = asyncio.new_event_loop()
    rt = Runtime(scheduler=loop)  # created on this thread, the loop runs in another
    s = rt.signal(0)
    seen: list[tuple[int, int]] = []
    rt.effect(lambda: seen.append((s.get(), threading.get_ident())))
    done = threading.Event()

    async def write_from_the_loop() -> None:
        s.set(1)
        done.set()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(write_from_the_loop())
        loop.run_until_complete(asyncio.sleep(0))

    t = threading.Thread(target=serve)
    t.start()
    t.join(timeout=10)
    loop.close()
    assert done.is_set() and not t.is_alive()
    assert [v for v, _ in seen] == [0, 1]
    assert seen[1][1] == t.ident  # the write ran on the loop's thread, once, without bouncing


def test_rule9_a_write_from_the_creating_thread_while_the_loop_runs_elsewhere_is_handed_over() -> None:
    loop = asyncio.new_event_loop()
    rt = Runtime(scheduler=loop)
    s = rt.signal(0)
    seen: list[tuple[int, int]] = []
    written = loop.create_future()

    def body() -> None:
        v = s.get()
        seen.append((v, threading.get_ident()))
        if v == 1:
            written.set_result(None)

    rt.effect(body)
    started = threading.Event()
    loop.call_soon(started.set)
    t = threading.Thread(target=lambda: loop.run_until_complete(written))
    t.start()
    assert started.wait(10)  # a safety bound only: the loop is running in t from here on
    s.set(1)  # t owns the runtime now: the write is handed to it
    t.join(10)
    loop.close()
    assert written.done()
    assert seen[-1] == (1, t.ident)


def test_rule9_a_foreign_read_runs_isolated_and_does_not_block_owner_writes(rt: Runtime) -> None:
    s = rt.signal(1)
    other = rt.signal(0)
    in_read, release = threading.Event(), threading.Event()
    foreign_results: list[int] = []

    def slow() -> int:
        v = s.get()
        if threading.get_ident() != main:
            in_read.set()
            release.wait(10)
        return v * 10

    main = threading.get_ident()
    c = rt.computed(slow)
    t = threading.Thread(target=lambda: foreign_results.append(c.get()))
    t.start()
    assert in_read.wait(10)
    other.set(1)  # the owner writes while the foreign thread is inside c's fn: no WriteInComputedError
    release.set()
    t.join(10)
    assert other.peek() == 1
    assert foreign_results == [10]
    seen: list[int] = []
    rt.effect(lambda: seen.append(c.get()))
    s.set(2)
    assert seen == [10, 20]  # the foreign read cached and subscribed nothing that breaks the owner


@pytest.mark.parametrize("kind", ["signal", "computed"])
def test_rule9_a_foreign_read_during_a_run_keeps_no_source_of_the_previous_run(rt: Runtime, kind: str) -> None:
    # Found by the checker (a foreign read inside an effect's run): a foreign thread reading, during the
    # owner's run, the node the previous run read at the same position took the fast path that keeps a
    # source, so the effect stayed subscribed to what its new run only read from a foreign thread.
    s = rt.signal(0)
    node: Any = s if kind == "signal" else rt.computed(lambda: s.get() + 1)
    other = rt.signal(0)
    runs: list[int] = []

    def body() -> None:
        if runs:  # later runs read node from a foreign thread first (where the first run read it), then other
            t = threading.Thread(target=node.get)
            t.start()
            t.join(10)
        runs.append(other.get() if runs else node.get())

    rt.effect(body)
    s.set(1)  # node changed: the second run, reading node only from a foreign thread
    assert len(runs) == 2
    s.set(2)
    assert len(runs) == 2  # not subscribed to node any more
    other.set(1)
    assert len(runs) == 3


# -- S9: unobserved computeds are released ----------------------------------------------


def test_rule2_unobserved_computeds_unsubscribe_and_revalidate_on_read(rt: Runtime) -> None:
    s = rt.signal(0)
    runs: list[int] = []

    def fn() -> int:
        runs.append(s.get())
        return s.get() + 1

    dropped = [rt.computed(lambda: s.get() * 2) for _ in range(10_000)]
    for c in dropped:
        c.get()
    del dropped
    assert len(s._subs) == 0  # nothing unobserved stays subscribed
    c = rt.computed(fn)
    assert c.get() == 1
    assert c.get() == 1 and runs == [0]  # nothing written: no re-run
    s.set(5)
    s.set(5)
    assert c.get() == 6 and runs == [0, 5]
    seen: list[int] = []
    e = rt.effect(lambda: seen.append(c.get()))
    assert len(s._subs) == 1  # observed: subscribed through c
    s.set(6)
    assert seen == [6, 7]
    e.dispose()
    assert len(s._subs) == 0
    s.set(7)
    assert c.get() == 8


def test_nodes_without_subscribers_keep_no_subscriber_dict_of_their_own(rt: Runtime) -> None:
    from glitchless.kernel import reactive

    s = rt.signal(0)
    a = rt.computed(lambda: s.get() + 1)
    b = rt.computed(lambda: a.get() * 2)
    assert b.get() == 2
    assert s._subs is a._subs is b._subs is reactive._NO_SUBS  # unobserved: the one shared empty dict
    seen: list[int] = []
    e = rt.effect(lambda: seen.append(b.get()))
    assert list(s._subs) == [a] and list(a._subs) == [b] and list(b._subs) == [e]
    s.set(1)
    assert seen == [2, 4]
    e.dispose()
    assert s._subs is a._subs is b._subs is reactive._NO_SUBS  # the last subscriber gone: the own dicts go too
    assert reactive._NO_SUBS == {}  # subscribing never wrote into the shared one
    s.set(2)
    assert b.get() == 6 and seen == [2, 4]


def test_an_effect_holds_a_cleanup_list_only_while_it_has_cleanups(rt: Runtime) -> None:
    s = rt.signal(0)
    ran: list[str] = []
    quiet = rt.effect(lambda: None)
    assert quiet._cleanups is None  # most effects never register one: no list for them

    def body() -> Any:
        if s.get() == 1:
            rt.on_cleanup(lambda: ran.append("registered"))
            return lambda: ran.append("returned")
        return None

    e = rt.effect(body)
    assert e._cleanups is None
    s.set(1)
    assert e._cleanups is not None and len(e._cleanups) == 2
    s.set(2)
    assert ran == ["registered", "returned"] and e._cleanups is None  # ran, and nothing new registered


def test_subscribing_through_sources_that_lead_back_keeps_every_subscription(rt: Runtime) -> None:
    # Sources that form a loop (built by hand here) must not lose the edge the walk adds to its start.
    a = rt.computed(lambda: 1)
    b = rt.computed(lambda: 2)
    assert a.get() == 1 and b.get() == 2
    a._sources.append(b)
    a._versions.append(b._version)
    b._sources.append(a)
    b._versions.append(a._version)
    e = rt.effect(lambda: a.get())
    assert set(a._subs) == {b, e} and set(b._subs) == {a}


def test_rule2_an_unobserved_chain_revalidates_by_version_without_recomputing(rt: Runtime) -> None:
    s = rt.signal(0)
    unrelated = rt.signal(0)
    runs: list[str] = []

    def a() -> int:
        runs.append("a")
        return s.get()

    ca = rt.computed(a)

    def b() -> int:
        runs.append("b")
        return ca.get() + 1

    cb = rt.computed(b)
    assert cb.get() == 1
    assert runs == ["b", "a"]  # b's fn reads a
    unrelated.set(1)  # a write elsewhere: cb checks its sources' versions, recomputes nothing
    assert cb.get() == 1 and runs == ["b", "a"]
    s.set(3)
    assert cb.get() == 4 and runs == ["b", "a", "a", "b"]


# -- rule 4 / S6: effects re-run by value -----------------------------------------------


def test_rule4_a_value_changed_and_back_in_a_batch_reruns_no_effect(rt: Runtime) -> None:
    s = rt.signal(0)
    c = rt.computed(lambda: s.get() + 1)
    direct: list[int] = []
    through: list[int] = []
    rt.effect(lambda: direct.append(s.get()))
    rt.effect(lambda: through.append(c.get()))
    with rt.batch():
        s.set(1)
        s.set(0)
    assert direct == [0] and through == [1]
    s.set(2)
    assert direct == [0, 2] and through == [1, 3]


def test_rule4_an_effect_that_changes_what_it_read_reruns_by_value(rt: Runtime) -> None:
    s = rt.signal(0)
    seen: list[int] = []

    def body() -> None:
        v = s.get()
        seen.append(v)
        if v == 0:
            s.set(1)
            s.set(0)  # back to what it read: nothing to re-run for

    rt.effect(body)
    assert seen == [0]


# -- rule 7 / S7, S8: disposal takes effect at once -------------------------------------


def test_rule7_a_cleanup_that_disposes_its_own_effect_stops_the_run_about_to_start(rt: Runtime) -> None:
    s = rt.signal(0)
    runs: list[int] = []
    holder: list[Effect] = []

    def body() -> Any:
        runs.append(s.get())
        return lambda: holder[0].dispose()

    holder.append(rt.effect(body))
    s.set(1)
    assert runs == [0]
    assert holder[0].disposed


def test_rule7_a_cleanup_that_disposes_another_pending_effect_stops_it(rt: Runtime) -> None:
    s = rt.signal(0)
    log: list[str] = []

    def first() -> Any:
        log.append(f"first {s.get()}")
        return lambda: victim.dispose()

    rt.effect(first)
    victim = rt.effect(lambda: log.append(f"victim {s.get()}"))
    s.set(1)
    assert log == ["first 0", "victim 0", "first 1"]


def test_rule7_a_computed_disposed_in_a_batch_reaches_its_reader_as_its_error(rt: Runtime) -> None:
    s = rt.signal(0)
    c = rt.computed(lambda: s.get())
    errors: list[str] = []

    def reader() -> None:
        try:
            c.get()
        except DisposedError as exc:
            errors.append(str(exc))

    rt.effect(reader)
    with rt.batch():
        c.dispose()
    assert errors == ["computed was read after dispose()"]


# -- features ---------------------------------------------------------------------------


def test_scope_dispose_disposes_everything_created_inside_newest_first(rt: Runtime) -> None:
    s = rt.signal(0)
    log: list[str] = []
    scope = rt.scope(name="page")
    with scope:
        c = rt.computed(lambda: s.get() + 1)
        rt.effect(lambda: log.append(f"a {c.get()}"))
        inner = rt.scope()
        with inner:
            rt.effect(lambda: (log.append(f"b {s.get()}"), lambda: log.append("b cleanup"))[1])
        rt.on_cleanup(lambda: log.append("scope cleanup"))
    s.set(1)
    log.clear()
    scope.dispose()
    assert log == ["scope cleanup", "b cleanup"]
    assert inner.disposed and scope.disposed
    s.set(2)
    assert log == ["scope cleanup", "b cleanup"]
    with pytest.raises(DisposedError):
        c.get()
    with pytest.raises(ReactiveError, match="scope 'page' was entered after dispose"):
        scope.__enter__()


def test_scope_owns_what_its_effects_create_in_later_runs(rt: Runtime) -> None:
    s = rt.signal(0)
    made: list[Effect] = []
    scope = rt.scope()
    with scope:
        rt.effect(lambda: made.append(rt.effect(lambda: None)) if s.get() else None)
    s.set(1)  # this run happens outside the with block
    assert len(made) == 1
    scope.dispose()
    assert made[0].disposed


def test_scope_disposes_an_async_effect_created_inside_it() -> None:
    async def main() -> tuple[bool, int]:
        rt = runtime()
        scope = rt.scope()
        with scope:
            e = rt.effect(_noop)
        await asyncio.sleep(0)
        scope.dispose()
        return e.disposed, e.runs

    assert simulate(main) == (True, 1)


async def _noop() -> None:
    pass


def test_on_cleanup_registers_cleanups_that_run_in_order_before_the_return_value(rt: Runtime) -> None:
    s = rt.signal(0)
    log: list[str] = []

    def body() -> Any:
        v = s.get()
        rt.on_cleanup(lambda: log.append(f"first {v}"))
        rt.on_cleanup(lambda: log.append(f"second {v}"))
        return lambda: log.append(f"returned {v}")

    e = rt.effect(body)
    s.set(1)
    assert log == ["first 0", "second 0", "returned 0"]
    e.dispose()
    assert log[3:] == ["first 1", "second 1", "returned 1"]


def test_on_cleanup_outside_an_effect_or_scope_and_inside_a_computed_is_refused(rt: Runtime) -> None:
    with pytest.raises(ReactiveError, match="^on_cleanup\\(\\) called outside an effect's run and outside a scope$"):
        rt.on_cleanup(lambda: None)
    c = rt.computed(lambda: rt.on_cleanup(lambda: None))
    with pytest.raises(ReactiveError, match="inside a computed"):
        c.get()


def test_current_effect_is_the_effects_own_handle_during_its_first_run(rt: Runtime) -> None:
    s = rt.signal(0)
    handles: list[Effect | None] = []

    def body() -> None:
        handles.append(rt.current_effect())
        if s.get() == 2:
            me = rt.current_effect()
            assert me is not None
            me.dispose()

    e = rt.effect(body)
    assert handles == [e]
    assert rt.current_effect() is None
    s.set(2)
    assert e.disposed and handles == [e, e]


def test_untracked_as_a_context_manager_subscribes_nothing(rt: Runtime) -> None:
    s = rt.signal(0)
    t = rt.signal(0)
    seen: list[tuple[int, int]] = []

    def body() -> None:
        with rt.untracked():
            a = s.get()
        seen.append((a, t.get()))

    rt.effect(body)
    s.set(1)
    assert seen == [(0, 0)]
    t.set(1)
    assert seen == [(0, 0), (1, 1)]


def test_set_flush_order_runs_an_effect_in_the_given_place(rt: Runtime) -> None:
    s = rt.signal(0)
    log: list[str] = []
    first = rt.effect(lambda: log.append(f"first {s.get()}"))
    second = rt.effect(lambda: log.append(f"second {s.get()}"))
    rt.set_flush_order(second, 0)
    log.clear()
    s.set(1)
    assert log == ["second 1", "first 1"]
    assert not first.disposed


# -- async effects: item 12 and 13 ------------------------------------------------------


def test_async_a_first_step_that_writes_what_it_read_through_a_computed_reruns() -> None:
    async def main() -> list[int]:
        rt = runtime()
        s = rt.signal(0)
        c = rt.computed(lambda: 2 * s.get())
        seen: list[int] = []

        async def body() -> None:
            seen.append(c.get())
            if s.peek() == 0:
                s.set(1)

        rt.effect(body)
        for _ in range(5):
            await asyncio.sleep(0)
        return seen

    assert simulate(main) == [0, 2]


def test_async_a_run_ends_when_its_body_returns_not_a_tick_later() -> None:
    async def main() -> tuple[list[int], list[tuple[int, bool]]]:
        rt = runtime()
        errors = collect_errors()
        loop = asyncio.get_running_loop()
        s = rt.signal(0)
        seen: list[int] = []
        after_write: list[tuple[int, bool]] = []

        def write() -> None:
            # Queued by the body before it returned, so it may run before the task's done
            # callbacks: the run is over all the same, so this write starts run 2 at once.
            s.set(1)
            after_write.append((e.runs, e.is_stale()))

        async def body() -> None:
            v = s.get()
            seen.append(v)
            if v == 0:
                loop.call_soon(write)

        e = rt.effect(body)
        for _ in range(6):
            await asyncio.sleep(0)
        assert errors == []
        return seen, after_write

    seen, after_write = simulate(main)
    assert seen == [0, 1]
    assert after_write == [(2, False)]


def test_cycle_error_is_still_reported_for_a_real_cycle(rt: Runtime) -> None:
    holder: list[Any] = []
    c = rt.computed(lambda: holder[0].get())
    holder.append(c)
    with pytest.raises(CycleError):
        c.get()


def test_rule7_an_interrupted_effect_disposed_before_the_next_flush_never_runs_again(rt: Runtime) -> None:
    s = rt.signal(0)
    log: list[int] = []
    interrupt = [False]

    def body() -> None:
        log.append(s.get())
        if interrupt[0]:
            interrupt[0] = False
            raise KeyboardInterrupt

    e = rt.effect(body)
    interrupt[0] = True
    with pytest.raises(KeyboardInterrupt):
        s.set(1)  # e is left pending, due to run again
    e.dispose()
    s.set(2)
    assert log == [0, 1]


# -- edges of the above -----------------------------------------------------------------


def test_rule6_an_interrupt_in_a_new_effects_first_run_disposes_it_running_its_cleanups(rt: Runtime) -> None:
    s = rt.signal(0)
    log: list[str] = []

    def body() -> None:
        s.get()
        rt.on_cleanup(lambda: log.append("cleanup"))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rt.effect(body)
    assert log == ["cleanup"]
    s.set(1)
    assert log == ["cleanup"]


def test_rule6_a_cleanup_failing_while_an_interrupt_disposes_a_new_effect_is_noted(rt: Runtime) -> None:
    def body() -> None:
        rt.on_cleanup(lambda: (_ for _ in ()).throw(ValueError("cleanup broke")))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        rt.effect(body)
    assert info.value.__notes__ == ["while disposing the new effect: ValueError('cleanup broke')"]


def test_rule6_a_new_effect_whose_run_and_cleanup_both_fail_raises_both(rt: Runtime) -> None:
    def body() -> None:
        rt.on_cleanup(lambda: (_ for _ in ()).throw(ValueError("cleanup broke")))
        raise KeyError("run broke")

    with pytest.raises(ExceptionGroup) as info:
        rt.effect(body)
    assert [type(e) for e in info.value.exceptions] == [KeyError, ValueError]


def test_rule4_a_cleanup_and_the_run_after_it_both_failing_raise_both(rt: Runtime) -> None:
    s = rt.signal(0)

    def body() -> Any:
        if s.get() == 1:
            raise KeyError("run broke")
        return lambda: (_ for _ in ()).throw(ValueError("cleanup broke"))

    rt.effect(body)
    with pytest.raises(ExceptionGroup) as info:
        s.set(1)
    assert [type(e) for e in info.value.exceptions] == [ValueError, KeyError]


def test_rule6_an_interrupt_in_a_cleanup_keeps_the_rest_and_the_run_for_the_next_flush(rt: Runtime) -> None:
    s = rt.signal(0)
    log: list[str] = []
    interrupt = [False]

    def first_cleanup() -> None:
        if interrupt[0]:
            interrupt[0] = False
            raise KeyboardInterrupt
        log.append("first")

    def body() -> None:
        log.append(f"run {s.get()}")
        rt.on_cleanup(first_cleanup)
        rt.on_cleanup(lambda: log.append("second"))

    rt.effect(body)
    interrupt[0] = True
    with pytest.raises(KeyboardInterrupt):
        s.set(1)
    assert log == ["run 0"]
    s.set(1)
    assert log == ["run 0", "second", "run 1"]


def test_on_cleanup_needs_a_callable(rt: Runtime) -> None:
    with pytest.raises(TypeError, match="^on_cleanup needs a callable, got int$"):
        rt.on_cleanup(3)  # type: ignore[arg-type]


def test_rule6_an_interrupt_in_a_computeds_equals_leaves_it_dirty(rt: Runtime) -> None:
    s = rt.signal(0)
    interrupt = [False]

    def equals(a: int, b: int) -> bool:
        if interrupt[0]:
            interrupt[0] = False
            raise KeyboardInterrupt
        return a == b

    c = rt.computed(lambda: s.get() + 1, equals=equals)
    assert c.get() == 1
    interrupt[0] = True
    s.set(1)
    with pytest.raises(KeyboardInterrupt):
        c.get()
    assert c.get() == 2


def test_rule4_an_effect_reruns_when_its_computed_fails_anew_or_recovers(rt: Runtime) -> None:
    s = rt.signal(0)

    def fn() -> int:
        if s.get() > 0:
            raise ValueError(f"bad {s.get()}")
        return 0

    c = rt.computed(fn)
    seen: list[str] = []

    def reader() -> None:
        try:
            seen.append(str(c.get()))
        except ValueError as exc:
            seen.append(str(exc))

    rt.effect(reader)
    s.set(1)
    s.set(2)  # a new error is a new value
    s.set(0)  # and a value after an error too
    assert seen == ["0", "bad 1", "bad 2", "0"]


def test_rule6_an_equals_failing_when_the_flush_compares_is_that_effects_error(rt: Runtime) -> None:
    broken = [False]

    def equals(a: int, b: int) -> bool:
        if broken[0] and a != b:
            raise ValueError("compare broke")
        return a == b

    s = rt.signal(0, equals=equals)
    seen: list[int] = []
    rt.effect(lambda: seen.append(s.get()))
    with pytest.raises(ValueError, match="compare broke"):
        with rt.batch():
            s.set(1)
            broken[0] = True  # the write compared fine; the flush's compare (0 seen, 1 now) fails
    assert seen == [0]


def test_rule9_a_foreign_read_inside_an_owners_run_subscribes_nothing(rt: Runtime) -> None:
    s = rt.signal(0)
    other = rt.signal(0)
    runs: list[int] = []

    def fn() -> int:
        t = threading.Thread(target=other.get)  # read while this fn is the owner's observer
        t.start()
        t.join()
        runs.append(s.get())
        return s.get()

    c = rt.computed(fn)
    rt.effect(c.get)
    other.set(1)
    assert runs == [0]  # c did not come to depend on what the foreign thread read


def test_rule9_a_foreign_peek_of_a_stale_computed_evaluates_it_there_uncached(rt: Runtime) -> None:
    s = rt.signal(2)
    c = rt.computed(lambda: s.get() * 3)
    got: list[int] = []
    t = threading.Thread(target=lambda: got.append(c.peek()))
    t.start()
    t.join()
    assert got == [6]
    assert rt.computed(lambda: 0) is not None


@pytest.mark.parametrize("read", ["get", "peek"])
def test_rule9_a_foreign_read_of_a_cycle_raises_cycle_error_naming_it(rt: Runtime, read: str) -> None:
    # Found by the checker (a cyclic computed read from a foreign thread): the isolated evaluation
    # recursed until Python's limit and raised RecursionError instead.
    c: Any = None
    c = rt.computed(lambda: c.get() + 1, name="loop")
    later = rt.computed(lambda: getattr(c, read)() * 2, name="after")
    got: list[BaseException] = []

    def foreign() -> None:
        try:
            later.get()
        except BaseException as exc:
            got.append(exc)

    t = threading.Thread(target=foreign)
    t.start()
    t.join()
    assert len(got) == 1 and isinstance(got[0], CycleError), got
    assert "'loop'" in str(got[0])
    with pytest.raises(CycleError, match="'loop'"):  # the owner sees the same, and the graph still works
        later.get()
    assert rt.computed(lambda: 1).get() == 1


def test_rule2_a_chain_stops_observing_when_its_last_effect_goes(rt: Runtime) -> None:
    s = rt.signal(0)
    c1 = rt.computed(lambda: s.get() + 1)
    c2 = rt.computed(lambda: c1.get() + 1)
    e = rt.effect(c2.get)
    assert len(s._subs) == 1
    e.dispose()
    assert len(s._subs) == 0 and len(c1._subs) == 0
    s.set(5)
    assert c2.get() == 7
    e2 = rt.effect(c2.get)  # observed again: the whole chain subscribes again
    assert len(s._subs) == 1
    e2.dispose()


def test_scope_run_add_and_a_second_dispose(rt: Runtime) -> None:
    log: list[str] = []
    scope = rt.scope()
    e = scope.run(lambda: rt.effect(lambda: None))
    scope.dispose()
    assert e.disposed
    scope.add(lambda: log.append("late"))  # added after dispose: runs at once
    scope.dispose()
    assert log == ["late"]


def test_scope_dispose_propagates_cleanup_errors_and_the_flush_after_it(rt: Runtime) -> None:
    s = rt.signal(0)
    scope = rt.scope(name="page")
    with scope:
        c = rt.computed(s.get)
        rt.on_cleanup(lambda: (_ for _ in ()).throw(ValueError("scope cleanup broke")))
    rt.effect(c.get)  # outside the scope: it reads the disposed computed at the flush
    with pytest.raises(ExceptionGroup) as info:
        scope.dispose()
    assert info.value.message == "scope 'page': disposing failed"
    assert [type(e) for e in info.value.exceptions] == [ValueError, DisposedError]


def test_rule4_an_effect_disposing_itself_whose_returned_cleanup_fails_raises_it(rt: Runtime) -> None:
    def body() -> Any:
        me = rt.current_effect()
        assert me is not None
        me.dispose()
        return lambda: (_ for _ in ()).throw(ValueError("late cleanup broke"))

    with pytest.raises(ValueError, match="late cleanup broke"):
        rt.effect(body)


def test_async_a_sync_effect_failing_on_a_first_steps_write_is_reported() -> None:
    async def main() -> list[str]:
        rt = runtime()
        errors = collect_errors()
        s = rt.signal(0)

        def reader() -> None:
            if s.get():
                raise ValueError("reader saw the write")

        rt.effect(reader)

        async def body() -> None:
            s.set(1)

        rt.effect(body, name="writer")
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return [f"{e['message']}: {e['exception']}" for e in errors]

    assert simulate(main) == ["async effect 'writer' failed: reader saw the write"]


def test_async_closing_a_runs_coroutine_closes_the_body() -> None:
    async def main() -> list[str]:
        rt = runtime()
        log: list[str] = []
        never = asyncio.get_running_loop().create_future()

        async def body() -> None:
            log.append("started")
            try:
                await never
            finally:
                log.append("closed")

        e = rt.effect(body)
        while not log:
            await asyncio.sleep(0)
        task = [t for t in asyncio.all_tasks() if t.get_name() == "async effect run 1"][0]
        task.get_coro().close()
        e.dispose()
        never.cancel()
        return log

    assert simulate(main) == ["started", "closed"]


def test_rule6_a_new_effect_whose_own_first_run_fails_is_disposed_before_the_flush(rt: Runtime) -> None:
    # Found by the checker: the effect disposed the computed it read, which queued it again; it
    # must not run a second time, since its creation failed and the caller has no handle.
    s = rt.signal(0)
    c = rt.computed(lambda: s.get())
    runs: list[int] = []

    def body() -> None:
        runs.append(c.get())
        c.dispose()
        raise RuntimeError("first run")

    with pytest.raises(RuntimeError, match="first run"):
        rt.effect(body)
    assert runs == [0]
    s.set(1)
    assert runs == [0]


def test_rule4_a_computed_failing_again_the_same_way_reruns_no_effect(rt: Runtime) -> None:
    # Found by the checker: a batch that wrote 1 -> 2 -> 1 made the computed raise a new but
    # equal error, and its effect re-ran although what it saw had not changed.
    s = rt.signal(0)

    def fn() -> int:
        if s.get() == 1:
            raise ValueError("c failed")
        return s.get()

    c = rt.computed(fn)
    seen: list[object] = []

    def body() -> None:
        try:
            seen.append(c.get())
        except ValueError as exc:
            seen.append(exc.args)

    rt.effect(body)
    s.set(1)
    with rt.batch():
        s.set(2)
        s.set(1)
    assert seen == [0, ("c failed",)]
    s.set(3)
    assert seen == [0, ("c failed",), 3]


def test_rule4_a_disposal_error_equal_to_the_one_an_effect_saw_reruns_nothing(rt: Runtime) -> None:
    # Found by the checker: e saw "computed was read after dispose()" through c2; disposing c2
    # gives the same error again, which is no change for e (rule 4, errors of equal type and arguments).
    s = rt.signal(0)
    c1 = rt.computed(lambda: s.get())
    c2 = rt.computed(lambda: c1.get())
    seen: list[object] = []

    def body() -> None:
        try:
            seen.append(c2.get())
        except DisposedError as exc:
            seen.append(exc.args)

    rt.effect(body)
    c1.dispose()
    assert seen == [0, ("computed was read after dispose()",)]
    c2.dispose()
    assert seen == [0, ("computed was read after dispose()",)]


def test_rule5_an_effect_whose_change_check_raised_still_hears_of_later_changes(rt: Runtime) -> None:
    # The flush compares what e saw of a (0) with a's value (2): a's equals raises there, before e's
    # computed source c was looked at. c must not stay stale: a later change of c's input reaches e,
    # whose check then raises again (it still saw a = 0), instead of e never being queued again.
    def picky(old: int, new: int) -> bool:
        if abs(old - new) == 2:
            raise ValueError("values two apart")
        return old == new

    a, b = rt.signal(0, equals=picky), rt.signal(1)
    c = rt.computed(lambda: a.get() + b.get())
    seen: list[tuple[int, int]] = []
    rt.effect(lambda: seen.append((a.get(), c.get())))
    with pytest.raises(ValueError, match="two apart"):
        with rt.batch():
            a.set(1)
            a.set(2)
    with pytest.raises(ValueError, match="two apart"):
        b.set(0)  # c: 1 -> 2, so e is checked again
    a.set(1)  # 1 differs from 0 without raising: e runs
    assert seen == [(0, 1), (1, 1)]


class _Interrupt(BaseException):
    """Stands for KeyboardInterrupt (S3)."""


def test_s3_an_interrupted_effect_that_queued_itself_runs_once_per_round_afterwards(rt: Runtime) -> None:
    # e1 counts s up while `go` is set; its run that reads 1 writes 2 (queuing e1 again) and is then
    # interrupted. It must be pending once, not twice: twice, it ran two rounds' runs in one round at
    # the next flush and e2 never saw the value in between.
    go, s = rt.signal(False), rt.signal(0)
    interrupted: list[int] = []
    seen: list[int] = []

    def count() -> None:
        v = s.get()
        if go.get() and v < 4:
            s.set(v + 1)
        if v == 1 and not interrupted:
            interrupted.append(v)
            raise _Interrupt

    rt.effect(count)
    rt.effect(lambda: seen.append(s.get()))
    with pytest.raises(_Interrupt):
        go.set(True)
    go.set(True)  # an equal write: runs what the interrupt left pending
    # e2's turn after e1 read 1 was cut short; then e1 reads 2 and writes 3, e2 reads 3, and so on.
    assert seen == [0, 3, 4]
