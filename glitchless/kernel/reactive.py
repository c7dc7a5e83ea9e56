"""The reactive core: signals, computeds and effects on an explicit Runtime.

Push-pull with versioned nodes. A write pushes cheap marks (DIRTY on direct
dependents, CHECK further out) and queues effects; nothing is recomputed
until someone reads. A read pulls: a CHECK node compares the versions it
recorded for its sources with their current versions, refreshing computed
sources first, and recomputes only if one differs. Both walks use explicit
stacks so a 10,000-deep chain never touches Python's recursion limit.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast, overload

from glitchless.kernel._mypyc import mypyc_attr

if TYPE_CHECKING:
    from glitchless.kernel.async_effect import AsyncEffect, AsyncEffectFn

T = TypeVar("T")
R = TypeVar("R")

# Node states. Signals are always CLEAN; RUNNING marks a computed whose fn is
# on the call stack, which is how a cycle is recognised.
CLEAN = 0
CHECK = 1
DIRTY = 2
RUNNING = 3
DISPOSED = 4

MAX_FLUSH_ROUNDS = 100
# Computed fns nested in one another before the next cold read is deferred (see Runtime._evaluate).
MAX_NESTING = 100

Cleanup = Callable[[], None]
EffectFn = Callable[[], "Cleanup | None"]


class ReactiveError(Exception):
    """Base class of every error the reactive core raises."""


class CycleError(ReactiveError):
    """A computed read itself, directly or through other computeds."""


class WriteInComputedError(ReactiveError):
    """A signal was written while a computed's fn was running."""


class RunawayEffectError(ReactiveError):
    """Effects kept re-triggering each other past the bounded number of rounds."""


class DisposedError(ReactiveError):
    """A disposed computed was read."""


class _EvaluateFirst(BaseException):
    """Unwinds a too-deep first evaluation to the outermost read, which evaluates `node` first.

    A BaseException so that user code catching Exception inside a fn lets it pass.
    """

    def __init__(self, node: Computed[Any]) -> None:
        self.node = node


class Scheduler(Protocol):
    """What the runtime needs from an event loop (asyncio's loop qualifies)."""

    def call_soon_threadsafe(self, callback: Callable[..., object], *args: Any) -> object: ...


def _describe(kind: str, name: str | None) -> str:
    return f"{kind} {name!r}" if name else kind


