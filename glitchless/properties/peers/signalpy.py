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

from glitchless.properties.targets import TargetUnavailable

try:
    from signalpy.kernel import reactive as _sp
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise TargetUnavailable("signalpy-kernel is not installed (pip install signalpy-kernel==0.4.0)") from exc

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


def runtime() -> SignalpyRuntime:
    return SignalpyRuntime()
