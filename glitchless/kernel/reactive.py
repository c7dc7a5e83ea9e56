"""The reactive core: signals, computeds and effects on an explicit Runtime.

Push-pull with versioned nodes. A write pushes cheap marks (DIRTY on direct
dependents, CHECK further out) and queues effects; nothing is recomputed
until someone reads. A read pulls: a CHECK node compares the versions it
recorded for its sources with their current versions, refreshing computed
sources first, and recomputes only if one differs. Effects compare values
instead: a queued effect re-runs only if a dependency's value differs from
the one its last run saw. Both walks use explicit stacks so a 10,000-deep
chain never touches Python's recursion limit.

Only observed computeds (with subscribers) are subscribed to their sources.
An unobserved one stays in CHECK and re-validates by version when read,
unless nothing at all was written since its last check (the runtime's epoch),
so computeds nobody observes any more cost writes nothing and can be freed.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from operator import attrgetter
from types import FunctionType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast, overload

from glitchless.kernel._mypyc import mypyc_attr

if TYPE_CHECKING:
    from glitchless.kernel.async_effect import AsyncEffect, AsyncEffectFn

T = TypeVar("T")
R = TypeVar("R")

# Node states. Signals are always CLEAN; RUNNING marks a computed whose fn is
# on the call stack, which is how a cycle is recognised. A queued effect is
# CHECK (compare values first) or DIRTY (must run).
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


def _raise(errors: list[Exception], message: str) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup(message, errors)


@mypyc_attr(allow_interpreted_subclasses=True)  # compiled, it may still be subclassed (tests do)
class Runtime:
    """One independent reactive graph. Two runtimes never share state."""

    __slots__ = (
        "_observer", "_batch_depth", "_computing", "_pending", "_next_id", "_owner", "_creator", "_epoch",
        "_running", "_scope", "scheduler", "_foreign",
    )

    def __init__(self, *, scheduler: Scheduler | None = None) -> None:
        self._observer: Computed[Any] | Effect | None = None
        self._batch_depth = 0
        self._computing = 0  # computed fns on the stack: writes are refused while > 0; bounded by MAX_NESTING
        self._pending: list[Effect] = []
        self._next_id = 0
        self._epoch = 0  # counts writes: an unobserved computed checked in this epoch is current
        self._running: Effect | None = None  # the effect whose body is running
        self._scope: Scope | None = None
        self._creator = threading.get_ident()
        # With a scheduler the owner is whichever thread runs its loop: unknown until one does (see _claim).
        self._owner: int | None = None if scheduler is not None else self._creator
        self.scheduler = scheduler
        self._foreign = threading.local()  # per foreign thread: the computeds it is evaluating (cycles)

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
        # An async def body runs as tasks on the scheduler; a function's flags say so cheaper than inspect.
        if fn.__code__.co_flags & inspect.CO_COROUTINE if type(fn) is FunctionType else inspect.iscoroutinefunction(fn):
            from glitchless.kernel.async_effect import AsyncEffect

            return AsyncEffect(self, cast("AsyncEffectFn", fn), name=name, cancel_on_supersede=cancel_on_supersede)
        if cancel_on_supersede:
            raise TypeError("cancel_on_supersede applies to async effects only")
        e = Effect(self, fn, name)  # type: ignore[arg-type]  # not async, so an EffectFn (no cast: a call at run time)
        errors: list[Exception] = []
        try:
            try:
                self._run_effect(e)
            except Exception as exc:
                errors.append(exc)
                # A first run that failed leaves no effect to run again: disposed before the flush.
                self._dispose_collecting(e, errors)
            # What it wrote before failing still reaches its readers.
            if not self._batch_depth and self._pending:
                try:
                    self._flush()
                except Exception as exc:
                    errors.append(exc)
        except BaseException as exc:
            _dispose_noting(e, exc)
            raise
        if errors:
            # No effect stays live without a handle: the caller gets none when this raises.
            self._dispose_collecting(e, errors)
            _raise(errors, f"{_describe('effect', e.name)}: creating it failed (its run, its cleanups, the flush after it)")
        return e

    @staticmethod
    def _dispose_collecting(e: Effect, errors: list[Exception]) -> None:
        try:
            e.dispose()
        except Exception as exc:
            errors.append(exc)

    def batch(self) -> _Batch:
        return _Batch(self)

    def scope(self, *, name: str | None = None) -> Scope:
        return Scope(self, name)

    @overload
    def untracked(self) -> _Untracked: ...
    @overload
    def untracked(self, fn: Callable[[], R]) -> R: ...
    def untracked(self, fn: Callable[[], R] | None = None) -> R | _Untracked:
        if fn is None:
            return _Untracked(self)
        prev = self._observer
        self._observer = None
        try:
            return fn()
        finally:
            self._observer = prev

    def on_cleanup(self, fn: Cleanup) -> None:
        """Register fn to run before the running effect's next run and when it is disposed (or with the scope)."""
        if not callable(fn):
            raise TypeError(f"on_cleanup needs a callable, got {type(fn).__name__}")
        if self._computing:
            raise ReactiveError("on_cleanup() called inside a computed; only effects and scopes have cleanups")
        running = self._running
        if running is not None:
            if running._cleanups is None:
                running._cleanups = [fn]
            else:
                running._cleanups.append(fn)
        elif self._scope is not None:
            self._scope.add(fn)
        else:
            raise ReactiveError("on_cleanup() called outside an effect's run and outside a scope")

    def current_effect(self) -> Effect | None:
        """The effect whose body is running (also during its first run, before rt.effect returns)."""
        return self._running

    def current_scope(self) -> Scope | None:
        return self._scope

    def set_flush_order(self, effect: Effect, order: int) -> None:
        """Pending effects run in ascending order, by default their creation order.

        Giving a new effect the order of one it replaces makes it run in that one's place.
        """
        effect._id = order

    def flush_order(self, effect: Effect) -> int:
        """Where `effect` stands in the flush order (see `set_flush_order`)."""
        return effect._id

    # -- for effect kinds built on the core (async effects) -------------

    def track(self, effect: Effect, step: Callable[[], R]) -> R:
        """Run step as a run of `effect` without running its fn: step's reads replace effect's dependencies.

        As in an effect's run, the values step reads are what the next flush compares
        against, and its writes wait for the next flush (see flush()).
        """
        return self._track(effect, step)

    def flush(self) -> None:
        """Run the pending effects now, unless inside a batch or an effect's run (then the batch flushes)."""
        if not self._batch_depth and self._pending:
            self._flush()

    # -- internals ------------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _claim(self) -> bool:
        """Is the calling thread the owner? Asked on every call when there is a scheduler (no owner is remembered).

        While the scheduler's loop runs, the thread running it owns the runtime; otherwise
        (or without a scheduler) the thread that created it does.
        """
        tid = threading.get_ident()
        scheduler = self.scheduler
        if scheduler is not None:
            import asyncio  # only a runtime with a scheduler needs it

            try:
                running: object = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is scheduler:  # owner only while the loop runs here: never remembered, whoever it is
                return True
            is_running = getattr(scheduler, "is_running", None)
            if callable(is_running) and is_running():
                return False
        return tid == self._creator

    def _mark(self, origin: Signal[Any] | Computed[Any]) -> None:
        """Mark direct dependents DIRTY and everything downstream CHECK; queue the effects reached."""
        pending = self._pending
        stack: list[Computed[Any]] = []
        for node in origin._subs:
            state = node._state
            if node._subs is None:  # an effect: the flush compares the values it saw
                if state == CLEAN:
                    node._state = CHECK
                    pending.append(node)
            else:
                node._state = DIRTY
                if state == CLEAN:
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
        positions, epoch = [0], self._epoch
        while stack:
            node = stack[-1]
            state = node._state
            if state == CHECK:  # (never one current by epoch: the scan below skips those, and so does _validate)
                sources = node._sources
                versions = node._versions
                i = positions[-1]
                n = len(sources)
                stale_source: Computed[Any] | None = None
                while i < n:
                    src = sources[i]
                    src_state = src._state
                    if src_state != CLEAN and (src_state != CHECK or src._checked != epoch):  # type: ignore[union-attr]
                        if src_state != DIRTY:
                            if src_state != DISPOSED:
                                stale_source = src  # type: ignore[assignment]
                            break
                        self._recompute(src)  # type: ignore[arg-type]  # in place: no trip round the walk
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
                    node._state = CLEAN if node._subs else CHECK
                    node._checked = epoch
                    stack.pop()
                    positions.pop()
                    continue
                state = DIRTY
            if state == DIRTY:
                self._recompute(node)
            stack.pop()
            positions.pop()

    def _evaluate_foreign(self, node: Computed[T]) -> T:
        """A foreign thread's read: the fn evaluated there, nothing cached (rule 9); a cycle still
        raises CycleError instead of recursing until Python's limit."""
        evaluating: list[Computed[Any]] | None = getattr(self._foreign, "evaluating", None)
        if evaluating is None:
            evaluating = self._foreign.evaluating = []
        if any(n is node for n in evaluating):
            raise CycleError(f"{_describe('computed', node.name)} depends on itself")
        evaluating.append(node)
        try:
            return node._fn()
        finally:
            evaluating.pop()

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
        except BaseException:
            # An interrupt (or _EvaluateFirst) abandons the run: the next read runs fn again.
            node._state = DIRTY
            raise
        finally:
            self._computing -= 1
            self._observer = prev
        if node._cursor != len(node._sources) or node._stale or node._disposed:  # else it read what it read before
            self._adopt_sources(node)
        if node._disposed:  # it disposed itself while running: it stays disposed
            node._state = DISPOSED
            return
        changed = True
        if error is None and node._error is None and node._version:
            old, equals = node._value, node._equals
            try:  # the equality written out (not a helper): this runs once per recompute
                changed = not (old is value or (old == value if equals is None else equals(old, value)))
            except Exception as exc:  # a failing equals fails the computed, as its fn would
                error = exc
            except BaseException:
                node._state = DIRTY
                raise
        node._state = CLEAN if node._subs else CHECK
        node._checked = self._epoch
        if error is not None:
            node._error = error
            node._error_tb = error.__traceback__
            node._version += 1
        elif changed:
            node._error = None
            node._value = value
            node._version += 1

    def _adopt_sources(self, node: Computed[Any] | Effect) -> None:
        """After a run: drop the sources it no longer read."""
        sources = node._sources
        stale, node._stale = node._stale or [], None
        end = 0 if node._disposed else node._cursor
        if end < len(sources):
            stale += sources[end:]
            del sources[end:]
            del node._versions[end:]
        if stale:
            keep = set(sources)
            for src in stale:
                if src not in keep:
                    _unsubscribe(node, src)

    def _sources_changed(self, e: Effect) -> bool:
        for src, seen in zip(e._sources, e._versions):
            state = src._state
            if state != CLEAN:
                if state == DISPOSED:  # its next run reads the disposal as its error: a change unless seen
                    if not _same_error(seen, _read_after_dispose(src)):  # type: ignore[arg-type]
                        return True
                    continue
                try:  # directly; only a too-deep first evaluation needs _evaluate
                    self._recompute(src) if state == DIRTY else self._refresh(src)  # type: ignore[arg-type]
                except _EvaluateFirst:
                    self._evaluate(src)  # type: ignore[arg-type]
            error, value = src._error, src._value
            if error is not None:
                if not _same_error(seen, error):  # a different error, or an error instead of a value
                    return True
            elif seen is value:
                continue
            elif isinstance(seen, BaseException):  # a value after an error
                return True
            else:
                equals = src._equals  # the node's one equality, as for its own cut-off
                if not (seen == value if equals is None else equals(seen, value)):
                    return True
        return False

    def _track(self, e: Effect, fn: Callable[[], R]) -> R:
        prev, prev_scope = self._observer, self._scope
        self._observer = e
        self._scope = e._scope  # what a run creates belongs to the effect's scope
        self._next_id = e._token = self._next_id + 1
        e._cursor = 0
        self._batch_depth += 1  # writes made by the run are flushed by our caller
        try:
            return fn()
        finally:
            self._batch_depth -= 1
            self._observer = prev
            self._scope = prev_scope
            if e._cursor != len(e._sources) or e._stale or e._disposed:
                self._adopt_sources(e)

    def _run_cleanups(self, e: Effect, errors: list[Exception]) -> None:
        cleanups = e._cleanups
        if cleanups is None:
            return
        e._cleanups = None
        for k, cleanup in enumerate(cleanups):
            try:
                self.untracked(cleanup)
            except Exception as exc:
                errors.append(exc)
            except BaseException:
                rest = cleanups[k + 1 :]  # they still run, later, before any registered since
                e._cleanups = rest if e._cleanups is None else rest + e._cleanups
                raise

    def _run_effect(self, e: Effect) -> None:
        e._state = CLEAN
        errors: list[Exception] = []  # a cleanup's, then the run's: both propagate
        if e._cleanups:
            try:
                self._run_cleanups(e, errors)
            except BaseException:
                e._state = DIRTY  # interrupted: it runs at the next flush
                raise
            if e._disposed:  # a cleanup disposed it: the run about to start does not happen
                _raise(errors, f"{_describe('effect', e.name)}: its cleanups failed")
                return
        prev = self._running
        self._running = e
        try:
            result = self._track(e, e._fn)
        except Exception as exc:
            if not errors:
                raise
            errors.append(exc)
            result = None
        except BaseException:
            e._state = DIRTY
            raise
        finally:
            self._running = prev
        if result is not None and callable(result):
            if e._disposed:
                try:
                    self.untracked(result)
                except Exception as exc:
                    errors.append(exc)
            elif e._cleanups is None:
                e._cleanups = [result]
            else:
                e._cleanups.append(result)
        if errors:
            _raise(errors, f"{_describe('effect', e.name)}: its cleanup and its run failed")

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
                k = 0
                try:
                    for k, e in enumerate(queue):
                        if e._disposed or e._state == CLEAN:
                            continue
                        if e._state == CHECK:
                            try:
                                changed = self._sources_changed(e)
                            except Exception as exc:
                                errors.append(exc)
                                # The sources after the one whose equals raised were not looked at: bring
                                # them up to date, or a stale one would keep later writes from reaching e.
                                for src in e._sources:
                                    if src._state == CHECK or src._state == DIRTY:
                                        self._evaluate(src)  # type: ignore[arg-type]
                                e._state = CLEAN
                                continue
                            if not changed:
                                e._state = CLEAN
                                continue
                        try:
                            self._run_effect(e)
                        except Exception as exc:
                            errors.append(exc)
                except BaseException:
                    # An interrupt propagates at once; what it cut short runs at the next flush.
                    # (Not twice: the run it interrupted may have queued its own effect again.)
                    self._pending[:0] = [x for x in queue[k:] if not x._disposed and x not in self._pending]
                    raise
        finally:
            self._batch_depth -= 1
        if errors:
            _raise(errors, f"{len(errors)} effects failed in one flush")


