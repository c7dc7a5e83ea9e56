"""The fake clock: standalone timers on advance, and one timeline shared with the loop."""

from __future__ import annotations

import asyncio

import pytest

from glitchless.fakes import FakeClock, simulate


def test_advance_fires_due_timers_in_deadline_then_creation_order() -> None:
    clock = FakeClock()
    fired: list[tuple[str, float]] = []
    clock.call_later(5, lambda: fired.append(("b", clock.now())))
    clock.call_at(2, lambda: fired.append(("a", clock.now())))
    clock.call_at(5, lambda: fired.append(("c", clock.now())))
    clock.call_at(9, lambda: fired.append(("late", clock.now())))
    assert clock.advance(5) == 3
    assert fired == [("a", 2.0), ("b", 5.0), ("c", 5.0)]
    assert clock.now() == 5.0
    assert clock.pending == 1 and clock.next_deadline() == 9.0


def test_timers_scheduled_by_callbacks_inside_the_window_fire_in_the_same_advance() -> None:
    clock = FakeClock()
    fired: list[float] = []

    def tick() -> None:
        fired.append(clock.now())
        if len(fired) < 10:
            clock.call_later(1, tick)

    clock.call_later(1, tick)
    clock.advance(4.5)
    assert fired == [1.0, 2.0, 3.0, 4.0]
    assert clock.now() == 4.5


def test_cancelled_timer_never_fires() -> None:
    clock = FakeClock()
    fired: list[str] = []
    timer = clock.call_later(1, fired.append, "x")
    timer.cancel()
    assert timer.cancelled()
    assert clock.advance(2) == 0
    assert fired == [] and clock.pending == 0 and clock.next_deadline() is None


def test_time_cannot_go_backwards_or_be_non_finite() -> None:
    clock = FakeClock(10)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.advance_to(5)
    with pytest.raises(ValueError):
        clock.call_later(float("nan"), print)
    assert clock.now() == 10


def test_a_failing_timer_propagates_and_leaves_the_clock_at_its_deadline() -> None:
    clock = FakeClock()
    clock.call_at(3, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        clock.advance(10)
    assert clock.now() == 3.0


def test_clock_and_loop_timers_share_one_timeline_inside_simulate() -> None:
    clock = FakeClock()
    fired: list[tuple[str, float]] = []
    clock.call_at(5, lambda: fired.append(("clock", clock.now())))  # set up before the run

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_at(3, lambda: fired.append(("loop", loop.time())))
        clock.call_later(4, lambda: fired.append(("clock-in-run", loop.time())))
        await asyncio.sleep(10)
        fired.append(("main", loop.time()))

    simulate(main, clock=clock)
    assert fired == [("loop", 3.0), ("clock-in-run", 4.0), ("clock", 5.0), ("main", 10.0)]


def test_clock_timers_left_after_a_simulation_fire_on_a_later_advance() -> None:
    clock = FakeClock()
    fired: list[float] = []

    async def main() -> None:
        clock.call_later(100, lambda: fired.append(clock.now()))
        await asyncio.sleep(1)

    simulate(main, clock=clock)
    assert fired == [] and clock.now() == 1.0
    clock.advance(99)
    assert fired == [100.0]


def test_advance_is_refused_while_a_simulation_drives_the_clock() -> None:
    clock = FakeClock()

    async def main() -> None:
        clock.advance(1)

    with pytest.raises(RuntimeError, match="asyncio.sleep"):
        simulate(main, clock=clock)
    clock.advance(1)  # fine again once the run is over
    assert clock.now() == 1.0


def test_a_periodic_clock_timer_keeps_a_simulated_month_busy_and_exact() -> None:
    clock = FakeClock()
    ticks: list[float] = []

    def hourly() -> None:
        ticks.append(clock.now())
        clock.call_later(3600, hourly)

    clock.call_later(3600, hourly)

    async def main() -> None:
        await asyncio.sleep(30 * 86400)

    simulate(main, clock=clock)
    assert len(ticks) == 30 * 24
    assert ticks[-1] == 30 * 86400.0
