"""The deterministic loop: virtual time, stock asyncio on top, seeded same-tick ordering."""

from __future__ import annotations

import asyncio
import os
import selectors
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glitchless.fakes import (
    DeterministicLoop,
    FakeClock,
    FifoChooser,
    FunctionChooser,
    ReplayChooser,
    SeededChooser,
    SimulationStalled,
    current_clock,
    explore,
    simulate,
)

REPO = Path(__file__).resolve().parent.parent


def now() -> float:
    return asyncio.get_running_loop().time()


# -- virtual time -----------------------------------------------------------


def test_hour_long_sleep_takes_exactly_3600_virtual_seconds_and_never_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> tuple[float, float]:
        start = now()
        await asyncio.sleep(3600)
        return start, now()

    timeouts: list[float | None] = []  # of every select() the loop makes: a positive one waits on the wall clock
    select = selectors.DefaultSelector.select

    def recording(self: selectors.BaseSelector, timeout: float | None = None) -> Any:
        timeouts.append(timeout)
        return select(self, timeout)  # type: ignore[arg-type]

    monkeypatch.setattr(selectors.DefaultSelector, "select", recording)
    start, end = simulate(main)
    assert end - start == 3600
    assert timeouts and all(t == 0 for t in timeouts)


def test_simulated_day_of_minute_ticks_ends_at_exactly_one_day() -> None:
    async def main() -> tuple[int, float]:
        ticks = 0
        for _ in range(24 * 60):
            await asyncio.sleep(60)
            ticks += 1
        return ticks, now()

    assert simulate(main) == (1440, 86400.0)


def test_loop_time_starts_at_the_clock_and_the_clock_keeps_the_end_time() -> None:
    clock = FakeClock(start=100.0)

    async def main() -> tuple[float, float]:
        start = now()
        await asyncio.sleep(5)
        return start, current_clock().now()

    assert simulate(main, clock=clock) == (100.0, 105.0)
    assert clock.now() == 105.0


def test_wait_for_times_out_in_virtual_time_and_cancels_the_inner_task() -> None:
    async def main() -> tuple[float, bool]:
        cancelled = False

        async def slow() -> None:
            nonlocal cancelled
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled = True
                raise

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(slow(), timeout=5)
        return now(), cancelled

    assert simulate(main) == (5.0, True)


def test_wait_for_returns_the_result_when_it_arrives_before_the_timeout() -> None:
    async def main() -> tuple[str, float]:
        async def quick() -> str:
            await asyncio.sleep(3)
            return "done"

        return await asyncio.wait_for(quick(), timeout=5), now()

    assert simulate(main) == ("done", 3.0)


def test_asyncio_timeout_fires_in_virtual_time() -> None:
    async def main() -> float:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(2.5):
                await asyncio.sleep(1000)
        return now()

    assert simulate(main) == 2.5


def test_call_later_and_call_at_fire_at_their_virtual_deadlines() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        fired: list[tuple[str, float]] = []
        done = asyncio.Event()
        loop.call_later(30, lambda: fired.append(("later", loop.time())))
        loop.call_at(10, lambda: fired.append(("at", loop.time())))
        cancelled = loop.call_later(20, lambda: fired.append(("cancelled", loop.time())))
        cancelled.cancel()
        loop.call_at(31, done.set)
        await done.wait()
        return fired

    assert simulate(main) == [("at", 10.0), ("later", 30.0)]


def test_event_queue_and_gather_work_unchanged() -> None:
    async def main() -> tuple[list[int], list[str], float]:
        queue: asyncio.Queue[int] = asyncio.Queue()
        ready = asyncio.Event()

        async def producer() -> None:
            await ready.wait()
            for i in range(3):
                await asyncio.sleep(1)
                await queue.put(i)

        async def consumer() -> list[int]:
            return [await queue.get() for _ in range(3)]

        async def opener() -> str:
            await asyncio.sleep(2)
            ready.set()
            return "opened"

        _, got, opened = await asyncio.gather(producer(), consumer(), opener())
        return got, [opened], now()

    assert simulate(main, seed=11) == ([0, 1, 2], ["opened"], 5.0)


def test_to_thread_result_arrives_without_virtual_time_passing() -> None:
    async def main() -> tuple[int, float]:
        return await asyncio.to_thread(sum, [1, 2, 3]), now()

    assert simulate(main) == (6, 0.0)


