"""`signalpy-kernel` (module `signalpy.kernel.reactive`) with the Runtime surface.

signalpy keeps its graph in module globals, so every "runtime" made here
shares one graph; the machines never let nodes of two runtimes meet, so that
is harmless. signalpy has no `untracked`: the adapter clears the active
consumer context variable around the call, which is what an untracked read
means there. signalpy ignores a cleanup returned by an effect, so the
"cleanups" feature is declared unsupported rather than emulated.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from glitchless.properties.peers import PeerNotInstalled

try:
    from signalpy.kernel import reactive as _sp
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise PeerNotInstalled("signalpy-kernel is not installed (pip install signalpy-kernel==0.4.0)", module="signalpy.kernel") from exc

R = TypeVar("R")


class _Signal:
    __slots__ = ("_s",)

    def __init__(self, value: Any) -> None:
        self._s = _sp.Signal(value)

    def get(self) -> Any:
        return self._s.get()

    def peek(self) -> Any:
        return self._s.peek()

    def set(self, value: Any, /) -> None:
        self._s.set(value)


class _Computed:
    __slots__ = ("_c",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._c = _sp.Computed(fn)

    def get(self) -> Any:
        return self._c.get()

    def peek(self) -> Any:
        return self._c.peek()

    def dispose(self) -> None:
        self._c.dispose()


class _Effect:
    __slots__ = ("_e",)

    def __init__(self, fn: Callable[[], Callable[[], None] | None]) -> None:
        self._e = _sp.Effect(fn)

    def dispose(self) -> None:
        self._e.dispose()


class SignalpyRuntime:
    unsupported = frozenset({"cleanups", "equals", "update"})

    def signal(self, value: Any, /) -> _Signal:
        return _Signal(value)

    def computed(self, fn: Callable[[], Any], /) -> _Computed:
        return _Computed(fn)

    def effect(self, fn: Callable[[], Callable[[], None] | None], /) -> _Effect:
        return _Effect(fn)

    def batch(self) -> AbstractContextManager[None]:
        cm: AbstractContextManager[None] = _sp.batch()
        return cm

    def untracked(self, fn: Callable[[], R], /) -> R:
        token = _sp._active_consumer.set(None)
        try:
            return fn()
        finally:
            _sp._active_consumer.reset(token)


    # -- the benchmark's direct surface (benchmarks/bench.py) ------------------
    # The peer's own objects and callables, so no adapter call sits on the
    # hot path: (node, read, write) for a signal, (node, read) for a computed,
    # a handle that keeps an effect alive, and recover() to put module-level
    # scheduler state back to idle after a run that failed half-way.

    def direct_signal(self, value: Any, /) -> tuple[Any, Callable[[], Any], Callable[[Any], None]]:
        s = _sp.Signal(value)
        return s, s.get, s.set

    def direct_computed(self, fn: Callable[[], Any], /) -> tuple[Any, Callable[[], Any]]:
        c = _sp.Computed(fn)
        return c, c.get

    def direct_effect(self, fn: Callable[[], None], /) -> Any:
        return _sp.Effect(fn)

    def recover(self) -> None:
        _sp._batch_depth = 0
        _sp._batch_queue.clear()
        _sp._active_consumer.set(None)


def runtime() -> SignalpyRuntime:
    return SignalpyRuntime()
