"""Async effects on the deterministic scheduler: supersede, is_stale, cancellation, threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from async_support import collect_errors, runtime

from glitchless.fakes import FakeClock, Trace, simulate
from glitchless.kernel import AsyncEffect, ReactiveError, Runtime, is_stale


def now() -> float:
    return asyncio.get_running_loop().time()


def test_async_effect_body_runs_as_its_own_task_on_the_scheduler() -> None:
    async def main() -> tuple[list[str], bool, bool]:
        rt = runtime()
        seen: list[str] = []
        tasks: list[asyncio.Task[Any] | None] = []

        async def body() -> None:
            tasks.append(asyncio.current_task())
            seen.append("ran")

        effect = rt.effect(body, name="e")
        before = list(seen)  # the body is scheduled, not run inline
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return before + seen, isinstance(effect, AsyncEffect), tasks[0] is not asyncio.current_task()

    assert simulate(main) == (["ran"], True, True)


def test_async_effect_reruns_when_a_dependency_changes_after_it_finished() -> None:
    async def main() -> list[int]:
        rt = runtime()
        s = rt.signal(1)
        seen: list[int] = []

        async def body() -> None:
            seen.append(s.get())
            await asyncio.sleep(1)

        rt.effect(body)
        await asyncio.sleep(5)
        s.set(2)
        await asyncio.sleep(5)
        s.set(2)  # equal: nothing runs
        await asyncio.sleep(5)
        return seen

    assert simulate(main) == [1, 2]


def test_change_mid_await_reruns_exactly_once_after_the_inflight_run_with_the_newest_value() -> None:
    async def main() -> tuple[list[tuple[str, int, float]], int]:
        rt = runtime()
        s = rt.signal(0)
        log: list[tuple[str, int, float]] = []

        async def body() -> None:
            v = s.get()
            log.append(("start", v, now()))
            await asyncio.sleep(10)
            log.append(("end", v, now()))

        effect = rt.effect(body)
        for v in (1, 2, 3):
            await asyncio.sleep(1)
            s.set(v)
        await asyncio.sleep(60)
        return log, effect.runs

    log, runs = simulate(main, seed=5)
    assert log == [("start", 0, 0.0), ("end", 0, 10.0), ("start", 3, 10.0), ("end", 3, 20.0)]
    assert runs == 2


def test_is_stale_turns_true_the_moment_a_newer_run_is_scheduled() -> None:
    async def main() -> list[tuple[str, int, bool]]:
        rt = runtime()
        s = rt.signal(0)
        log: list[tuple[str, int, bool]] = []

        async def body() -> None:
            v = s.get()
            log.append(("start", v, is_stale()))
            await asyncio.sleep(10)
            log.append(("after await", v, is_stale()))

        effect = rt.effect(body)
        await asyncio.sleep(1)
        log.append(("handle before set", 0, effect.is_stale()))
        s.set(1)
        log.append(("handle right after set", 0, effect.is_stale()))
        await asyncio.sleep(30)
        log.append(("handle at rest", 1, effect.is_stale()))
        return log

    assert simulate(main) == [
        ("start", 0, False),
        ("handle before set", 0, False),
        ("handle right after set", 0, True),
        ("after await", 0, True),
        ("start", 1, False),
        ("after await", 1, False),
        ("handle at rest", 1, False),
    ]


def test_cancel_on_supersede_cancels_the_body_at_its_current_await_and_reruns_with_the_latest() -> None:
    clock = FakeClock()

    async def main() -> list[tuple[str, int, float]]:
        rt = runtime()
        s = rt.signal(0)
        log: list[tuple[str, int, float]] = []

        async def body() -> None:
            v = s.get()
            log.append(("start", v, clock.now()))
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                log.append(("cancelled", v, clock.now()))
                raise
            log.append(("end", v, clock.now()))

        effect = rt.effect(body, cancel_on_supersede=True)
        await asyncio.sleep(1)
        s.set(1)
        s.set(2)
        await asyncio.sleep(30)
        assert effect.runs == 2
        return log

    assert simulate(main, clock=clock) == [
        ("start", 0, 0.0),
        ("cancelled", 0, 1.0),
        ("start", 2, 1.0),
        ("end", 2, 11.0),
    ]


def test_only_reads_before_the_first_await_are_tracked() -> None:
    async def main() -> list[tuple[int, int]]:
        rt = runtime()
        tracked = rt.signal(0)
        untracked = rt.signal(0)
        seen: list[tuple[int, int]] = []

        async def body() -> None:
            a = tracked.get()
            await asyncio.sleep(0)
            seen.append((a, untracked.get()))

        rt.effect(body)
        await asyncio.sleep(1)
        untracked.set(5)  # read after the first suspension: no re-run
        await asyncio.sleep(1)
        tracked.set(1)
        await asyncio.sleep(1)
        return seen

    assert simulate(main) == [(0, 0), (1, 5)]


def test_dependencies_are_recollected_on_every_run() -> None:
    async def main() -> list[str]:
        rt = runtime()
        use_a = rt.signal(True)
        a = rt.signal("a0")
        b = rt.signal("b0")
        seen: list[str] = []

        async def body() -> None:
            seen.append(a.get() if use_a.get() else b.get())
            await asyncio.sleep(1)

        rt.effect(body)
        await asyncio.sleep(2)
        b.set("b1")  # not read yet: nothing
        await asyncio.sleep(2)
        use_a.set(False)
        await asyncio.sleep(2)
        a.set("a1")  # no longer read: nothing
        await asyncio.sleep(2)
        b.set("b2")
        await asyncio.sleep(2)
        return seen

    assert simulate(main) == ["a0", "b1", "b2"]


def test_first_step_reads_are_glitch_free_through_a_diamond() -> None:
    async def main() -> list[tuple[int, int]]:
        rt = runtime()
        s = rt.signal(1)
        left = rt.computed(lambda: s.get() * 2)
        right = rt.computed(lambda: s.get() * 3)
        seen: list[tuple[int, int]] = []

        async def body() -> None:
            seen.append((left.get(), right.get()))
            await asyncio.sleep(1)

        rt.effect(body)
        await asyncio.sleep(2)
        s.set(2)
        await asyncio.sleep(2)
        return seen

    assert simulate(main) == [(2, 3), (4, 6)]


def test_a_change_before_the_first_step_needs_no_rerun() -> None:
    async def main() -> tuple[list[int], int]:
        rt = runtime()
        s = rt.signal(0)
        seen: list[int] = []

        async def body() -> None:
            seen.append(s.get())

        effect = rt.effect(body)
        s.set(7)  # the first step has not run yet; it will read 7
        await asyncio.sleep(1)
        return seen, effect.runs

    assert simulate(main) == ([7], 1)


def test_a_first_step_that_writes_what_it_read_is_rerun_until_settled() -> None:
    async def main() -> list[int]:
        rt = runtime()
        s = rt.signal(0)
        seen: list[int] = []

        async def body() -> None:
            v = s.get()
            seen.append(v)
            if v < 3:
                s.set(v + 1)
            await asyncio.sleep(1)

        rt.effect(body)
        await asyncio.sleep(10)
        return seen

    assert simulate(main) == [0, 1, 2, 3]


def test_per_run_cleanup_closes_the_previous_resource_before_the_next_and_the_last_on_dispose() -> None:
    async def main() -> tuple[list[str], int]:
        rt = runtime()
        s = rt.signal(0)
        log: list[str] = []
        open_resources = 0

        async def body() -> Callable[[], None]:
            nonlocal open_resources
            v = s.get()
            open_resources += 1
            log.append(f"open {v}")
            await asyncio.sleep(1)

            def close() -> None:
                nonlocal open_resources
                open_resources -= 1
                log.append(f"close {v}")

            return close

        effect = rt.effect(body)
        await asyncio.sleep(2)
        s.set(1)
        await asyncio.sleep(2)
        effect.dispose()
        effect.dispose()
        s.set(2)
        await asyncio.sleep(2)
        return log, open_resources

    assert simulate(main) == (["open 0", "close 0", "open 1", "close 1"], 0)


def test_dispose_cancels_the_inflight_run_and_it_never_runs_again() -> None:
    async def main() -> tuple[list[str], bool]:
        rt = runtime()
        s = rt.signal(0)
        log: list[str] = []

        async def body() -> None:
            v = s.get()
            log.append(f"start {v}")
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                log.append(f"cancelled {v} stale={is_stale()}")
                raise
            log.append(f"end {v}")

        effect = rt.effect(body)
        await asyncio.sleep(1)
        effect.dispose()
        s.set(1)
        await asyncio.sleep(20)
        return log, effect.disposed

    assert simulate(main) == (["start 0", "cancelled 0 stale=True"], True)


def test_a_failing_body_is_reported_and_the_effect_recovers_on_the_next_change() -> None:
    async def main() -> tuple[list[int], list[str]]:
        rt = runtime()
        errors = collect_errors()
        s = rt.signal(0)
        seen: list[int] = []

        async def body() -> None:
            v = s.get()
            await asyncio.sleep(1)
            if v == 1:
                raise ValueError(f"bad value {v}")
            seen.append(v)

        rt.effect(body, name="fragile")
        await asyncio.sleep(2)
        s.set(1)
        await asyncio.sleep(2)
        s.set(2)
        await asyncio.sleep(2)
        return seen, [f"{c['message']}: {c['exception']}" for c in errors]

    assert simulate(main) == ([0, 2], ["async effect 'fragile' failed: bad value 1"])


class RefusingLoop:
    """The running loop, except that create_task raises once `refuse` is set (as a closed loop's does)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.refuse = False

    def call_soon_threadsafe(self, callback: Callable[..., object], *args: Any) -> object:
        return self.loop.call_soon_threadsafe(callback, *args)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        self.loop.call_exception_handler(context)

    def create_task(self, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        if self.refuse:
            raise RuntimeError("loop refuses new tasks")
        return self.loop.create_task(coro, **kwargs)


def test_a_scheduler_that_refuses_a_run_disposes_the_effect_and_the_error_propagates() -> None:
    async def main() -> tuple[str, bool, list[str], int, list[int]]:
        loop = RefusingLoop()
        rt = Runtime(scheduler=loop)
        s = rt.signal(0)
        seen: list[int] = []
        closed: list[str] = []

        async def body() -> Callable[[], None]:
            seen.append(s.get())
            return lambda: closed.append("cleanup")

        effect = rt.effect(body, name="e")
        await asyncio.sleep(1)
        loop.refuse = True
        with pytest.raises(RuntimeError) as info:
            s.set(1)
        loop.refuse = False
        s.set(2)  # a disposed effect never runs again, and the graph still takes writes
        await asyncio.sleep(1)
        return str(info.value), effect.disposed, closed, effect.runs, seen

    assert simulate(main) == ("loop refuses new tasks", True, ["cleanup"], 2, [0])


def test_a_refused_rerun_after_an_inflight_run_is_reported_and_leaves_the_effect_disposed() -> None:
    async def main() -> tuple[bool, list[str], list[int]]:
        loop = RefusingLoop()
        rt = Runtime(scheduler=loop)
        errors = collect_errors()
        s = rt.signal(0)
        seen: list[int] = []

        async def body() -> None:
            seen.append(s.get())
            await asyncio.sleep(1)

        effect = rt.effect(body, name="e")
        await asyncio.sleep(0.5)
        s.set(1)  # supersedes the run in flight: the re-run starts when it ends, and is refused
        loop.refuse = True
        await asyncio.sleep(2)
        return effect.disposed, [str(c.get("exception")) for c in errors], seen

    disposed, errors, seen = simulate(main)
    assert disposed and seen == [0]
    assert errors == ["loop refuses new tasks"]


def test_an_unhandled_body_failure_fails_the_simulation() -> None:
    async def main() -> None:
        rt = runtime()

        async def body() -> None:
            raise RuntimeError("effect blew up")

        rt.effect(body)
        await asyncio.sleep(1)

    with pytest.raises(ExceptionGroup) as info:
        simulate(main)
    assert info.group_contains(RuntimeError, match="effect blew up")


def test_async_effect_needs_a_scheduler_and_options_are_checked() -> None:
    async def body() -> None:
        pass

    with pytest.raises(ReactiveError, match="scheduler"):
        Runtime().effect(body)
    sync_fn: Any = lambda: None  # the option is refused at run time for sync bodies
    with pytest.raises(TypeError, match="async effects only"):
        Runtime().effect(sync_fn, cancel_on_supersede=True)
    with pytest.raises(ReactiveError, match="outside"):
        is_stale()


def test_sync_effects_are_unchanged_by_the_async_hook() -> None:
    rt = Runtime()
    s = rt.signal(1)
    seen: list[int] = []
    e = rt.effect(lambda: seen.append(s.get()))
    s.set(2)
    e.dispose()
    s.set(3)
    assert seen == [1, 2]


def test_a_foreign_thread_write_never_runs_an_effect_on_that_thread() -> None:
    async def main() -> tuple[set[int], set[int], int, int, int]:
        loop_thread = threading.get_ident()
        rt = runtime()
        s = rt.signal(0, name="config")
        sync_threads: set[int] = set()
        async_threads: set[int] = set()
        last_seen: list[int] = []
        arrived = asyncio.Event()

        def sync_body() -> None:
            last_seen.append(s.get())
            sync_threads.add(threading.get_ident())
            if s.peek() == 100:
                arrived.set()

        async def async_body() -> None:
            s.get()
            async_threads.add(threading.get_ident())

        rt.effect(sync_body)
        rt.effect(async_body)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        foreign: list[int] = []

        def write_from_foreign_thread() -> None:
            foreign.append(threading.get_ident())
            for v in range(1, 101):
                s.set(v)

        thread = threading.Thread(target=write_from_foreign_thread)
        thread.start()
        await asyncio.to_thread(thread.join)
        await asyncio.wait_for(arrived.wait(), timeout=60)  # virtual seconds: fails, never hangs
        await asyncio.sleep(1)
        return sync_threads, async_threads, loop_thread, foreign[0], last_seen[-1]

    sync_threads, async_threads, loop_thread, foreign_thread, last = simulate(main)
    assert foreign_thread != loop_thread
    assert sync_threads == {loop_thread}
    assert async_threads == {loop_thread}
    assert last == 100  # nothing lost: the last write wins


def test_same_seed_same_async_effect_trace_and_seeds_explore_orders() -> None:
    def run(seed: int) -> str:
        clock = FakeClock()
        trace = Trace(clock)

        async def main() -> None:
            rt = Runtime(scheduler=asyncio.get_running_loop())
            s = rt.signal(0)

            def make(name: str) -> Callable[[], Any]:
                async def body() -> None:
                    v = s.get()
                    trace.record("start", effect=name, v=v, stale=is_stale())
                    await asyncio.sleep(1)
                    trace.record("end", effect=name, v=v, stale=is_stale())

                return body

            for name in "abc":
                rt.effect(make(name), name=name)
            for v in range(1, 4):
                await asyncio.sleep(0.5)
                s.set(v)
            await asyncio.sleep(5)

        simulate(main, seed=seed, clock=clock)
        return trace.to_jsonl()

    assert run(9) == run(9)
    assert len({run(seed) for seed in range(10)}) >= 2
