"""A deterministic asyncio event loop on virtual time, and `simulate` to run code on it.

`DeterministicLoop` is an ordinary selector event loop with two changes:

* Time is virtual. `time()` reads a FakeClock. When no callback is ready, the
  loop jumps the clock straight to the next deadline (its own timers or the
  clock's), so `await asyncio.sleep(86400)` returns at once in wall time.
* Order is chosen. The callbacks ready in one tick run in an order picked by a
  Chooser (from a seed by default) instead of first-in-first-out, within
  what asyncio promises: callbacks run in the order they were queued. So
  ready callbacks are grouped in lanes, each kept in FIFO order, and the
  chooser picks the lane that goes next. A task's steps are its own lane;
  any other callback joins the lane of whoever queued it (the running task
  or callback, or the foreign thread calling `call_soon_threadsafe`). A loop
  timer is a lane of its own; the FakeClock's timers share one lane. So two
  tasks woken in the same tick run in either order, while one thread's
  writes handed over with `call_soon_threadsafe` stay in program order.

Everything else is stock asyncio: tasks, futures, Event, Queue, wait_for,
timeout, call_soon_threadsafe and executors all work unchanged. I/O is polled
without blocking.

The loop waits on the wall clock only while work handed to an executor
(`asyncio.to_thread`, `run_in_executor`) is out: such work takes no virtual
time. A thread started by hand is invisible to the loop until it calls
`call_soon_threadsafe`; join it (`await asyncio.to_thread(t.join)`, or plainly
`t.join()`) before awaiting what it will cause. When nothing is ready, no
timer is pending and no executor work is out, nothing can ever happen again:
the loop raises SimulationStalled instead of hanging.
"""

from __future__ import annotations

import asyncio
import bisect
import contextvars
import heapq
import threading
import weakref
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

from glitchless.fakes.choosers import Chooser, FifoChooser, ReplayChooser, SeededChooser
from glitchless.fakes.clock import FakeClock

T = TypeVar("T")

_IDLE_POLL = 0.05  # wall seconds per select() while waiting for executor work
_COMPACT_MIN = 100  # rebuild the timer heap once this many entries ...
_COMPACT_FRACTION = 0.5  # ... of which this share are cancelled


class SimulationStalled(RuntimeError):
    """Nothing is ready, no timer is pending and no executor work is out: a deadlock."""


class DeterministicLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on a FakeClock whose same-tick ordering comes from a Chooser."""

    # Attributes of asyncio's BaseEventLoop that this class works with directly.
    _ready: deque[asyncio.Handle]
    _scheduled: list[asyncio.TimerHandle]
    _stopping: bool
    _timer_cancelled_count: int
    _thread_id: int | None

    def __init__(self, *, chooser: Chooser | None = None, clock: FakeClock | None = None) -> None:
        super().__init__()
        self.chooser: Chooser = chooser if chooser is not None else SeededChooser(0)
        self.clock: FakeClock = clock if clock is not None else FakeClock()
        self.unhandled: list[dict[str, Any]] = []
        self._tasks_made: list[weakref.ref[asyncio.Task[Any]]] = []
        self._task_count = 0
        self._executor_jobs = 0
        self._collecting = True
        self._lanes: dict[asyncio.Handle, object] = {}
        self._running_lane: object = None
        self.set_exception_handler(_collect_unhandled)

    # -- time -------------------------------------------------------------

    def time(self) -> float:
        return self.clock.now()

    # -- bookkeeping that keeps runs reproducible --------------------------

    def create_task(  # type: ignore[override]
        self,
        coro: Coroutine[Any, Any, T],
        *,
        name: object = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[T]:
        # asyncio numbers tasks with a process-wide counter; number them per loop
        # so that two runs of one simulation name their tasks alike.
        self._task_count += 1
        if name is None:
            name = f"Task-{self._task_count}"
        task = super().create_task(coro, name=name, context=context)
        made = self._tasks_made
        made.append(weakref.ref(task))
        if len(made) >= 1024 and len(made) & (len(made) - 1) == 0:
            made[:] = [r for r in made if (t := r()) is not None and not t.done()]
        return task

    def run_in_executor(  # type: ignore[override]
        self, executor: Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        # Work handed to a real thread takes no virtual time: while it is out,
        # the loop waits for it instead of jumping the clock past it.
        fut = super().run_in_executor(executor, func, *args)
        self._executor_jobs += 1
        fut.add_done_callback(self._executor_job_done)
        return fut

    def _executor_job_done(self, fut: asyncio.Future[Any]) -> None:
        self._executor_jobs -= 1

    async def shutdown_default_executor(self) -> None:
        self._executor_jobs += 1  # joining the executor's threads takes no virtual time either
        try:
            await super().shutdown_default_executor()
        finally:
            self._executor_jobs -= 1

    def live_tasks(self) -> list[asyncio.Task[Any]]:
        """Tasks created on this loop and not yet done, in creation order."""
        return [t for r in self._tasks_made if (t := r()) is not None and not t.done()]

    # -- the scheduler ----------------------------------------------------

    def _call_soon(
        self, callback: Callable[..., object], args: Sequence[Any], context: contextvars.Context | None
    ) -> asyncio.Handle:
        # As asyncio's, but the handle's lane is known before it is queued,
        # since another thread may be the one queueing it.
        handle = asyncio.Handle(callback, args, self, context)
        self._lanes[handle] = self._lane_for(callback)
        self._ready.append(handle)
        return handle

    def _lane_for(self, callback: Callable[..., object]) -> object:
        """A task's own steps form its lane; any other callback joins the lane of whoever queued it."""
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            return owner
        if self._running_lane is not None and threading.get_ident() == self._thread_id:
            return self._running_lane
        return ("thread", threading.get_ident())

    def _run_once(self) -> None:
        self._drop_cancelled_timers()
        self._process_events(self._selector.select(0))  # type: ignore[attr-defined]
        if not self._ready and not self._stopping:
            self._advance_or_wait()

        # Everything ready now forms this tick: earlier arrivals, then due timers.
        ready, lanes = self._ready, self._lanes
        batch: list[tuple[asyncio.Handle, object]] = []
        for _ in range(len(ready)):  # popleft: safe against other threads appending
            handle = ready.popleft()
            batch.append((handle, lanes.pop(handle, handle)))  # I/O callbacks: a lane each
        now = self.clock.now()
        scheduled = self._scheduled
        while scheduled and scheduled[0].when() <= now:
            timer_handle = heapq.heappop(scheduled)
            timer_handle._scheduled = False  # type: ignore[attr-defined]
            owner = getattr(timer_handle._callback, "__self__", None)  # type: ignore[attr-defined]
            # A lane of its own (by identity: TimerHandle compares by value).
            batch.append((timer_handle, owner if isinstance(owner, asyncio.Task) else ("timer", id(timer_handle))))
        while (timer := self.clock._pop_due(now)) is not None:
            # The clock's own timers keep their (deadline, creation) order: one lane.
            batch.append((asyncio.Handle(timer._callback, timer._args, self, timer._context), self.clock))
        self._run_batch(batch)

    def _run_batch(self, batch: list[tuple[asyncio.Handle, object]]) -> None:
        """Run a tick: the chooser picks which lane goes next; each lane runs in FIFO order."""
        lane_keys: list[object] = []
        queues: list[deque[tuple[int, asyncio.Handle]]] = []
        index: dict[object, int] = {}
        for pos, (handle, lane) in enumerate(batch):
            li = index.get(lane)
            if li is None:
                li = index[lane] = len(lane_keys)
                lane_keys.append(lane)
                queues.append(deque())
            queues[li].append((pos, handle))
        heads = [(queue[0][0], li) for li, queue in enumerate(queues)]  # in order of arrival
        chooser = self.chooser
        try:
            while heads:
                n = len(heads)
                i = 0 if n == 1 else chooser.choose(n)
                if not 0 <= i < n:
                    raise ValueError(f"chooser returned {i!r} for {n} ready lanes")
                _, li = heads.pop(i)
                queue = queues[li]
                _, handle = queue.popleft()
                if queue:
                    bisect.insort(heads, (queue[0][0], li))
                if not handle.cancelled():
                    self._running_lane = lane_keys[li]
                    try:
                        handle._run()
                    finally:
                        self._running_lane = None
        except BaseException:
            # Put back what did not run, in arrival order, so that the loop can
            # still wind down (cancel tasks, close) after the error.
            rest = sorted((pos, li) for li, queue in enumerate(queues) for pos, _ in queue)
            for pos, li in reversed(rest):
                handle = batch[pos][0]
                self._lanes[handle] = lane_keys[li]
                self._ready.appendleft(handle)
            raise

    def _drop_cancelled_timers(self) -> None:
        scheduled = self._scheduled
        if len(scheduled) > _COMPACT_MIN and self._timer_cancelled_count > _COMPACT_FRACTION * len(scheduled):
            for handle in scheduled:
                if handle.cancelled():
                    handle._scheduled = False  # type: ignore[attr-defined]
            scheduled[:] = [h for h in scheduled if not h.cancelled()]
            heapq.heapify(scheduled)
            self._timer_cancelled_count = 0
        while scheduled and scheduled[0].cancelled():
            handle = heapq.heappop(scheduled)
            handle._scheduled = False  # type: ignore[attr-defined]
            self._timer_cancelled_count -= 1

    def _advance_or_wait(self) -> None:
        """Nothing is ready: wait for executor work, else jump to the next deadline, else stall."""
        while self._executor_jobs and not self._ready and not self._stopping:
            # Work in a real thread takes no virtual time: wait for it for real.
            self._process_events(self._selector.select(_IDLE_POLL))  # type: ignore[attr-defined]
        if self._ready or self._stopping:
            return
        deadlines = [self._scheduled[0].when()] if self._scheduled else []
        clock_deadline = self.clock.next_deadline()
        if clock_deadline is not None:
            deadlines.append(clock_deadline)
        if not deadlines:
            raise SimulationStalled(self._describe_stall())
        self.clock._jump_to(min(deadlines))

    def _describe_stall(self) -> str:
        tasks = self.live_tasks()
        names = ", ".join(t.get_name() for t in tasks) or "none"
        return (
            f"simulation stalled at t={self.time()}: no callback is ready, no timer is pending "
            f"and no executor work is out; waiting tasks: {names}"
        )

    # -- shutdown ---------------------------------------------------------

    def _cancel_leftover_tasks(self) -> None:
        """Cancel the tasks still running, in creation order, and let them unwind.

        Tasks started while others unwind are cancelled in further rounds.
        """
        for _ in range(100):
            leftovers = self.live_tasks()
            if not leftovers:
                return
            for task in leftovers:
                task.cancel()
            self.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            for task in leftovers:
                if not task.cancelled() and task.exception() is not None:
                    self.call_exception_handler(
                        {"message": "exception while cancelling a leftover task", "exception": task.exception(), "task": task}
                    )
        raise RuntimeError("tasks kept starting new tasks while the simulation was shutting down")


