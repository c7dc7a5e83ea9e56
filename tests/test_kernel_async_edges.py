"""Async effects' edges: the direct constructor's defaults, cut-off inputs, batches across awaits, cleanups."""

from __future__ import annotations

import asyncio
from typing import Any

from async_support import collect_errors, runtime

from glitchless.fakes import simulate
from glitchless.kernel import AsyncEffect, is_stale


def test_an_async_effect_built_directly_lets_a_superseded_run_finish_by_default() -> None:
    async def main() -> list[str]:
        rt = runtime()
        s = rt.signal(0)
        log: list[str] = []

        async def body() -> None:
            v = s.get()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                log.append(f"cancelled {v}")
                raise
            log.append(f"finished {v} stale={is_stale()}")

        AsyncEffect(rt, body)
        await asyncio.sleep(1)
        s.set(1)
        await asyncio.sleep(30)
        return log

    assert simulate(main) == ["finished 0 stale=True", "finished 1 stale=False"]


def test_an_async_effect_whose_computed_input_settles_unchanged_is_not_superseded() -> None:
    async def main() -> tuple[list[str], int]:
        rt = runtime()
        s = rt.signal(0)
        parity = rt.computed(lambda: s.get() % 2)
        log: list[str] = []

        async def body() -> None:
            p = parity.get()
            await asyncio.sleep(10)
            log.append(f"parity {p} stale={is_stale()}")

        e = rt.effect(body)
        await asyncio.sleep(1)
        s.set(2)  # parity stays 0
        await asyncio.sleep(30)
        s.set(4)
        await asyncio.sleep(30)
        return log, e.runs

    assert simulate(main) == (["parity 0 stale=False"], 1)


def test_a_batch_held_across_an_await_in_an_async_body_flushes_only_when_it_exits() -> None:
    async def main() -> list[str]:
        rt = runtime()
        s = rt.signal(0)
        other = rt.signal(0)
        log: list[str] = []
        rt.effect(lambda: log.append(f"sync sees {other.get()}"))

        async def body() -> None:
            with rt.batch():
                s.get()
                other.set(1)
                log.append("batch open")
                await asyncio.sleep(1)
                log.append("batch closing")

        rt.effect(body)
        await asyncio.sleep(5)
        return log

    assert simulate(main) == ["sync sees 0", "batch open", "batch closing", "sync sees 1"]


def test_a_cleanup_returned_by_one_run_only_runs_once_and_later_runs_report_nothing() -> None:
    async def main() -> tuple[list[int], list[dict[str, Any]], int]:
        rt = runtime()
        errors = collect_errors()
        s = rt.signal(0)
        cleaned: list[int] = []

        async def body() -> Any:
            v = s.get()
            if v == 0:
                return lambda: cleaned.append(v)
            return None

        e = rt.effect(body, name="job")
        await asyncio.sleep(1)
        s.set(1)
        await asyncio.sleep(1)
        s.set(2)
        await asyncio.sleep(1)
        e.dispose()
        await asyncio.sleep(1)
        return cleaned, errors, e.runs

    assert simulate(main) == ([0], [], 3)


def test_an_async_effects_repr_shows_its_name_or_nothing() -> None:
    async def main() -> list[str]:
        rt = runtime()

        async def body() -> None:
            pass

        return [repr(rt.effect(body, name="job")), repr(rt.effect(body))]

    assert simulate(main) == ["AsyncEffect(job)", "AsyncEffect()"]


def test_an_async_effect_reports_disposed_as_a_bool_false_until_disposed() -> None:
    async def main() -> tuple[object, object]:
        rt = runtime()
        e = rt.effect(_noop)
        before = e.disposed
        e.dispose()
        return before, e.disposed

    before, after = simulate(main)
    assert before is False and after is True


def test_a_run_cancelled_by_anyone_but_a_supersede_owes_no_rerun() -> None:
    async def main() -> tuple[list[str], int]:
        rt = runtime()
        s = rt.signal(0)
        log: list[str] = []
        tasks: list[asyncio.Task[Any]] = []

        async def body() -> None:
            v = s.get()
            task = asyncio.current_task()
            assert task is not None
            tasks.append(task)
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                log.append(f"cancelled {v}")
                raise
            log.append(f"finished {v}")

        e = rt.effect(body)
        await asyncio.sleep(1)
        tasks[0].cancel()  # not a supersede: the effect's inputs did not change
        await asyncio.sleep(30)
        return log, e.runs

    assert simulate(main) == (["cancelled 0"], 1)


class _FailingTasks:
    """A scheduler over the running loop whose create_task can be made to fail."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.fail = False

    def call_soon_threadsafe(self, callback: Any, *args: Any) -> object:
        return self.loop.call_soon_threadsafe(callback, *args)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        self.loop.call_exception_handler(context)

    def create_task(self, coro: Any, *, name: str | None = None, context: Any = None) -> asyncio.Task[Any]:
        if self.fail:
            coro.close()
            raise RuntimeError("no new tasks")
        return self.loop.create_task(coro, name=name, context=context)


def test_an_async_effect_whose_next_task_cannot_be_created_still_disposes_cleanly() -> None:
    from glitchless.kernel import Runtime

    async def main() -> tuple[str, list[int], bool]:
        scheduler = _FailingTasks(asyncio.get_running_loop())
        rt = Runtime(scheduler=scheduler)
        s = rt.signal(0)
        cleaned: list[int] = []

        async def body() -> Any:
            v = s.get()
            return lambda: cleaned.append(v)

        e = rt.effect(body, cancel_on_supersede=True)
        await asyncio.sleep(1)
        scheduler.fail = True
        try:
            s.set(1)
            raised = ""
        except RuntimeError as exc:
            raised = str(exc)
        e.dispose()  # the run that never got a task holds nothing to cancel
        return raised, cleaned, e.disposed

    assert simulate(main) == ("no new tasks", [0], True)


async def _noop() -> None:
    pass


def test_an_async_effects_cleanup_runs_under_an_effect_carrying_its_name() -> None:
    async def main() -> list[str | None]:
        rt = runtime()
        s = rt.signal(0)
        names: list[str | None] = []

        def cleanup() -> None:
            current = rt.current_effect()
            names.append(None if current is None else current.name)

        async def body() -> Any:
            s.get()
            return cleanup

        rt.effect(body, name="job")
        await asyncio.sleep(1)
        s.set(1)  # the cleanup runs before run 2 starts
        await asyncio.sleep(1)
        return names

    assert simulate(main) == ["job"]