@mypyc_attr(allow_interpreted_subclasses=True)  # compiled, it may still be subclassed (tests do)
class Runtime:
    """One independent reactive graph. Two runtimes never share state."""

    __slots__ = ("_observer", "_batch_depth", "_computing", "_pending", "_next_id", "_owner", "scheduler")

    def __init__(self, *, scheduler: Scheduler | None = None) -> None:
        self._observer: Computed[Any] | Effect | None = None
        self._batch_depth = 0
        self._computing = 0  # computed fns on the stack: writes are refused while > 0; bounded by MAX_NESTING
        self._pending: list[Effect] = []
        self._next_id = 0
        self._owner = threading.get_ident()
        self.scheduler = scheduler

    # -- public surface -------------------------------------------------

    def signal(
        self, value: T, *, equals: Callable[[T, T], bool] | None = None, name: str | None = None
    ) -> Signal[T]:
        return Signal(self, value, equals, name)

    def computed(
        self, fn: Callable[[], T], *, equals: Callable[[T, T], bool] | None = None, name: str | None = None
    ) -> Computed[T]:
        return Computed(self, fn, equals, name)

    @overload
    def effect(
        self, fn: AsyncEffectFn, *, name: str | None = None, cancel_on_supersede: bool = False
    ) -> AsyncEffect: ...
    @overload
    def effect(self, fn: EffectFn, *, name: str | None = None) -> Effect: ...
    def effect(
        self, fn: EffectFn | AsyncEffectFn, *, name: str | None = None, cancel_on_supersede: bool = False
    ) -> Effect | AsyncEffect:
        if inspect.iscoroutinefunction(fn):  # an async def body runs as tasks on the scheduler
            from glitchless.kernel.async_effect import AsyncEffect

            return AsyncEffect(self, cast("AsyncEffectFn", fn), name=name, cancel_on_supersede=cancel_on_supersede)
        if cancel_on_supersede:
            raise TypeError("cancel_on_supersede applies to async effects only")
        e = Effect(self, cast(EffectFn, fn), name)
        try:
            self._run_effect(e)
        except Exception as exc:
            # An effect that cannot complete its first run never becomes live:
            # the caller has no handle to dispose it with. What it wrote before
            # failing still reaches its readers.
            e.dispose()
            if not self._batch_depth and self._pending:
                try:
                    self._flush()
                except Exception as flush_exc:
                    raise ExceptionGroup("an effect failed on creation, and the flush after it", [exc, flush_exc])
            raise
        if not self._batch_depth and self._pending:
            self._flush()
        return e

    def batch(self) -> _Batch:
        return _Batch(self)

    def untracked(self, fn: Callable[[], R]) -> R:
        prev = self._observer
        self._observer = None
        try:
            return fn()
        finally:
            self._observer = prev

    # -- internals ------------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _mark(self, origin: Signal[Any] | Computed[Any]) -> None:
        """Mark direct dependents DIRTY and everything downstream CHECK."""
        pending = self._pending
        stack: list[Computed[Any]] = []
        for node in origin._subs:
            state = node._state
            node._state = DIRTY
            if state == CLEAN:
                if node._subs is None:
                    pending.append(node)
                else:
                    stack.append(node)
        while stack:
            for node in stack.pop()._subs:
                if node._state == CLEAN:
                    node._state = CHECK
                    if node._subs is None:
                        pending.append(node)
                    else:
                        stack.append(node)

    def _refresh(self, target: Computed[Any]) -> None:
        """Bring a computed up to date, recomputing only what changed."""
        stack: list[Computed[Any]] = [target]
        positions = [0]
        while stack:
            node = stack[-1]
            state = node._state
            if state == CHECK:
                sources = node._sources
                versions = node._versions
                i = positions[-1]
                n = len(sources)
                stale_source: Computed[Any] | None = None
                while i < n:
                    src = sources[i]
                    if src._state != CLEAN:
                        if src._state != DISPOSED:
                            stale_source = src  # type: ignore[assignment]
                        break
                    if src._version != versions[i]:
                        break
                    i += 1
                if stale_source is not None:
                    if stale_source._state == RUNNING:
                        raise CycleError(f"{_describe('computed', stale_source.name)} depends on itself")
                    positions[-1] = i
                    stack.append(stale_source)
                    positions.append(0)
                    continue
                if i == n:
                    node._state = CLEAN
                    stack.pop()
                    positions.pop()
                    continue
                state = DIRTY
            if state == DIRTY:
                self._recompute(node)
            stack.pop()
            positions.pop()

    def _evaluate(self, target: Computed[Any]) -> None:
        """Bring a stale computed up to date when read from outside any computed fn.

        The first read of a chain nests one fn call per level, which the
        recursion limit bounds. Past MAX_NESTING levels the innermost read
        unwinds to here; that node is evaluated first, from a shallow stack,
        and the outer reads are retried, now finding it cached.
        """
        todo = [target]
        while todo:
            node = todo[-1]
            try:
                if node._state == DIRTY:
                    self._recompute(node)
                elif node._state == CHECK:
                    self._refresh(node)
            except _EvaluateFirst as first:
                todo.append(first.node)
                continue
            todo.pop()

    def _recompute(self, node: Computed[Any]) -> None:
        if self._computing >= MAX_NESTING:
            raise _EvaluateFirst(node)
        prev = self._observer
        self._observer = node
        node._state = RUNNING
        self._next_id = node._token = self._next_id + 1
        node._cursor = 0
        self._computing += 1
        error: BaseException | None = None
        try:
            value = node._fn()
        except Exception as exc:  # stored and re-raised to every reader
            error = exc
        except _EvaluateFirst:
            node._state = DIRTY  # abandoned half-way: it runs again once its input is cached
            raise
        finally:
            self._computing -= 1
            self._observer = prev
        self._adopt_sources(node)
        if node._disposed:  # it disposed itself while running: it stays disposed
            node._state = DISPOSED
            return
        node._state = CLEAN
        if error is not None:
            node._error = error
            node._error_tb = error.__traceback__
            node._version += 1
        elif node._error is not None or node._version == 0 or not node._same(node._value, value):
            node._error = None
            node._value = value
            node._version += 1

    def _adopt_sources(self, node: Computed[Any] | Effect) -> None:
        """After a run: drop the sources it no longer read."""
        sources = node._sources
        if node._disposed:
            node._stale.extend(sources)
            sources.clear()
            node._versions.clear()
        elif node._cursor < len(sources):
            node._stale.extend(sources[node._cursor :])
            del sources[node._cursor :]
            del node._versions[node._cursor :]
        stale = node._stale
        if stale:
            keep = set(sources)
            for src in stale:
                if src not in keep:
                    src._subs.pop(node, None)
            stale.clear()

    def _sources_changed(self, node: Effect) -> bool:
        versions = node._versions
        for i, src in enumerate(node._sources):
            if src._state != CLEAN:
                self._evaluate(src)  # type: ignore[arg-type]
            if src._version != versions[i]:
                return True
        return False

    def _run_effect(self, e: Effect) -> None:
        e._state = CLEAN
        cleanup = e._cleanup
        if cleanup is not None:
            e._cleanup = None
            self.untracked(cleanup)
        prev = self._observer
        self._observer = e
        self._next_id = e._token = self._next_id + 1
        e._cursor = 0
        self._batch_depth += 1  # writes made by the body are flushed by our caller
        try:
            result = e._fn()
        finally:
            self._batch_depth -= 1
            self._observer = prev
            self._adopt_sources(e)
        if e._disposed:
            if callable(result):
                self.untracked(result)
            return
        if callable(result):
            e._cleanup = result

    def _flush(self) -> None:
        errors: list[Exception] = []
        self._batch_depth += 1
        try:
            rounds = 0
            queue: list[Effect] = []
            while self._pending:
                rounds += 1
                if rounds > MAX_FLUSH_ROUNDS:
                    # The loop's members are what ran last and what it re-queued.
                    names = sorted({_describe("effect", e.name) for e in queue + self._pending})
                    errors.append(
                        RunawayEffectError(
                            f"effects still re-triggering after {MAX_FLUSH_ROUNDS} rounds: {', '.join(names)}"
                        )
                    )
                    break
                queue = self._pending
                self._pending = []
                if len(queue) > 1:
                    queue.sort(key=_effect_order)
                for e in queue:
                    if e._disposed or e._state == CLEAN:
                        continue
                    try:
                        # DIRTY is checked too: a source the last run dropped may have fired.
                        if not self._sources_changed(e):
                            e._state = CLEAN
                            continue
                        self._run_effect(e)
                    except Exception as exc:
                        e._state = CLEAN
                        errors.append(exc)
        finally:
            self._batch_depth -= 1
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ExceptionGroup(f"{len(errors)} effects failed in one flush", errors)