_effect_order = attrgetter("_id")


def _dispose_noting(e: Effect, exc: BaseException) -> None:
    try:
        e.dispose()
    except Exception as cleanup_exc:
        exc.add_note(f"while disposing the new effect: {cleanup_exc!r}")


def _link(obs: Computed[Any] | Effect, src: Signal[Any] | Computed[Any]) -> None:
    """Record a read that differs from the previous run's read at the same position.

    Subscribing at once (not after the run) means a body that writes what it
    just read is notified like any other writer's reader.
    """
    i = obs._cursor
    sources = obs._sources
    if i < len(sources):
        obs._stale = sources[i:] if obs._stale is None else obs._stale + sources[i:]
        del sources[i:]
        del obs._versions[i:]
    sources.append(src)
    subs = obs._subs
    seen: list[Any] = obs._versions
    if subs is None:  # an effect remembers the value it saw (errors included): the flush compares values
        seen.append(src._value if src._error is None else src._error)
    else:
        seen.append(src._version)
    obs._cursor = i + 1
    if subs is None or subs:  # an unobserved computed does not subscribe (see the module docstring)
        _subscribe(obs, src)


# Every node without subscribers shares this one empty dict; only _subscribe gives a node its own.
_NO_SUBS: dict[Any, None] = {}


def _subscribe(obs: Computed[Any] | Effect, src: Signal[Any] | Computed[Any]) -> None:
    subs = src._subs
    if not subs:
        if isinstance(src, Computed):
            # Its first subscriber: it and its unobserved sources subscribe to their sources.
            epoch = src._rt._epoch
            stack: list[Computed[Any]] = [src]
            while stack:
                node = stack.pop()
                if node._state == CHECK and node._checked == epoch:
                    node._state = CLEAN
                for s in node._sources:
                    s_subs = s._subs
                    if not s_subs:
                        if isinstance(s, Computed):
                            stack.append(s)
                        if s_subs is _NO_SUBS:
                            s._subs = s_subs = {}
                    s_subs[node] = None
        subs = src._subs  # the walk gave it its own dict if its sources lead back to it
        if subs is _NO_SUBS:
            src._subs = subs = {}
    subs[obs] = None


