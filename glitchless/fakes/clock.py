"""A fake clock: virtual seconds and timers for synchronous code.

Standalone, time moves only when `advance` is called, and the timers that fall
due fire in (deadline, creation) order. Inside `simulate` the same clock is
the event loop's time source: the loop jumps it to the next deadline and fires
its timers alongside the loop's own, so sync and async code share one
timeline. While a simulation runs, the loop owns time and `advance` refuses.
"""

from __future__ import annotations

import contextvars
import heapq
import math
from collections.abc import Callable
from typing import Any, Protocol


class TimeDriver(Protocol):
    """Whatever drives a clock's time in place of `advance` (the simulation loop)."""

    def is_running(self) -> bool: ...


class ClockTimer:
    """A pending call on a FakeClock. `cancel()` it to drop it."""

    __slots__ = ("when", "_seq", "_callback", "_args", "_context", "_cancelled")

    def __init__(
        self, when: float, seq: int, callback: Callable[..., object], args: tuple[Any, ...], context: contextvars.Context
    ) -> None:
        self.when = when
        self._seq = seq
        self._callback = callback
        self._args = args
        self._context = context
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled

    def __lt__(self, other: ClockTimer) -> bool:
        return (self.when, self._seq) < (other.when, other._seq)

    def __repr__(self) -> str:
        state = " cancelled" if self._cancelled else ""
        return f"<ClockTimer when={self.when}{state} {getattr(self._callback, '__qualname__', self._callback)!r}>"


class FakeClock:
    """Virtual time in seconds, starting at `start`, moving only when told to."""

    def __init__(self, start: float = 0.0) -> None:
        _check_finite("start", start)
        self._now = float(start)
        self._timers: list[ClockTimer] = []
        self._seq = 0
        self._driver: TimeDriver | None = None

    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> ClockTimer:
        """Call `callback(*args)` when virtual time reaches `when` (at once on the next advance if past)."""
        _check_finite("when", when)
        self._seq += 1
        timer = ClockTimer(float(when), self._seq, callback, args, contextvars.copy_context())
        heapq.heappush(self._timers, timer)
        return timer

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> ClockTimer:
        _check_finite("delay", delay)
        return self.call_at(self._now + max(0.0, delay), callback, *args)

    def advance(self, dt: float) -> int:
        """Move time forward by `dt` seconds, firing due timers in order; return how many fired.

        Each timer runs with the clock reading its own deadline. Timers that the
        callbacks schedule inside the window fire too. An exception from a
        callback propagates at once, leaving the clock at that timer's deadline.
        """
        _check_finite("dt", dt)
        if dt < 0:
            raise ValueError(f"cannot advance by a negative duration ({dt})")
        return self.advance_to(self._now + dt)

    def advance_to(self, t: float) -> int:
        _check_finite("t", t)
        driver = self._driver
        if driver is not None and driver.is_running():
            raise RuntimeError(
                "this clock is driven by a running simulation; await asyncio.sleep(dt) instead of advance(dt)"
            )
        if t < self._now:
            raise ValueError(f"cannot move time backwards from {self._now} to {t}")
        fired = 0
        while True:
            timer = self._pop_due(t)
            if timer is None:
                break
            self._now = max(self._now, timer.when)
            fired += 1
            timer._context.run(timer._callback, *timer._args)
        self._now = t
        return fired

    def next_deadline(self) -> float | None:
        """The deadline of the earliest pending timer, or None."""
        timers = self._timers
        while timers and timers[0]._cancelled:
            heapq.heappop(timers)
        return timers[0].when if timers else None

    @property
    def pending(self) -> int:
        """How many timers are still waiting (cancelled ones excluded)."""
        return sum(1 for t in self._timers if not t._cancelled)

    # -- used by the simulation loop --------------------------------------

    def _pop_due(self, t: float) -> ClockTimer | None:
        if self.next_deadline() is None or self._timers[0].when > t:
            return None
        return heapq.heappop(self._timers)

    def _jump_to(self, t: float) -> None:
        if t > self._now:
            self._now = t

    def _attach(self, driver: TimeDriver) -> None:
        if self._driver is not None and self._driver is not driver:
            raise RuntimeError("this clock already drives another simulation")
        self._driver = driver

    def _detach(self, driver: TimeDriver) -> None:
        if self._driver is driver:
            self._driver = None

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now}, pending={self.pending})"


def _check_finite(what: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number of seconds, got {value!r}")