_effect_order = attrgetter("_id")


def _link(obs: Computed[Any] | Effect, src: Signal[Any] | Computed[Any]) -> None:
    """Record a read that differs from the previous run's read at the same position.

    Subscribing at once (not after the run) means a body that writes what it
    just read is notified like any other writer's reader.
    """
    i = obs._cursor
    sources = obs._sources
    if i < len(sources):
        obs._stale.extend(sources[i:])
        del sources[i:]
        del obs._versions[i:]
    sources.append(src)
    obs._versions.append(src._version)
    obs._cursor = i + 1
    src._subs[obs] = None


_thread_id = threading.get_ident


class _Batch:
    """Context manager for Runtime.batch: flushes when the outermost batch exits."""

    __slots__ = ("_rt",)

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    def __enter__(self) -> None:
        self._rt._batch_depth += 1

    def __exit__(self, *exc_info: object) -> None:
        rt = self._rt
        rt._batch_depth -= 1
        if not rt._batch_depth and rt._pending:
            rt._flush()


class Signal(Generic[T]):
    """A writable value. Reading it inside a computed or effect subscribes."""

    __slots__ = ("_rt", "_value", "_version", "_subs", "_equals", "_token", "name")
    _state = CLEAN

    def __init__(self, rt: Runtime, value: T, equals: Callable[[T, T], bool] | None, name: str | None) -> None:
        self._rt = rt
        self._value = value
        self._version = 0
        self._subs: dict[Computed[Any] | Effect, None] = {}
        self._equals = equals
        self._token = 0
        self.name = name

    def get(self) -> T:
        obs = self._rt._observer
        if obs is not None and self._token != obs._token:
            self._token = obs._token
            i = obs._cursor
            sources = obs._sources
            if i < len(sources) and sources[i] is self:
                obs._versions[i] = self._version
                obs._cursor = i + 1
            else:
                _link(obs, self)
        return self._value

    def peek(self) -> T:
        return self._value

    def set(self, value: T) -> None:
        rt = self._rt
        if _thread_id() != rt._owner:
            self._hand_over(self.set, value)
            return
        if rt._computing:
            raise WriteInComputedError(
                f"{_describe('signal', self.name)} written while a computed was running; computeds must be pure"
            )
        old = self._value
        if old is value:
            return
        equals = self._equals
        if equals is None:
            if old == value:
                return
        elif equals(old, value):
            return
        self._value = value
        self._version += 1
        if self._subs:
            rt._mark(self)
            if not rt._batch_depth and rt._pending:
                rt._flush()

    def update(self, fn: Callable[[T], T]) -> None:
        if _thread_id() != self._rt._owner:
            # fn must see the value current on the owner, or concurrent updates are lost.
            self._hand_over(self.update, fn)
            return
        self.set(fn(self._value))

    def _hand_over(self, write: Callable[[Any], None], arg: Any) -> None:
        scheduler = self._rt.scheduler
        if scheduler is None:
            raise ReactiveError(
                f"{_describe('signal', self.name)} written from a foreign thread, "
                "but its runtime has no scheduler to hand the write to"
            )
        scheduler.call_soon_threadsafe(write, arg)

    def __repr__(self) -> str:
        return f"Signal({self.name or ''}={self._value!r})"