def _unsubscribe(obs: Computed[Any] | Effect, src: Signal[Any] | Computed[Any]) -> None:
    subs = src._subs
    if obs not in subs:
        return
    del subs[obs]
    if subs:
        return
    src._subs = _NO_SUBS
    if not isinstance(src, Computed):
        return
    # Its last subscriber went: it and the sources only it observed unsubscribe, and
    # from now on re-validate when read.
    epoch = src._rt._epoch
    stack: list[Computed[Any]] = [src]
    while stack:
        node = stack.pop()
        if node._state == CLEAN:
            node._state = CHECK
            node._checked = epoch
        for s in node._sources:
            s_subs = s._subs
            if node in s_subs:
                del s_subs[node]
                if not s_subs:
                    s._subs = _NO_SUBS
                    if isinstance(s, Computed):
                        stack.append(s)


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


class _Untracked:
    """Context manager for Runtime.untracked(): reads inside subscribe nothing."""

    __slots__ = ("_rt", "_prev")

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._prev: Computed[Any] | Effect | None = None

    def __enter__(self) -> None:
        self._prev = self._rt._observer
        self._rt._observer = None

    def __exit__(self, *exc_info: object) -> None:
        self._rt._observer = self._prev


def _read_after_dispose(node: Computed[Any]) -> DisposedError:
    return DisposedError(f"{_describe('computed', node.name)} was read after dispose()")


