"""`reaktiv` with the Runtime surface.

reaktiv's signals and computeds have no `peek`: the adapter reads them with
`reaktiv.untracked`. Computeds cannot be disposed, so "dispose_computed" is
declared unsupported. Effects are held only weakly by reaktiv; the machines
keep every handle for the life of a run.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from glitchless.properties.peers import PeerNotInstalled

try:
    import reaktiv as _rk
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise PeerNotInstalled("reaktiv is not installed (pip install reaktiv)", module="reaktiv") from exc

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


    # -- the benchmark's direct surface (benchmarks/bench.py) ------------------
    # The peer's own objects and callables, so no adapter call sits on the
    # hot path: (node, read, write) for a signal, (node, read) for a computed,
    # a handle that keeps an effect alive, and recover() to put module-level
    # scheduler state back to idle after a run that failed half-way.
    # Signals and computeds get equal=operator.eq: reaktiv's default is identity,
    # which would recompute on every equal value and so miss the cut-off.

    def direct_signal(self, value: Any, /) -> tuple[Any, Callable[[], Any], Callable[[Any], None]]:
        s = _rk.Signal(value, equal=operator.eq)
        return s, s.get, s.set

    def direct_computed(self, fn: Callable[[], Any], /) -> tuple[Any, Callable[[], Any]]:
        c = _rk.Computed(fn, equal=operator.eq)
        return c, c.get

    def direct_effect(self, fn: Callable[[], None], /) -> Any:
        return _rk.Effect(fn)  # held weakly by reaktiv: the caller keeps the handle

    def recover(self) -> None:
        import reaktiv.graph
        import reaktiv.scheduler

        state = reaktiv.scheduler._get_state()
        state.batch_depth = 0
        state.batched_effect_head = None
        reaktiv.graph.active_consumer.set(None)


def runtime() -> ReaktivRuntime:
    return ReaktivRuntime()
