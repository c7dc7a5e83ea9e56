"""Async effects: `rt.effect(async_fn)` runs its body as a task on the runtime's scheduler.

The rules, on top of the contract's rules for effects:

* **Runs are tasks.** Creating the effect starts run 1 as a task created with
  `rt.scheduler.create_task` (an asyncio loop qualifies). The body is an
  `async def` taking no arguments.
* **Tracking stops at the first suspension.** The reads the body makes in its
  first step, from its start up to the first `await` that actually suspends,
  are its dependencies, collected and re-collected per run as for a sync
  effect. Reads after that see current values but subscribe to nothing: read
  what the effect depends on before awaiting anything.
* **Writes in a first step** wait, as a sync effect's writes do, and are
  flushed when the step ends (a failure there is reported, see below).
* **Supersede.** A dependency change (by value, as for a sync effect) while
  no run is in flight starts a new run; a run is in flight until its body
  returns. A change while a run is in flight supersedes it: the run's
  `is_stale()` turns True at once, and exactly one re-run starts after it
  ends, however many changes arrive meanwhile; the re-run reads the newest
  values. With `cancel_on_supersede=True` the in-flight body is also
  cancelled at its current await.
* **Cleanup.** A callable the body returns is its cleanup: it runs before the
  next run starts and when the effect is disposed.
* **Errors lose nothing.** A body (or cleanup) that raises is reported to the
  scheduler's exception handler; the effect stays live and runs again when a
  dependency changes.
* **Disposal** cancels the in-flight run; the effect never runs again and its
  cleanup runs exactly once.
* **A refused run.** If the scheduler's `create_task` raises (a closed loop),
  the effect is disposed and the error propagates from the flush that started
  the run, or is reported from the run that owed the re-run: it is never left
  waiting for a run that does not exist.

How: a sync kernel Effect (the watcher) stands in for the async effect in
the graph. A run's first step executes as a tracked run of the watcher
(`Runtime.track`), so its reads become the watcher's dependencies with the
values the step saw; a change after that, including one the step made
itself, queues the watcher, whose fn starts or supersedes a run. The
watcher's own fn reads nothing: until the next first step it needs no
notifications, as that step reads the newest values. A run ends when its
body returns, not one loop tick later when its task's callbacks run.
"""

from __future__ import annotations

import contextvars
import inspect
import types
from collections.abc import Callable, Coroutine, Generator
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from glitchless.kernel.reactive import (
    Cleanup,
    ReactiveError,
    Runtime,
    Scheduler,
)

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")

AsyncEffectFn = Callable[[], Coroutine[Any, Any, "Cleanup | None"]]


class AsyncScheduler(Scheduler, Protocol):
    """What async effects need from the runtime's scheduler (asyncio's loop qualifies).

    `create_task` must schedule the coroutine, not run its first step eagerly.
    """

    def create_task(
        self, coro: Coroutine[Any, Any, T], *, name: str | None = None, context: contextvars.Context | None = None
    ) -> asyncio.Task[T]: ...

    def call_exception_handler(self, context: dict[str, Any]) -> None: ...


class _Run:
    __slots__ = ("number", "stale", "superseded", "task")

    def __init__(self, number: int) -> None:
        self.number = number
        self.stale = False  # this run's result is no longer wanted
        self.superseded = False  # a re-run is owed once this run ends
        self.task: asyncio.Task[None] | None = None


_current_run: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("glitchless_async_effect_run", default=None)


def is_stale() -> bool:
    """Inside an async effect's body: has a newer run been scheduled (or the effect disposed)?"""
    run = _current_run.get()
    if run is None:
        raise ReactiveError("is_stale() called outside the body of an async effect")
    return run.stale