def test_a_deadlock_raises_simulation_stalled_instead_of_hanging() -> None:
    async def main() -> None:
        await asyncio.Event().wait()

    with pytest.raises(SimulationStalled, match="Task-1"):
        simulate(main)


def test_simulate_returns_the_result_and_raises_mains_exception() -> None:
    async def ok() -> str:
        return "result"

    async def boom() -> None:
        await asyncio.sleep(1)
        raise KeyError("boom")

    assert simulate(ok) == "result"
    with pytest.raises(KeyError, match="boom"):
        simulate(boom)


def test_an_unretrieved_task_exception_is_raised_not_swallowed() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(lambda: 1 / 0)
        await asyncio.sleep(1)

    with pytest.raises(ExceptionGroup) as info:
        simulate(main)
    assert info.group_contains(ZeroDivisionError)


def test_tasks_left_running_are_cancelled_in_creation_order() -> None:
    order: list[str] = []

    async def main() -> None:
        async def worker(name: str) -> None:
            try:
                await asyncio.sleep(100)
            except asyncio.CancelledError:
                order.append(name)
                raise

        for name in "abcdef":
            asyncio.create_task(worker(name))
        await asyncio.sleep(1)

    simulate(main, chooser=FifoChooser())
    assert order == list("abcdef")


def test_task_names_are_numbered_per_simulation() -> None:
    async def main() -> list[str]:
        tasks = [asyncio.create_task(asyncio.sleep(0)) for _ in range(2)]
        await asyncio.gather(*tasks)
        current = asyncio.current_task()
        assert current is not None
        return [current.get_name()] + [t.get_name() for t in tasks]

    assert simulate(main) == simulate(main) == ["Task-1", "Task-2", "Task-3"]


# -- seeded interleaving ------------------------------------------------------

# A program whose output is the order its steps ran in. Shared by the in-process
# and the subprocess tests, so both run the very same code.
PROGRAM = """
import asyncio
from glitchless.fakes import simulate

async def main():
    log = []
    async def worker(name):
        for step in range(3):
            log.append(f"{name}{step}")
            await asyncio.sleep(0 if step == 0 else 1)
    await asyncio.gather(*(worker(n) for n in "abcd"))
    return " ".join(log)

def run(seed):
    return simulate(main, seed=seed)
"""


def load_program() -> Callable[[], Coroutine[Any, Any, str]]:
    """PROGRAM's `main`, run in this process."""
    namespace: dict[str, Any] = {}
    exec(PROGRAM, namespace)
    return cast(Callable[[], Coroutine[Any, Any, str]], namespace["main"])


def run_program(seed: int) -> str:
    return simulate(load_program(), seed=seed)


def test_two_tasks_ready_in_one_tick_run_in_a_seed_dependent_order() -> None:
    async def main() -> str:
        log: list[str] = []

        async def task(name: str) -> None:
            log.append(name)

        await asyncio.gather(task("a"), task("b"))
        return "".join(log)

    orders = {simulate(main, seed=seed) for seed in range(20)}
    assert orders == {"ab", "ba"}


def test_callbacks_queued_by_one_origin_keep_asyncio_fifo_order_under_every_seed() -> None:
    async def main() -> tuple[list[int], str]:
        loop = asyncio.get_running_loop()
        plain: list[int] = []
        for i in range(10):
            loop.call_soon(plain.append, i)
        log: list[str] = []

        async def task(name: str) -> None:
            log.append(name)

        await asyncio.gather(task("a"), task("b"), task("c"))
        return plain, "".join(log)

    results = [simulate(main, seed=seed) for seed in range(20)]
    assert all(plain == list(range(10)) for plain, _ in results)
    assert len({order for _, order in results}) >= 2  # while tasks still interleave


def test_clock_timers_due_together_keep_creation_order_inside_simulate() -> None:
    async def main() -> None:
        await asyncio.sleep(10)

    for seed in range(10):
        fired: list[int] = []
        clock = FakeClock()
        for i in range(8):
            clock.call_at(5, fired.append, i)
        simulate(main, seed=seed, clock=clock)
        assert fired == list(range(8))


def test_same_seed_gives_the_same_order_every_time() -> None:
    assert run_program(3) == run_program(3)
    assert len({run_program(seed) for seed in range(20)}) >= 2


def test_same_seed_gives_byte_identical_output_in_separate_processes() -> None:
    code = PROGRAM + "\nimport sys\nfor s in range(5):\n    sys.stdout.write(run(s) + '\\n')\n"
    outputs = []
    for hash_seed in ("1", "2"):  # hash randomisation must not leak into the schedule
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONHASHSEED=hash_seed)
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].decode().splitlines() == [run_program(s) for s in range(5)]
    assert len(set(outputs[0].decode().splitlines())) >= 2