class Computed(Generic[T]):
    """A cached, lazily recomputed value derived from other nodes."""

    __slots__ = (
        "_rt", "_fn", "_value", "_error", "_error_tb", "_version", "_state", "_subs", "_sources",
        "_versions", "_cursor", "_stale", "_equals", "_token", "_disposed", "name",
    )

    def __init__(self, rt: Runtime, fn: Callable[[], T], equals: Callable[[T, T], bool] | None, name: str | None) -> None:
        if not callable(fn):
            raise TypeError(f"computed fn must be callable, got {type(fn).__name__}")
        self._rt = rt
        self._fn = fn
        self._value: Any = None
        self._error: BaseException | None = None
        self._error_tb: Any = None
        self._version = 0
        self._state = DIRTY
        self._subs: dict[Computed[Any] | Effect, None] = {}
        self._sources: list[Signal[Any] | Computed[Any]] = []
        self._versions: list[int] = []
        self._cursor = 0  # position of the next read in _sources during a run
        self._stale: list[Signal[Any] | Computed[Any]] = []  # sources displaced during a run
        self._equals = equals
        self._token = 0
        self._disposed = False
        self.name = name

    def _same(self, old: T, new: T) -> bool:
        equals = self._equals
        return old is new or (old == new if equals is None else equals(old, new))

    def get(self) -> T:
        if self._state != CLEAN:
            self._validate()
        # The same tracking as Signal.get, written out again: reads are the hottest
        # path, and a shared helper's call cost ~15% on read-heavy recomputes.
        obs = self._rt._observer
        if obs is not None and self._token != obs._token:
            self._token = obs._token
            i = obs._cursor
            sources = obs._sources
            if i < len(sources) and sources[i] is self:
                obs._versions[i] = self._version
                obs._cursor = i + 1
            else:
                _link(obs, self)
        if self._error is not None:
            raise self._error.with_traceback(self._error_tb)
        return self._value  # type: ignore[no-any-return]

    def peek(self) -> T:
        if self._state != CLEAN:
            self._validate()
        if self._error is not None:
            raise self._error.with_traceback(self._error_tb)
        return self._value  # type: ignore[no-any-return]

    def _validate(self) -> None:
        state = self._state
        if state == DISPOSED:
            raise DisposedError(f"{_describe('computed', self.name)} was read after dispose()")
        if state == RUNNING:
            raise CycleError(f"{_describe('computed', self.name)} depends on itself")
        rt = self._rt
        if rt._computing:  # inside another fn: let a too-deep read unwind to the outermost one
            if state == DIRTY:
                rt._recompute(self)
            else:
                rt._refresh(self)
        else:
            rt._evaluate(self)
        if self._state == DISPOSED:
            raise DisposedError(f"{_describe('computed', self.name)} was disposed while it ran")

    def dispose(self) -> None:
        if self._disposed:
            return
        self._disposed = True
        for src in self._sources:
            src._subs.pop(self, None)
        self._sources = []
        self._versions = []
        self._value = None
        self._error = None
        self._state = DISPOSED
        self._version += 1
        # Dependents must find out: their next read reports the disposal.
        if self._subs:
            rt = self._rt
            rt._mark(self)
            self._subs = {}
            if not rt._batch_depth and rt._pending:
                rt._flush()

    def __repr__(self) -> str:
        return f"Computed({self.name or ''})"


class Effect:
    """A side effect re-run, once per flush, when what it read changes."""

    __slots__ = (
        "_rt", "_fn", "_id", "_state", "_sources", "_versions", "_cursor", "_stale",
        "_cleanup", "_token", "_disposed", "name",
    )
    _subs = None  # effects have no dependents; _mark tells them apart by this

    def __init__(self, rt: Runtime, fn: EffectFn, name: str | None) -> None:
        if not callable(fn):
            raise TypeError(f"effect fn must be callable, got {type(fn).__name__}")
        self._rt = rt
        self._fn = fn
        self._id = rt._new_id()
        self._state = DIRTY
        self._sources: list[Signal[Any] | Computed[Any]] = []
        self._versions: list[int] = []
        self._cursor = 0  # position of the next read in _sources during a run
        self._stale: list[Signal[Any] | Computed[Any]] = []  # sources displaced during a run
        self._cleanup: Cleanup | None = None
        self._token = 0
        self._disposed = False
        self.name = name

    @property
    def disposed(self) -> bool:
        return self._disposed

    def dispose(self) -> None:
        if self._disposed:
            return
        self._disposed = True
        for src in self._sources:
            src._subs.pop(self, None)
        self._sources = []
        self._versions = []
        cleanup = self._cleanup
        self._cleanup = None
        if cleanup is not None:
            self._rt.untracked(cleanup)

    def __repr__(self) -> str:
        return f"Effect({self.name or ''})"