class AsyncEffect:
    """An effect whose body is a coroutine function, run as tasks on the runtime's scheduler."""

    __slots__ = ("_rt", "_fn", "_scheduler", "_cancel_on_supersede", "_watch", "_run", "_runs", "_cleanup", "_disposed", "name")

    def __init__(self, rt: Runtime, fn: AsyncEffectFn, *, name: str | None = None, cancel_on_supersede: bool = False) -> None:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"async effect fn must be an async def function, got {type(fn).__name__}")
        scheduler = rt.scheduler
        if scheduler is None or not callable(getattr(scheduler, "create_task", None)):
            raise ReactiveError(
                f"{_describe(name)} needs a scheduler that can create tasks: build the runtime as Runtime(scheduler=loop)"
            )
        self._rt = rt
        self._fn = fn
        self._scheduler = cast(AsyncScheduler, scheduler)
        self._cancel_on_supersede = cancel_on_supersede
        self._run: _Run | None = None
        self._runs = 0
        self._cleanup: Cleanup | None = None
        self._disposed = False
        self.name = name
        self._watch = rt.effect(self._on_notify, name=name)  # its first run starts run 1
        scope = rt.current_scope()
        if scope is not None:
            scope.add(self.dispose)

    # -- public surface ---------------------------------------------------

    @property
    def disposed(self) -> bool:
        return self._disposed

    @property
    def runs(self) -> int:
        """How many runs have started."""
        return self._runs

    def is_stale(self) -> bool:
        """Is the run in flight superseded (a newer run scheduled)? False when none is in flight."""
        run = self._run
        return run is not None and run.stale

    def dispose(self) -> None:
        if self._disposed:
            return
        self._disposed = True
        self._watch.dispose()
        run = self._run
        if run is not None:
            run.stale = True
            if run.task is not None:
                run.task.cancel()
        cleanup = self._cleanup
        self._cleanup = None
        if cleanup is not None:
            self._rt.untracked(cleanup)

    def __repr__(self) -> str:
        return f"AsyncEffect({self.name or ''})"

    # -- the watcher: the async effect's stand-in in the graph --------------

    def _on_notify(self) -> None:
        if self._run is None:
            self._start()
        else:
            self._supersede(self._run)

    def _supersede(self, run: _Run) -> None:
        # At most once per run: the watcher's own run read nothing, so nothing notifies it again.
        run.superseded = run.stale = True
        if self._cancel_on_supersede and run.task is not None:
            run.task.cancel()

    def _start(self) -> None:
        cleanup = self._cleanup
        if cleanup is not None:
            self._cleanup = None
            try:
                self._rt.untracked(cleanup)
            except Exception as exc:
                self._report(exc, None)
        self._runs += 1
        run = _Run(self._runs)
        context = contextvars.copy_context()
        context.run(_current_run.set, run)
        body = self._body(run)
        try:
            task = self._scheduler.create_task(body, name=f"{self.name or 'async effect'} run {run.number}", context=context)
        except BaseException:
            # A scheduler that refuses a run (a closed loop) would leave the effect waiting for a run that
            # never ends: dispose it, so that it is visibly dead, and let the error propagate (rule 6).
            body.close()
            self.dispose()
            raise
        self._run = run
        run.task = task
        task.add_done_callback(self._on_done)

    async def _body(self, run: _Run) -> None:
        try:
            result = await self._first_step_tracked(self._fn())
        except Exception as exc:
            self._report(exc, run.task)
            result = None
        self._finish(run, result)

    @types.coroutine
    def _first_step_tracked(self, coro: Coroutine[Any, Any, T]) -> Generator[Any, Any, T]:
        """Drive `coro`, tracking the reads of its first step, then delegate untracked."""
        rt = self._rt
        try:
            try:
                yielded = rt.track(self._watch, partial(coro.send, None))
            finally:
                try:
                    rt.flush()  # the step's writes, and the watcher if the step changed what it read
                except Exception as exc:
                    self._report(exc, None)
        except StopIteration as stop:
            return cast(T, stop.value)
        while True:
            try:
                sent = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a cancellation or an exception thrown into the await
                try:
                    yielded = coro.throw(exc)
                except StopIteration as stop:
                    return cast(T, stop.value)
            else:
                try:
                    yielded = coro.send(sent)
                except StopIteration as stop:
                    return cast(T, stop.value)

    def _finish(self, run: _Run, result: Cleanup | None) -> None:
        self._run = None
        if callable(result):
            if self._disposed:
                self._rt.untracked(result)
            else:
                self._cleanup = result
        if run.superseded and not self._disposed:
            try:
                self._start()
            except Exception as exc:  # a refused re-run: no flush is there to raise it to
                self._report(exc, run.task)

    def _on_done(self, task: asyncio.Task[None]) -> None:
        run = self._run
        if run is None or run.task is not task:
            return  # it finished in its body
        # Cancelled (or interrupted by a BaseException, which asyncio re-raises itself).
        # A run cancelled by anyone but a supersede (e.g. the loop shutting down) owes no re-run.
        if not self._cancel_on_supersede:
            run.superseded = False
        self._finish(run, None)

    def _report(self, exc: BaseException, task: asyncio.Task[Any] | None) -> None:
        context: dict[str, Any] = {"message": f"{_describe(self.name)} failed", "exception": exc}
        if task is not None:
            context["task"] = task
        self._scheduler.call_exception_handler(context)


def _describe(name: str | None) -> str:
    return f"async effect {name!r}" if name else "async effect"
