"""Async effects' edges: exact refusals, task names, what the exception handler is told, cleanups."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from async_support import collect_errors, runtime

from glitchless.fakes import simulate
from glitchless.kernel import AsyncEffect, ReactiveError, Runtime, is_stale


def exactly(text: str) -> str:
    return "^" + re.escape(text) + "$"


async def noop() -> None:
    pass


def test_an_async_effect_without_a_task_making_scheduler_is_refused_naming_it() -> None:
    with pytest.raises(ReactiveError, match=exactly(
        "async effect 'job' needs a scheduler that can create tasks: build the runtime as Runtime(scheduler=loop)"
    )):
        Runtime().effect(noop, name="job")

    class OnlyThreadsafe:
        def call_soon_threadsafe(self, callback: Any, *args: Any) -> None:
            pass

    with pytest.raises(ReactiveError, match=exactly(
        "async effect needs a scheduler that can create tasks: build the runtime as Runtime(scheduler=loop)"
    )):
        Runtime(scheduler=OnlyThreadsafe()).effect(noop)


def test_an_async_effect_needs_an_async_def_body() -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match=exactly("async effect fn must be an async def function, got function")):
            AsyncEffect(runtime(), lambda: None)  # type: ignore[arg-type,return-value]

    simulate(main)


def test_is_stale_outside_a_body_is_refused_with_the_reason() -> None:
    with pytest.raises(ReactiveError, match=exactly("is_stale() called outside the body of an async effect")):
        is_stale()


def test_runs_are_tasks_named_after_the_effect_and_numbered() -> None:
    async def main() -> list[str]:
        rt = runtime()
        s = rt.signal(0)
        names: list[str] = []

        async def body() -> None:
            s.get()
            task = asyncio.current_task()
            assert task is not None
            names.append(task.get_name())

        rt.effect(body, name="sync-job")
        rt.effect(noop)
        rt.effect(body)
        await asyncio.sleep(1)
        s.set(1)
        await asyncio.sleep(1)
        return sorted(names)

    assert simulate(main) == ["async effect run 1", "async effect run 2", "sync-job run 1", "sync-job run 2"]


def test_a_failing_body_is_reported_with_its_task_and_a_failing_cleanup_without_one() -> None:
    async def main() -> list[tuple[str, str, Any]]:
        rt = runtime()
        errors = collect_errors()
        s = rt.signal(0)
        tasks: list[Any] = []

        async def body() -> Any:
            v = s.get()
            tasks.append(asyncio.current_task())
            if v == 1:
                raise ValueError("body broke")

            def cleanup() -> None:
                raise KeyError("cleanup broke")

            return cleanup

        rt.effect(body, name="job")
        await asyncio.sleep(1)
        s.set(1)  # the cleanup of run 1 fails as run 2 starts; run 2 fails
        await asyncio.sleep(1)
        return [(c["message"], repr(c["exception"]), c.get("task", "no task")) for c in errors] + [("tasks", "", tasks)]

    got = simulate(main)
    tasks = got[-1][2]
    assert got[:-1] == [
        ("async effect 'job' failed", "KeyError('cleanup broke')", "no task"),
        ("async effect 'job' failed", "ValueError('body broke')", tasks[1]),
    ]


def test_a_cleanup_handed_back_by_a_run_that_outlives_dispose_runs_at_once() -> None:
    async def main() -> list[str]:
        rt = runtime()
        log: list[str] = []

        async def body() -> Any:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:  # swallows the dispose's cancel and still returns a cleanup
                return lambda: log.append("cleaned")
            return None

        e = rt.effect(body)
        await asyncio.sleep(1)
        e.dispose()
        await asyncio.sleep(1)
        return log

    assert simulate(main) == ["cleaned"]


def test_a_disposed_effect_reports_stale_and_its_cleanup_is_gone() -> None:
    async def main() -> tuple[bool, bool, list[str]]:
        rt = runtime()
        log: list[str] = []

        async def body() -> Any:
            return lambda: log.append("cleaned")

        e = rt.effect(body)
        await asyncio.sleep(1)
        e.dispose()
        e.dispose()
        return e.disposed, e.is_stale(), log

    assert simulate(main) == (True, False, ["cleaned"])