def _same_error(old: Any, new: BaseException) -> bool:
    # A computed that fails again the same way (same type, same arguments) has not changed.
    return old is new or (type(old) is type(new) and old.args == new.args)


class Signal(Generic[T]):
    """A writable value. Reading it inside a computed or effect subscribes."""

    __slots__ = ("_rt", "_value", "_version", "_subs", "_equals", "_token", "name")
    _state = CLEAN
    _error = None  # what an effect's seen value compares against, as for a computed

    def __init__(self, rt: Runtime, value: T, equals: Callable[[T, T], bool] | None, name: str | None) -> None:
        self._rt = rt
        self._value = value
        self._version = 0
        self._subs: dict[Computed[Any] | Effect, None] = _NO_SUBS
        self._equals = equals
        self._token = 0
        self.name = name

    def get(self) -> T:
        rt = self._rt
        obs = rt._observer
        # A foreign thread records nothing (rule 9), not even a source the previous run read here.
        if obs is not None and self._token != obs._token and (_thread_id() == rt._owner or rt._claim()):
            self._token = obs._token
            i = obs._cursor
            sources = obs._sources
            if i < len(sources) and sources[i] is self:
                # A computed records the version it saw, an effect the value (see _link).
                obs._versions[i] = self._version if obs._subs is not None else self._value
                obs._cursor = i + 1
            else:
                _link(obs, self)
        return self._value

    def peek(self) -> T:
        return self._value

    def set(self, value: T) -> None:
        rt = self._rt
        if _thread_id() != rt._owner and not rt._claim():
            self._hand_over(self.set, value)
            return
        if rt._computing:
            raise WriteInComputedError(
                f"{_describe('signal', self.name)} written while a computed was running; computeds must be pure"
            )
        old = self._value
        if old is not value:
            equals = self._equals
            if not (old == value if equals is None else equals(old, value)):
                self._value = value
                self._version += 1
                rt._epoch += 1
                if self._subs:
                    rt._mark(self)
        # Also runs what an interrupted flush left pending.
        if rt._pending and not rt._batch_depth:
            rt._flush()

    def update(self, fn: Callable[[T], T]) -> None:
        if _thread_id() != self._rt._owner and not self._rt._claim():
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
        "_versions", "_cursor", "_stale", "_equals", "_token", "_checked", "_disposed", "name",
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
        self._subs: dict[Computed[Any] | Effect, None] = _NO_SUBS
        self._sources: list[Signal[Any] | Computed[Any]] = []
        self._versions: list[Any] = []  # the version it saw of each source
        self._cursor = 0  # position of the next read in _sources during a run
        self._stale: list[Signal[Any] | Computed[Any]] | None = None  # sources displaced during a run
        self._equals = equals
        self._token = 0
        self._checked = -1  # the epoch of its last check, which an unobserved computed relies on
        self._disposed = False
        self.name = name
        if rt._scope is not None:
            rt._scope.add(self.dispose)

    def get(self) -> T:
        if self._state != CLEAN and not self._validate():
            return self._rt._evaluate_foreign(self)  # nothing cached (rule 9)
        # The same tracking as Signal.get, written out again: reads are the hottest
        # path, and a shared helper's call cost ~15% on read-heavy recomputes.
        rt = self._rt
        obs = rt._observer
        if obs is not None and self._token != obs._token and (_thread_id() == rt._owner or rt._claim()):
            self._token = obs._token
            i = obs._cursor
            sources = obs._sources
            if i < len(sources) and sources[i] is self:
                if obs._subs is not None:
                    obs._versions[i] = self._version
                else:
                    obs._versions[i] = self._value if self._error is None else self._error
                obs._cursor = i + 1
            else:
                _link(obs, self)
        if self._error is not None:
            raise self._error.with_traceback(self._error_tb)
        return self._value  # type: ignore[no-any-return]

    def peek(self) -> T:
        if self._state != CLEAN and not self._validate():
            return self._rt._evaluate_foreign(self)
        if self._error is not None:
            raise self._error.with_traceback(self._error_tb)
        return self._value  # type: ignore[no-any-return]

    def _validate(self) -> bool:
        """Bring it up to date; False when read from a foreign thread, which must not touch the graph."""
        state = self._state
        rt = self._rt
        if state == CHECK and self._checked == rt._epoch:
            return True
        if state == DISPOSED:
            raise _read_after_dispose(self)
        if _thread_id() != rt._owner and not rt._claim():
            return False
        if state == RUNNING:
            raise CycleError(f"{_describe('computed', self.name)} depends on itself")
        try:
            rt._recompute(self) if state == DIRTY else rt._refresh(self)
        except _EvaluateFirst:
            if rt._computing:  # inside another fn: a too-deep first read unwinds to the outermost one
                raise
            rt._evaluate(self)
        if self._state == DISPOSED:
            raise DisposedError(f"{_describe('computed', self.name)} was disposed while it ran")
        return True

    def dispose(self) -> None:
        if self._disposed:
            return
        self._disposed = True
        for src in self._sources:
            _unsubscribe(self, src)
        self._sources = []
        self._versions = []
        self._value = None
        self._error = None
        self._state = DISPOSED
        self._version += 1
        rt = self._rt
        rt._epoch += 1
        # Dependents must find out: their next read reports the disposal.
        if self._subs:
            rt._mark(self)
            self._subs = _NO_SUBS
            if not rt._batch_depth and rt._pending:
                rt._flush()

    def __repr__(self) -> str:
        return f"Computed({self.name or ''})"


