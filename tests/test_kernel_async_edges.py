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
