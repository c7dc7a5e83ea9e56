"""`nervio` with the Runtime surface.

nervio's `effect(fn)` returns a dispose function and registers cleanups with
`nervio.on_cleanup`; the adapter passes a cleanup returned by the body to
`on_cleanup` during the same run. Computeds have no public dispose, so
"dispose_computed" is declared unsupported.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from glitchless.properties.peers import PeerNotInstalled

try:
    import nervio as _nv
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise PeerNotInstalled("nervio is not installed (pip install nervio)", module="nervio") from exc

R = TypeVar("R")


class _Signal:
    __slots__ = ("_s",)

    def __init__(self, value: Any) -> None:
        self._s = _nv.signal(value)

    def get(self) -> Any:
        return self._s()

    def peek(self) -> Any:
        return self._s.peek()

    def set(self, value: Any, /) -> None:
        self._s.set(value)


class _Computed:
    __slots__ = ("_c",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._c = _nv.computed(fn)

    def get(self) -> Any:
        return self._c()

    def peek(self) -> Any:
        return self._c.peek()

    def dispose(self) -> None:
        raise NotImplementedError("nervio computeds cannot be disposed")


class _Effect:
    __slots__ = ("_dispose",)

    def __init__(self, fn: Callable[[], Callable[[], None] | None]) -> None:
        def body() -> None:
            cleanup = fn()
            if callable(cleanup):
                _nv.on_cleanup(cleanup)

        self._dispose: Callable[[], None] = _nv.effect(body)

    def dispose(self) -> None:
        self._dispose()


class NervioRuntime:
    unsupported = frozenset({"dispose_computed", "equals", "update"})

    def signal(self, value: Any, /) -> _Signal:
        return _Signal(value)

    def computed(self, fn: Callable[[], Any], /) -> _Computed:
        return _Computed(fn)

    def effect(self, fn: Callable[[], Callable[[], None] | None], /) -> _Effect:
        return _Effect(fn)

    def batch(self) -> AbstractContextManager[None]:
        cm: AbstractContextManager[None] = _nv.batch()
        return cm

    def untracked(self, fn: Callable[[], R], /) -> R:
        result: R = _nv.untrack(fn)
        return result


    # -- the benchmark's direct surface (benchmarks/bench.py) ------------------
    # The peer's own objects and callables, so no adapter call sits on the
    # hot path: (node, read, write) for a signal, (node, read) for a computed,
    # a handle that keeps an effect alive, and recover() to put module-level
    # scheduler state back to idle after a run that failed half-way.

    def direct_signal(self, value: Any, /) -> tuple[Any, Callable[[], Any], Callable[[Any], None]]:
        s = _nv.signal(value)
        return s, s, s.set  # nervio nodes are read by calling them

    def direct_computed(self, fn: Callable[[], Any], /) -> tuple[Any, Callable[[], Any]]:
        c = _nv.computed(fn)  # held weakly by its sources: the caller keeps the node
        return c, c

    def direct_effect(self, fn: Callable[[], None], /) -> Any:
        return _nv.effect(fn)

    def recover(self) -> None:
        scope = _nv._scope()
        scope.observer = scope.owner = None
        scope.batch_depth = 0
        scope.flushing = False
        scope.pending.clear()


def runtime() -> NervioRuntime:
    return NervioRuntime()