class Effect:
    """A side effect re-run, once per flush, when what it read changes."""

    __slots__ = (
        "_rt", "_fn", "_id", "_state", "_sources", "_versions", "_cursor", "_stale",
        "_cleanups", "_token", "_disposed", "_scope", "name",
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
        self._versions: list[Any] = []  # the value (or error) it saw of each source
        self._cursor = 0  # position of the next read in _sources during a run
        self._stale: list[Signal[Any] | Computed[Any]] | None = None  # sources displaced during a run
        self._cleanups: list[Cleanup] | None = None  # made by the first cleanup: most effects have none
        self._token = 0
        self._disposed = False
        self._scope = rt._scope
        self.name = name
        if self._scope is not None:
            self._scope.add(self.dispose)

    @property
    def disposed(self) -> bool:
        return self._disposed

    def dispose(self) -> None:
        if self._disposed:
            return
        self._disposed = True
        for src in self._sources:
            _unsubscribe(self, src)
        self._sources = []
        self._versions = []
        errors: list[Exception] = []
        self._rt._run_cleanups(self, errors)
        _raise(errors, f"{_describe('effect', self.name)}: its cleanups failed")

    def __repr__(self) -> str:
        return f"Effect({self.name or ''})"


class Scope:
    """Owns what is created inside it (computeds, effects, inner scopes, cleanups); dispose() disposes them all."""

    __slots__ = ("_rt", "_owned", "_outer", "_disposed", "name")

    def __init__(self, rt: Runtime, name: str | None) -> None:
        self._rt = rt
        self._owned: list[Cleanup] = []
        self._outer: list[Scope | None] = []
        self._disposed = False
        self.name = name
        if rt._scope is not None:
            rt._scope.add(self.dispose)

    @property
    def disposed(self) -> bool:
        return self._disposed

    def __enter__(self) -> Scope:
        if self._disposed:
            raise ReactiveError(f"{_describe('scope', self.name)} was entered after dispose()")
        self._outer.append(self._rt._scope)
        self._rt._scope = self
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._rt._scope = self._outer.pop()

    def run(self, fn: Callable[[], R]) -> R:
        with self:
            return fn()

    def add(self, dispose: Cleanup) -> None:
        """Call `dispose` when the scope is disposed (at once if it already is)."""
        if self._disposed:
            dispose()
        else:
            self._owned.append(dispose)

    def dispose(self) -> None:
        """Dispose everything it owns, newest first; their errors propagate once all are disposed."""
        if self._disposed:
            return
        self._disposed = True
        owned, self._owned = self._owned, []
        errors: list[Exception] = []
        rt = self._rt
        rt._batch_depth += 1  # effects reading a disposed computed run once, after everything is disposed
        try:
            for dispose in reversed(owned):
                try:
                    dispose()
                except Exception as exc:
                    errors.append(exc)
        finally:
            rt._batch_depth -= 1
        try:
            rt.flush()
        except Exception as exc:
            errors.append(exc)
        _raise(errors, f"{_describe('scope', self.name)}: disposing failed")
