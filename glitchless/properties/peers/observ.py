"""`observ` (Vue-style watchers) with the Runtime surface.

A signal is a `ref` (a reactive dict read and written at key "value"); a
computed is observ's lazy `computed`; an effect is a `watch_effect` queued on
observ's scheduler. observ has no batch: its scheduler is told never to flush
by itself, and the adapter flushes at the end of the outermost batch and after
a write made outside one, which is when the other kernels run their effects.
observ's scheduler is module-global, so every "runtime" made here shares it.

Two differences from the other kernels, both observ's design: a computed has
no equality cut-off (a source that changes recomputes everything reading it,
even when the value it recomputes to is equal), and a computed cannot be
disposed ("dispose_computed" is declared unsupported). Effects ignore a
returned cleanup ("cleanups" unsupported).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from glitchless.properties.targets import TargetUnavailable

try:
    import observ as _ob
    from observ.dep import Dep as _Dep
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise TargetUnavailable("observ is not installed (pip install observ)") from exc

R = TypeVar("R")

_ob.scheduler.register_request_flush(lambda: None)  # flushes are the adapter's: see _flush_unless_batched
_depth = [0]  # batch nesting, shared like observ's scheduler


def _flush_unless_batched() -> None:
    if not _depth[0]:
        _ob.scheduler.flush()


def _untracked(fn: Callable[[], R]) -> R:
    saved = _Dep.stack[:]
    _Dep.stack.clear()
    try:
        return fn()
    finally:
        _Dep.stack[:] = saved


class _Signal:
    __slots__ = ("_r",)

    def __init__(self, value: Any) -> None:
        self._r = _ob.ref(value)

    def get(self) -> Any:
        return self._r["value"]

    def peek(self) -> Any:
        return _untracked(self.get)

    def set(self, value: Any, /) -> None:
        self._r["value"] = value
        _flush_unless_batched()


class _Computed:
    __slots__ = ("_c",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._c = _ob.computed(fn)

    def get(self) -> Any:
        return self._c()

    def peek(self) -> Any:
        return _untracked(self._c)

    def dispose(self) -> None:
        raise NotImplementedError("observ computeds cannot be disposed")


class _Effect:
    __slots__ = ("_w",)

    def __init__(self, fn: Callable[[], object]) -> None:
        def body() -> None:
            fn()  # a returned value would be watched deeply; an effect's result is ignored

        self._w = _ob.watch_effect(body, sync=False, deep=False)

    def dispose(self) -> None:
        self._w.stop()


@contextmanager
def _batch() -> Iterator[None]:
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
        _flush_unless_batched()


class ObservRuntime:
    unsupported = frozenset({"dispose_computed", "cleanups"})

    def signal(self, value: Any, /) -> _Signal:
        return _Signal(value)

    def computed(self, fn: Callable[[], Any], /) -> _Computed:
        return _Computed(fn)

    def effect(self, fn: Callable[[], Callable[[], None] | None], /) -> _Effect:
        e = _Effect(fn)
        _flush_unless_batched()
        return e

    def batch(self) -> AbstractContextManager[None]:
        return _batch()

    def untracked(self, fn: Callable[[], R], /) -> R:
        return _untracked(fn)

    # -- the benchmark's direct surface (benchmarks/bench.py) ------------------
    # The peer's own objects and callables, so no adapter call sits on the
    # hot path except where observ has none: a write must flush outside a batch.

    def direct_signal(self, value: Any, /) -> tuple[Any, Callable[[], Any], Callable[[Any], None]]:
        r = _ob.ref(value)
        put = functools.partial(r.__setitem__, "value")

        def write(v: Any) -> None:
            put(v)
            if not _depth[0]:
                _ob.scheduler.flush()

        return r, functools.partial(r.__getitem__, "value"), write

    def direct_computed(self, fn: Callable[[], Any], /) -> tuple[Any, Callable[[], Any]]:
        c = _ob.computed(fn)
        return c, c

    def direct_effect(self, fn: Callable[[], None], /) -> Any:
        w = _ob.watch_effect(fn, sync=False, deep=False)
        _flush_unless_batched()
        return w

    def recover(self) -> None:
        _depth[0] = 0
        _Dep.stack.clear()
        _ob.scheduler.clear()


def runtime() -> ObservRuntime:
    return ObservRuntime()
