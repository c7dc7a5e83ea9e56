"""`reaktiv` with the Runtime surface.

reaktiv's signals and computeds have no `peek`: the adapter reads them with
`reaktiv.untracked`. Computeds cannot be disposed, so "dispose_computed" is
declared unsupported. Effects are held only weakly by reaktiv; the machines
keep every handle for the life of a run.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from glitchless.properties.targets import TargetUnavailable

try:
    import reaktiv as _rk
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise TargetUnavailable("reaktiv is not installed (pip install reaktiv)") from exc

R = TypeVar("R")


class _Signal:
    __slots__ = ("_s",)

    def __init__(self, value: Any) -> None:
        self._s = _rk.Signal(value)

    def get(self) -> Any:
        return self._s.get()

    def peek(self) -> Any:
        return _rk.untracked(self._s.get)

    def set(self, value: Any, /) -> None:
        self._s.set(value)


class _Computed:
    __slots__ = ("_c",)

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._c = _rk.Computed(fn)

    def get(self) -> Any:
        return self._c.get()

    def peek(self) -> Any:
        return _rk.untracked(self._c.get)

    def dispose(self) -> None:
        raise NotImplementedError("reaktiv computeds cannot be disposed")


class _Effect:
    __slots__ = ("_e",)

    def __init__(self, fn: Callable[[], Callable[[], None] | None]) -> None:
        def body() -> Callable[[], None] | None:  # a zero-argument body: reaktiv passes no on_cleanup
            return fn()

        self._e = _rk.Effect(body)

    def dispose(self) -> None:
        self._e.dispose()


class ReaktivRuntime:
    unsupported = frozenset({"dispose_computed", "equals", "update"})

    def signal(self, value: Any, /) -> _Signal:
        return _Signal(value)

    def computed(self, fn: Callable[[], Any], /) -> _Computed:
        return _Computed(fn)

    def effect(self, fn: Callable[[], Callable[[], None] | None], /) -> _Effect:
        return _Effect(fn)

    def batch(self) -> AbstractContextManager[None]:
        cm: AbstractContextManager[None] = _rk.batch()
        return cm

    def untracked(self, fn: Callable[[], R], /) -> R:
        result: R = _rk.untracked(fn)
        return result


def runtime() -> ReaktivRuntime:
    return ReaktivRuntime()