def test_fifo_chooser_reproduces_stock_asyncio_order() -> None:
    async def main() -> str:
        log: list[str] = []

        async def worker(name: str) -> None:
            for step in range(3):
                log.append(f"{name}{step}")
                await asyncio.sleep(0)

        await asyncio.gather(*(worker(n) for n in "abc"))
        return " ".join(log)

    assert simulate(main, chooser=FifoChooser()) == asyncio.run(main())


def test_replay_chooser_replays_a_recorded_schedule() -> None:
    recorder = ReplayChooser(then=SeededChooser(7))
    main = load_program()
    original = simulate(main, chooser=recorder)
    assert original == run_program(7)
    assert recorder.made and all(0 <= c < n for c, n in zip(recorder.made, recorder.arities))
    replayer = ReplayChooser(recorder.made, then=FunctionChooser(lambda n: pytest.fail("ran past the recording")))
    assert simulate(main, chooser=replayer) == original
    assert replayer.made == recorder.made


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
def test_replayed_choice_out_of_range_is_reported() -> None:
    async def main() -> None:
        await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0))

    with pytest.raises(ValueError, match="only 2 lanes"):
        simulate(main, chooser=ReplayChooser([5]))


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited")
def test_chooser_returning_an_invalid_index_is_an_error() -> None:
    async def main() -> None:
        await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0))

    with pytest.raises(ValueError, match="chooser returned 2 for 2 ready lanes"):
        simulate(main, chooser=FunctionChooser(lambda n: n))


def test_explore_visits_every_schedule_exactly_once_and_finds_a_lost_update() -> None:
    async def main() -> int:
        counter = 0

        async def increment() -> None:
            nonlocal counter
            seen = counter
            await asyncio.sleep(0)
            counter = seen + 1

        await asyncio.gather(increment(), increment())
        return counter

    runs = explore(main)
    schedules = [tuple(choices) for choices, _ in runs]
    assert len(schedules) == len(set(schedules)) >= 2
    assert {result for _, result in runs} == {1}  # both read before either writes, in every order
    for choices, result in runs:
        assert simulate(main, chooser=ReplayChooser(choices)) == result

    async def racy() -> str:
        log: list[str] = []

        async def worker(name: str) -> None:
            log.append(name + "1")
            await asyncio.sleep(0)
            log.append(name + "2")

        await asyncio.gather(worker("a"), worker("b"))
        return " ".join(log)

    outcomes = {result for _, result in explore(racy)}
    assert outcomes == {"a1 b1 a2 b2", "a1 b1 b2 a2", "b1 a1 a2 b2", "b1 a1 b2 a2"}


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_hypothesis_can_drive_the_choice_points(data: st.DataObject) -> None:
    main = load_program()
    drawn = ReplayChooser(then=FunctionChooser(lambda n: data.draw(st.integers(0, n - 1))))
    result = simulate(main, chooser=drawn)
    assert sorted(result.split()) == sorted(f"{n}{s}" for n in "abcd" for s in range(3))
    assert simulate(main, chooser=ReplayChooser(drawn.made)) == result


def test_loop_can_be_used_directly_with_run_until_complete() -> None:
    loop = DeterministicLoop(chooser=SeededChooser(1))
    try:
        loop.run_until_complete(asyncio.sleep(50))
        assert loop.time() == 50.0
    finally:
        loop.close()


def test_tasks_started_while_leftovers_unwind_are_cancelled_too() -> None:
    unwound: list[str] = []

    async def main() -> None:
        async def child() -> None:
            try:
                await asyncio.sleep(100)
            finally:
                unwound.append("child")

        async def parent() -> None:
            try:
                await asyncio.sleep(100)
            finally:
                unwound.append("parent")
                asyncio.get_running_loop().create_task(child())

        asyncio.create_task(parent())
        await asyncio.sleep(1)

    simulate(main)
    assert unwound == ["parent", "child"]


def test_identical_timers_due_together_are_separate_lanes() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        for _ in range(3):  # equal deadlines, callbacks and args: equal TimerHandles
            loop.call_at(5, int)
        loop.call_at(6, done.set)
        await done.wait()

    recorder = ReplayChooser()
    simulate(main, chooser=recorder)
    assert recorder.arities[:2] == [3, 2]  # the tick at t=5 chooses among three lanes