def _collect_unhandled(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    assert isinstance(loop, DeterministicLoop)
    if loop._collecting:
        loop.unhandled.append(context)
    else:  # reported after the simulation ended (e.g. at garbage collection): log it
        loop.default_exception_handler(context)


def current_clock() -> FakeClock:
    """The FakeClock of the simulation running in this thread."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if not isinstance(loop, DeterministicLoop):
        raise RuntimeError("current_clock() called outside simulate()")
    return loop.clock


def simulate(
    main: Callable[[], Coroutine[Any, Any, T]],
    *,
    seed: int = 0,
    chooser: Chooser | None = None,
    clock: FakeClock | None = None,
) -> T:
    """Run `main()` on a DeterministicLoop and return its result.

    Same-tick ordering comes from `random.Random(seed)` unless a `chooser` is
    given (which then replaces the seed). Time is `clock` (a fresh FakeClock at
    0 by default); pass one in to share it with synchronous fakes, and it keeps
    its time after the run. When `main` returns, tasks still running are
    cancelled in creation order. Errors no one handled during the run (failed
    callbacks, task exceptions never retrieved, failed async effects) are
    raised as an ExceptionGroup, or noted on `main`'s own exception.
    """
    loop = DeterministicLoop(chooser=chooser if chooser is not None else SeededChooser(seed), clock=clock)
    loop.clock._attach(loop)
    try:
        try:
            result = loop.run_until_complete(loop.create_task(main()))
        except BaseException:
            loop.chooser = FifoChooser()  # wind down in plain order, whatever went wrong (maybe the chooser)
            raise
        finally:
            try:
                loop._cancel_leftover_tasks()
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop._collecting = False
                loop.close()
                loop.clock._detach(loop)
    except BaseException as exc:
        errors = _unhandled_errors(loop)
        if errors:
            exc.add_note(f"{len(errors)} unhandled error(s) during the simulation as well: {errors!r}")
        raise
    errors = _unhandled_errors(loop)
    if errors:
        raise ExceptionGroup(f"{len(errors)} unhandled error(s) during the simulation", errors)
    return result


def _unhandled_errors(loop: DeterministicLoop) -> list[Exception]:
    errors: list[Exception] = []
    for context in loop.unhandled:
        exc = context.get("exception")
        if isinstance(exc, Exception):
            errors.append(exc)
        else:
            errors.append(RuntimeError(str(context.get("message", "unhandled error in simulation"))))
    return errors


def explore(
    main: Callable[[], Coroutine[Any, Any, T]],
    *,
    max_runs: int = 10_000,
    clock_factory: Callable[[], FakeClock] = FakeClock,
) -> list[tuple[list[int], T]]:
    """Run `main` once under every schedule the loop can produce, depth first.

    Returns (choices, result) per schedule; `simulate(main, chooser=ReplayChooser(choices))`
    replays one. `main` must build its world afresh on every call. Raises
    RuntimeError past `max_runs` schedules; an exception from a run carries the
    choices that produced it as a note.
    """
    results: list[tuple[list[int], T]] = []
    prefix: list[int] = []
    while True:
        if len(results) >= max_runs:
            raise RuntimeError(f"more than {max_runs} schedules; raise max_runs or shrink the program")
        chooser = ReplayChooser(prefix)
        try:
            result = simulate(main, chooser=chooser, clock=clock_factory())
        except BaseException as exc:
            exc.add_note(f"schedule choices: {chooser.made}")
            raise
        results.append((chooser.made, result))
        made, arities = chooser.made, chooser.arities
        i = len(made) - 1
        while i >= 0 and made[i] + 1 >= arities[i]:
            i -= 1
        if i < 0:
            return results
        prefix = made[:i] + [made[i] + 1]
