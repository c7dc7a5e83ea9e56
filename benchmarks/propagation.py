#!/usr/bin/env python3
"""Propagation benchmark: glitchless against peer Python reactive kernels.

    python benchmarks/propagation.py [--quick] [--kernels glitchless,signalpy-kernel,reaktiv,nervio]
                                     [--repeat N] [--budget SECONDS] [--timeout SECONDS]
    python benchmarks/propagation.py --profile avoidable,cellx5000   # cProfile glitchless instead

The workloads follow the shapes of the public js-reactivity-benchmark's
"kairo" set (deep, broad, diamond, triangle, mux, repeated observers,
unstable, avoidable propagation) plus the cellx layered graph at 1,000 and
5,000 layers. Each workload is written once against the small `Kernel`
adapter below; every kernel gets its own adapter.

Only the update phase is timed (the graph is built, and evaluated once,
beforehand). Kernels run interleaved in one process: for each repeat, for
each workload, each kernel in turn, on a freshly built graph. The reported
figure is the median over repeats. A kernel that raises (peers can hit
RecursionError on the deep graphs) or exceeds the per-run timeout is reported
as "error: ..." for that workload and not retried.

Every run is also checked: effect run counts, a few evaluation counts and the
values read are compared with what a glitch-free kernel with equality cut-off
must produce. Those expectations are derived by plain arithmetic on the
workload (the `expect_*` functions), never by running a kernel.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import operator
import signal as _os_signal
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Read = Callable[[], Any]
Write = Callable[[Any], object]
Observation = dict[str, Any]
Step = Callable[[], Observation]

try:  # let `python benchmarks/propagation.py` work from a checkout without PYTHONPATH
    import glitchless  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the script is launched
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


# ---------------------------------------------------------------------------
# Kernel adapters
# ---------------------------------------------------------------------------


class KernelUnavailable(Exception):
    """The kernel's package cannot be imported here."""


class RunTimeout(BaseException):
    """A single build-and-run took longer than the per-run timeout.

    A BaseException so that kernels which catch and log Exception from effect
    bodies cannot swallow it.
    """


class _Deadline:
    """Raise RunTimeout in the main thread after `seconds` (POSIX interval timer).

    Some peers take exponential time on layered graphs; without this a single
    run could hang the whole benchmark. A no-op where SIGALRM is unavailable.
    """

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._armed = False

    def _fire(self, signum: int, frame: object) -> None:
        raise RunTimeout(f"no result within {self.seconds:g}s")

    def __enter__(self) -> _Deadline:
        if self.seconds and hasattr(_os_signal, "setitimer"):
            try:
                self._previous = _os_signal.signal(_os_signal.SIGALRM, self._fire)
            except ValueError:  # not the main thread
                return self
            _os_signal.setitimer(_os_signal.ITIMER_REAL, self.seconds)
            self._armed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._armed:
            _os_signal.setitimer(_os_signal.ITIMER_REAL, 0)
            _os_signal.signal(_os_signal.SIGALRM, self._previous)
            self._armed = False


class Kernel:
    """The adapter surface every workload is written against.

    A fresh adapter is created for each graph build; `close()` tears the graph
    down (disposes effects) so nothing leaks into the next build.
    """

    name = "?"
    note = ""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self._disposers: list[Callable[[], object]] = []

    # Subclasses provide these.
    def signal(self, value: Any) -> tuple[Read, Write]:
        raise NotImplementedError

    def computed(self, fn: Read) -> Read:
        raise NotImplementedError

    def _effect(self, fn: Callable[[], None]) -> Callable[[], object]:
        """Create an effect running fn; return something that disposes it."""
        raise NotImplementedError

    def batch(self) -> AbstractContextManager[object]:
        raise NotImplementedError

    # Shared behaviour.
    def effect(self, fn: Callable[[], None]) -> None:
        # Some kernels log and swallow an effect's exception; record it here so
        # a failure (say a RecursionError) is reported the same way for all.
        errors = self.errors

        def body() -> None:
            try:
                fn()
            except Exception as exc:
                errors.append(exc)

        self._disposers.append(self._effect(body))

    def recover(self) -> None:
        """After a failed run, put any process-global kernel state back to idle.

        A RecursionError or timeout can unwind a kernel half-way through a
        flush; kernels with module-level scheduler state would otherwise carry
        that into the next run. The glitchless runtime is per-graph: nothing to do.
        """

    def close(self) -> None:
        disposers = self._disposers
        self._disposers = []
        for dispose in reversed(disposers):
            try:
                dispose()
            except Exception:
                pass


def _import(module: str) -> Any:
    """Import a peer kernel's module, untyped on purpose (not all peers ship types)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise KernelUnavailable(f"{type(exc).__name__}: {exc}") from exc


class GlitchlessKernel(Kernel):
    name = "glitchless"

    def __init__(self) -> None:
        super().__init__()
        from glitchless.kernel.reactive import Runtime

        self._rt = Runtime()

    def signal(self, value: Any) -> tuple[Read, Write]:
        s = self._rt.signal(value)
        return s.get, s.set

    def computed(self, fn: Read) -> Read:
        return self._rt.computed(fn).get

    def _effect(self, fn: Callable[[], None]) -> Callable[[], object]:
        return self._rt.effect(fn).dispose

    def batch(self) -> AbstractContextManager[object]:
        return self._rt.batch()


class SignalpyKernel(Kernel):
    name = "signalpy-kernel"
    note = "identity (`is`) equality only; no equality option"

    def __init__(self) -> None:
        super().__init__()
        self._m = _import("signalpy.kernel.reactive")
        self._computeds: list[Any] = []

    def signal(self, value: Any) -> tuple[Read, Write]:
        s = self._m.Signal(value)
        return s.get, s.set

    def computed(self, fn: Read) -> Read:
        c = self._m.Computed(fn)
        self._computeds.append(c)
        return c.get  # type: ignore[no-any-return]

    def _effect(self, fn: Callable[[], None]) -> Callable[[], object]:
        return self._m.Effect(fn).dispose  # type: ignore[no-any-return]

    def batch(self) -> AbstractContextManager[object]:
        return self._m.batch()  # type: ignore[no-any-return]

    def recover(self) -> None:
        m = self._m
        m._batch_depth = 0
        m._batch_queue.clear()
        m._active_consumer.set(None)

    def close(self) -> None:
        super().close()
        for c in self._computeds:
            c.dispose()
        self._computeds = []


class ReaktivKernel(Kernel):
    name = "reaktiv"
    note = "configured with equal=operator.eq (its default is identity); thread safety left at its default (on)"

    def __init__(self) -> None:
        super().__init__()
        self._m = _import("reaktiv")

    def signal(self, value: Any) -> tuple[Read, Write]:
        s = self._m.Signal(value, equal=operator.eq)
        return s.get, s.set

    def computed(self, fn: Read) -> Read:
        return self._m.Computed(fn, equal=operator.eq).get  # type: ignore[no-any-return]

    def _effect(self, fn: Callable[[], None]) -> Callable[[], object]:
        # reaktiv holds effects weakly: the bound dispose method keeps it alive.
        return self._m.Effect(fn).dispose  # type: ignore[no-any-return]

    def batch(self) -> AbstractContextManager[object]:
        return self._m.batch()  # type: ignore[no-any-return]

    def recover(self) -> None:
        state = _import("reaktiv.scheduler")._get_state()
        state.batch_depth = 0
        state.batched_effect_head = None
        _import("reaktiv.graph").active_consumer.set(None)


class NervioKernel(Kernel):
    name = "nervio"
    note = "default equality (operator.eq); global re-entrant lock"

    def __init__(self) -> None:
        super().__init__()
        self._m = _import("nervio")

    def signal(self, value: Any) -> tuple[Read, Write]:
        s = self._m.signal(value)
        return s, s.set  # nervio nodes are read by calling them

    def computed(self, fn: Read) -> Read:
        # nervio holds computeds weakly from their sources; the returned node
        # (held by the workload's closures) keeps it alive.
        return self._m.computed(fn)  # type: ignore[no-any-return]

    def _effect(self, fn: Callable[[], None]) -> Callable[[], object]:
        return self._m.effect(fn)  # type: ignore[no-any-return]

    def batch(self) -> AbstractContextManager[object]:
        return self._m.batch()  # type: ignore[no-any-return]

    def recover(self) -> None:
        scope = self._m._scope()
        scope.observer = scope.owner = None
        scope.batch_depth = 0
        scope.flushing = False
        scope.pending.clear()


KERNELS: dict[str, type[Kernel]] = {
    k.name: k for k in (GlitchlessKernel, SignalpyKernel, ReaktivKernel, NervioKernel)
}


# ---------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------


class Counter:
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


def busy(n: int) -> int:
    """A little CPU work standing in for an expensive computation."""
    a = 0
    for _ in range(n):
        a += 1
    return a


def changes(initial: Any, sequence: Sequence[Any]) -> int:
    """How many times a value differs (by ==) from the one before it."""
    count = 0
    prev = initial
    for v in sequence:
        if v != prev:
            count += 1
        prev = v
    return count


def kairo_writes(iters: int) -> list[int]:
    """The kairo write pattern: one write of 1, then 0, 1, ..., iters - 1."""
    return [1, *range(iters)]


# -- deep: a chain of computeds, one effect at the end ---------------------


def build_deep(k: Kernel, depth: int, iters: int) -> Step:
    read_head, write_head = k.signal(0)
    tail = read_head
    for _ in range(depth):
        tail = _plus(k, tail, 1)
        tail()
    runs = Counter()

    def observe() -> None:
        tail()
        runs.n += 1

    k.effect(observe)

    def step() -> Observation:
        runs.n = 0
        seen = []
        with k.batch():
            write_head(1)
        for i in range(iters):
            with k.batch():
                write_head(i)
            seen.append(tail())
        return {"effect_runs": runs.n, "reads": seen}

    return step


def _plus(k: Kernel, src: Read, n: int) -> Read:
    return k.computed(lambda: src() + n)


def expect_deep(depth: int, iters: int) -> Observation:
    tails = [h + depth for h in kairo_writes(iters)]
    return {"effect_runs": changes(depth, tails), "reads": tails[1:]}


# -- broad: one head, many two-node branches each with an effect ------------


def build_broad(k: Kernel, width: int, iters: int) -> Step:
    read_head, write_head = k.signal(0)
    runs = Counter()
    last = read_head
    for i in range(width):
        first = _plus(k, read_head, i)
        second = _plus(k, first, 1)
        _counting_effect(k, second, runs)
        last = second

    def step() -> Observation:
        runs.n = 0
        seen = []
        with k.batch():
            write_head(1)
        for i in range(iters):
            with k.batch():
                write_head(i)
            seen.append(last())
        return {"effect_runs": runs.n, "reads": seen}

    return step


def _counting_effect(k: Kernel, src: Read, runs: Counter) -> None:
    def observe() -> None:
        src()
        runs.n += 1

    k.effect(observe)


def expect_broad(width: int, iters: int) -> Observation:
    heads = kairo_writes(iters)
    runs = sum(changes(j + 1, [h + j + 1 for h in heads]) for j in range(width))
    return {"effect_runs": runs, "reads": [h + width for h in heads[1:]]}


# -- diamond: head fans out to `width` computeds, summed by one -------------


def build_diamond(k: Kernel, width: int, iters: int) -> Step:
    read_head, write_head = k.signal(0)
    branches = [_plus(k, read_head, 1) for _ in range(width)]
    evals = Counter()

    def total() -> int:
        evals.n += 1
        s = 0
        for b in branches:
            s += b()
        return s

    read_sum = k.computed(total)
    runs = Counter()
    _counting_effect(k, read_sum, runs)

    def step() -> Observation:
        runs.n = evals.n = 0
        seen = []
        with k.batch():
            write_head(1)
        seen.append(read_sum())
        for i in range(iters):
            with k.batch():
                write_head(i)
            seen.append(read_sum())
        return {"effect_runs": runs.n, "sum_evals": evals.n, "reads": seen}

    return step


def expect_diamond(width: int, iters: int) -> Observation:
    heads = kairo_writes(iters)
    sums = [(h + 1) * width for h in heads]
    return {"effect_runs": changes(width, sums), "sum_evals": changes(0, heads), "reads": sums}


# -- triangle: a chain whose every node also feeds one sum -------------------


def build_triangle(k: Kernel, width: int, iters: int) -> Step:
    read_head, write_head = k.signal(0)
    nodes = [read_head]
    for _ in range(width - 1):
        nodes.append(_plus(k, nodes[-1], 1))
        nodes[-1]()
    evals = Counter()

    def total() -> int:
        evals.n += 1
        s = 0
        for n in nodes:
            s += n()
        return s

    read_sum = k.computed(total)
    runs = Counter()
    _counting_effect(k, read_sum, runs)

    def step() -> Observation:
        runs.n = evals.n = 0
        seen = []
        for i in kairo_writes(iters):
            with k.batch():
                write_head(i)
                seen.append(read_sum())  # read inside the batch, before effects run
        return {"effect_runs": runs.n, "sum_evals": evals.n, "reads": seen}

    return step


def expect_triangle(width: int, iters: int) -> Observation:
    heads = kairo_writes(iters)
    sums = [sum(h + j for j in range(width)) for h in heads]
    initial = sum(range(width))
    return {"effect_runs": changes(initial, sums), "sum_evals": changes(0, heads), "reads": sums}


# -- mux: many heads folded into one dict, split back out --------------------


def build_mux(k: Kernel, heads: int, rounds: int) -> Step:
    signals = [k.signal(0) for _ in range(heads)]
    readers = [r for r, _ in signals]
    mux_evals = Counter()
    split_evals = Counter()

    def fold() -> dict[int, Any]:
        mux_evals.n += 1
        return {i: r() for i, r in enumerate(readers)}

    read_mux = k.computed(fold)

    def pick(i: int) -> Read:
        def fn() -> Any:
            split_evals.n += 1
            return read_mux()[i]

        return k.computed(fn)

    outs = [_plus(k, pick(i), 1) for i in range(heads)]
    runs = Counter()
    for out in outs:
        _counting_effect(k, out, runs)
    touched = min(10, heads)

    def step() -> Observation:
        runs.n = mux_evals.n = split_evals.n = 0
        seen = []
        for r in range(rounds):
            for i in range(touched):
                signals[i][1](i * (r + 1))  # unbatched writes
                seen.append(outs[i]())
        return {
            "effect_runs": runs.n,
            "mux_evals": mux_evals.n,
            "split_evals": split_evals.n,
            "reads": seen,
        }

    return step


def expect_mux(heads: int, rounds: int) -> Observation:
    values = [0] * heads
    changed = 0
    seen = []
    for r in range(rounds):
        for i in range(min(10, heads)):
            new = i * (r + 1)
            if new != values[i]:
                changed += 1  # one head differs: the fold, every split, one +1 node
            values[i] = new
            seen.append(new + 1)
    return {
        "effect_runs": changed,
        "mux_evals": changed,
        "split_evals": changed * heads,
        "reads": seen,
    }


# -- repeated observers: one computed reading the head many times -----------


def build_repeated(k: Kernel, size: int, iters: int) -> Step:
    read_head, write_head = k.signal(0)

    def total() -> int:
        s = 0
        for _ in range(size):
            s += read_head()
        return s

    read_total = k.computed(total)
    runs = Counter()
    _counting_effect(k, read_total, runs)

    def step() -> Observation:
        runs.n = 0
        seen = []
        for i in kairo_writes(iters):
            with k.batch():
                write_head(i)
            seen.append(read_total())
        return {"effect_runs": runs.n, "reads": seen}

    return step


def expect_repeated(size: int, iters: int) -> Observation:
    totals = [h * size for h in kairo_writes(iters)]
    return {"effect_runs": changes(0, totals), "reads": totals}


# -- unstable: dependencies flip with the head's parity -----------------------


def build_unstable(k: Kernel, size: int, iters: int) -> Step:
    read_head, write_head = k.signal(0)
    double = k.computed(lambda: read_head() * 2)
    inverse = k.computed(lambda: -read_head())
    evals = Counter()

    def mixed() -> int:
        evals.n += 1
        s = 0
        for _ in range(size):
            s += double() if read_head() % 2 else inverse()
        return s

    read_mixed = k.computed(mixed)
    runs = Counter()
    _counting_effect(k, read_mixed, runs)

    def step() -> Observation:
        runs.n = evals.n = 0
        seen = []
        for i in kairo_writes(iters):
            with k.batch():
                write_head(i)
            seen.append(read_mixed())
        return {"effect_runs": runs.n, "mixed_evals": evals.n, "reads": seen}

    return step


def expect_unstable(size: int, iters: int) -> Observation:
    heads = kairo_writes(iters)
    values = [size * (2 * h if h % 2 else -h) for h in heads]
    return {"effect_runs": changes(0, values), "mixed_evals": changes(0, heads), "reads": values}


# -- avoidable propagation: a change that dies out early ---------------------


def build_avoidable(k: Kernel, iters: int, work: int) -> Step:
    read_head, write_head = k.signal(0)
    c1 = k.computed(lambda: read_head())
    c2_evals = Counter()
    heavy_evals = Counter()

    def constant() -> int:
        c2_evals.n += 1
        c1()
        return 0

    c2 = k.computed(constant)

    def heavy() -> Any:
        heavy_evals.n += 1
        busy(work)
        return c2() + 1

    c3 = k.computed(heavy)
    c4 = _plus(k, c3, 2)
    c5 = _plus(k, c4, 3)
    runs = Counter()

    def observe() -> None:
        c5()
        busy(work)
        runs.n += 1

    k.effect(observe)

    def step() -> Observation:
        runs.n = c2_evals.n = heavy_evals.n = 0
        seen = []
        write_head(1)
        seen.append(c5())
        for i in range(iters):
            with k.batch():
                write_head(i)
                seen.append(c5())
        return {
            "effect_runs": runs.n,
            "c2_evals": c2_evals.n,
            "heavy_evals": heavy_evals.n,
            "reads": seen,
        }

    return step


def expect_avoidable(iters: int, work: int) -> Observation:
    heads = kairo_writes(iters)
    return {
        "effect_runs": 0,  # c2 is constant, so nothing past it ever changes
        "c2_evals": changes(0, heads),
        "heavy_evals": 0,
        "reads": [6] * len(heads),  # 0 + 1 + 2 + 3
    }


# -- cellx: layers of four cross-wired computeds, an effect on each ----------


def build_cellx(k: Kernel, layers: int) -> Step:
    start = [k.signal(v) for v in (1, 2, 3, 4)]
    prev: list[Read] = [r for r, _ in start]
    runs = Counter()
    for _ in range(layers):
        prev = _cellx_layer(k, prev)
        for node in prev:
            _counting_effect(k, node, runs)
        for node in prev:
            node()
    end = prev

    def step() -> Observation:
        runs.n = 0
        before = [r() for r in end]
        with k.batch():
            for (_, write), v in zip(start, (4, 3, 2, 1)):
                write(v)
        after = [r() for r in end]
        return {"effect_runs": runs.n, "before": before, "after": after}

    return step


def _cellx_layer(k: Kernel, prev: list[Read]) -> list[Read]:
    p1, p2, p3, p4 = prev
    return [
        k.computed(lambda: p2()),
        k.computed(lambda: p1() - p3()),
        k.computed(lambda: p2() + p4()),
        k.computed(lambda: p3()),
    ]


def _cellx_layers(first: tuple[int, int, int, int], layers: int) -> list[tuple[int, int, int, int]]:
    out = []
    p1, p2, p3, p4 = first
    for _ in range(layers):
        p1, p2, p3, p4 = p2, p1 - p3, p2 + p4, p3
        out.append((p1, p2, p3, p4))
    return out


def expect_cellx(layers: int) -> Observation:
    before = _cellx_layers((1, 2, 3, 4), layers)
    after = _cellx_layers((4, 3, 2, 1), layers)
    runs = sum(b != a for lb, la in zip(before, after) for b, a in zip(lb, la))
    return {"effect_runs": runs, "before": list(before[-1]), "after": list(after[-1])}


# -- the registry -------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    name: str
    build: Callable[..., Step]
    expect: Callable[..., Observation]
    full: dict[str, int]
    quick: dict[str, int]
    tiny: dict[str, int] = field(default_factory=dict)

    def params(self, size: str) -> dict[str, int]:
        return {"full": self.full, "quick": self.quick, "tiny": self.tiny}[size]


WORKLOADS: list[Workload] = [
    Workload("deep", build_deep, expect_deep,
             full={"depth": 50, "iters": 400}, quick={"depth": 50, "iters": 100},
             tiny={"depth": 5, "iters": 4}),
    Workload("broad", build_broad, expect_broad,
             full={"width": 50, "iters": 200}, quick={"width": 50, "iters": 50},
             tiny={"width": 3, "iters": 4}),
    Workload("diamond", build_diamond, expect_diamond,
             full={"width": 5, "iters": 2000}, quick={"width": 5, "iters": 500},
             tiny={"width": 3, "iters": 4}),
    Workload("triangle", build_triangle, expect_triangle,
             full={"width": 10, "iters": 1000}, quick={"width": 10, "iters": 250},
             tiny={"width": 4, "iters": 4}),
    Workload("mux", build_mux, expect_mux,
             full={"heads": 100, "rounds": 20}, quick={"heads": 100, "rounds": 5},
             tiny={"heads": 12, "rounds": 3}),
    Workload("repeated", build_repeated, expect_repeated,
             full={"size": 30, "iters": 2000}, quick={"size": 30, "iters": 500},
             tiny={"size": 3, "iters": 4}),
    Workload("unstable", build_unstable, expect_unstable,
             full={"size": 20, "iters": 1000}, quick={"size": 20, "iters": 250},
             tiny={"size": 3, "iters": 5}),
    Workload("avoidable", build_avoidable, expect_avoidable,
             full={"iters": 4000, "work": 100}, quick={"iters": 1000, "work": 100},
             tiny={"iters": 4, "work": 3}),
    Workload("cellx1000", build_cellx, expect_cellx,
             full={"layers": 1000}, quick={"layers": 1000}, tiny={"layers": 10}),
    Workload("cellx5000", build_cellx, expect_cellx,
             full={"layers": 5000}, quick={"layers": 5000}, tiny={"layers": 50}),
]


# ---------------------------------------------------------------------------
# Running and checking
# ---------------------------------------------------------------------------


def short_error(exc: BaseException, phase: str) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    text = text.split(" while ")[0]  # "maximum recursion depth exceeded while calling ..."
    if len(text) > 50:
        text = text[:47] + "..."
    name = type(exc).__name__
    return f"{name} in {phase}: {text}" if text else f"{name} in {phase}"


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def compare(expected: Observation, got: Observation) -> str:
    """'ok', or 'WRONG (expected X, got Y; ...)' naming every observation that differs."""
    wrong = []
    for key, want in expected.items():
        have = got.get(key)
        if have == want:
            continue
        if isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
            i = next(j for j, (a, b) in enumerate(zip(want, have)) if a != b)
            wrong.append(f"expected {key}[{i}]={_brief(want[i])}, got {_brief(have[i])}")
        else:
            wrong.append(f"expected {key}={_brief(want)}, got {_brief(have)}")
    return f"WRONG ({'; '.join(wrong)})" if wrong else "ok"


@dataclass
class Outcome:
    """One (workload, kernel) cell: timings so far and the verdict."""

    times: list[float] = field(default_factory=list)
    status: str = "ok"
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def correct(self) -> bool:
        return self.error is None and self.status == "ok"

    @property
    def verdict(self) -> str:
        return f"error: {self.error}" if self.error is not None else self.status


def run_once(kernel_cls: type[Kernel], workload: Workload, params: dict[str, int],
             expected: Observation, *, timed: bool = True,
             timeout: float | None = None) -> tuple[float | None, str, str | None]:
    """Build, run the update phase once, check it. Returns (seconds, status, error)."""
    kernel = kernel_cls()
    phase = "build"
    try:
        try:
            with _Deadline(timeout):
                step = workload.build(kernel, **params)
                if kernel.errors:
                    raise kernel.errors[0]
                phase = "update"
                if timed:
                    gc.collect()
                    t0 = time.perf_counter()
                    got = step()
                    elapsed: float | None = time.perf_counter() - t0
                else:
                    got = step()
                    elapsed = None
            if kernel.errors:
                raise kernel.errors[0]
        except (Exception, RunTimeout) as exc:
            kernel.recover()
            return None, "error", short_error(exc, phase)
        return elapsed, compare(expected, got), None
    finally:
        try:
            kernel.close()
        except Exception:
            pass


def check_workloads(kernel_cls: type[Kernel], size: str = "tiny",
                    names: Sequence[str] | None = None) -> dict[str, str]:
    """Run each workload once, untimed, and return its verdict ('ok', 'WRONG (...)', 'error: ...')."""
    verdicts = {}
    for w in WORKLOADS:
        if names is not None and w.name not in names:
            continue
        params = w.params(size)
        _, status, error = run_once(kernel_cls, w, params, w.expect(**params), timed=False)
        verdicts[w.name] = f"error: {error}" if error is not None else status
    return verdicts


def available_kernels(names: Sequence[str]) -> tuple[list[type[Kernel]], list[str]]:
    usable, notes = [], []
    for name in names:
        cls = KERNELS.get(name)
        if cls is None:
            notes.append(f"{name}: unknown kernel (known: {', '.join(KERNELS)})")
            continue
        try:
            cls().close()
        except KernelUnavailable as exc:
            notes.append(f"{name}: skipped, not importable ({exc})")
            continue
        usable.append(cls)
    return usable, notes


def run_benchmark(kernels: list[type[Kernel]], size: str, repeat: int, budget: float,
                  timeout: float | None, log: Callable[[str], None]) -> dict[str, dict[str, Outcome]]:
    results: dict[str, dict[str, Outcome]] = {
        w.name: {k.name: Outcome() for k in kernels} for w in WORKLOADS
    }
    expectations = {w.name: w.expect(**w.params(size)) for w in WORKLOADS}
    for r in range(repeat):
        log(f"repeat {r + 1}/{repeat} ...")
        for w in WORKLOADS:
            for k in kernels:
                cell = results[w.name][k.name]
                if cell.error is not None:
                    continue  # errors are deterministic: don't retry
                if cell.times and sum(cell.times) > budget:
                    continue  # this pair has had its time budget
                elapsed, status, error = run_once(k, w, w.params(size), expectations[w.name],
                                                  timeout=timeout)
                if error is not None:
                    cell.error = error
                    cell.times.clear()
                    continue
                assert elapsed is not None
                cell.times.append(elapsed)
                if status != "ok" and cell.status == "ok":
                    cell.status = status
    return results


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def geomean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def format_report(results: dict[str, dict[str, Outcome]], kernels: list[type[Kernel]],
                  size: str, repeat: int) -> str:
    base = GlitchlessKernel.name
    names = [k.name for k in kernels]
    peers = [n for n in names if n != base]
    lines = []
    header = f"{'workload':<11} {'kernel':<16} {'median ms':>10} {'n':>3}  {'glitchless/peer':>15} {'speedup':>8}  check"
    lines.append(header)
    lines.append("-" * len(header) + "-" * 30)
    for w in WORKLOADS:
        row = results[w.name]
        g = row[base].median if base in row else None
        for i, name in enumerate(names):
            cell = row[name]
            med = cell.median
            ms = f"{med * 1e3:10.2f}" if med is not None else f"{'-':>10}"
            ratio = speed = "-"
            if name != base and g is not None and med is not None:
                ratio = f"{g / med:.2f}"
                speed = f"{med / g:.2f}x"
            label = w.name if i == 0 else ""
            lines.append(f"{label:<11} {name:<16} {ms} {len(cell.times):>3}  {ratio:>15} {speed:>8}  {cell.verdict}")
    lines.append("")
    if base in names:
        for peer in peers:
            both = [(results[w.name][base], results[w.name][peer]) for w in WORKLOADS]
            timed = [(g, p) for g, p in both if g.median is not None and p.median is not None]
            correct = [(g, p) for g, p in timed if g.correct and p.correct]
            parts = []
            if timed:
                gm = geomean([p.median / g.median for g, p in timed])  # type: ignore[operator]
                parts.append(f"{gm:.2f}x over {len(timed)} timed workloads")
            if correct and len(correct) != len(timed):
                gm = geomean([p.median / g.median for g, p in correct])  # type: ignore[operator]
                parts.append(f"{gm:.2f}x over the {len(correct)} where both are correct")
            errors = sum(1 for _, p in both if p.error is not None)
            if errors:
                parts.append(f"{errors} workloads errored on {peer}")
            text = "; ".join(parts) if parts else "no comparable workloads"
            lines.append(f"geometric mean speedup of glitchless vs {peer}: {text}")
        lines.append("")
    for name in names:
        small, big = results["cellx1000"][name].median, results["cellx5000"][name].median
        if small is not None and big is not None:
            lines.append(f"cellx5000/cellx1000 time for {name}: {big / small:.2f}x (5x would be linear)")
    return "\n".join(lines)


def format_goals(results: dict[str, dict[str, Outcome]], names: list[str]) -> str:
    base = GlitchlessKernel.name
    if base not in names:
        return ""
    row = {w.name: results[w.name][base] for w in WORKLOADS}
    lines = ["goals:"]

    def mark(ok: bool) -> str:
        return "MET    " if ok else "NOT MET"

    all_ok = all(c.correct for c in row.values())
    lines.append(f"  {mark(all_ok)} glitchless correct on every workload")
    speedups: dict[str, list[float]] = {}
    for peer in (n for n in names if n != base):
        speedups[peer] = [
            results[w.name][peer].median / row[w.name].median  # type: ignore[operator]
            for w in WORKLOADS
            if row[w.name].median is not None and results[w.name][peer].median is not None
        ]
    if "signalpy-kernel" in speedups and speedups["signalpy-kernel"]:
        gm = geomean(speedups["signalpy-kernel"])
        lines.append(f"  {mark(gm >= 1.5)} >= 1.5x faster than signalpy-kernel (geometric mean {gm:.2f}x)")
    if "reaktiv" in names:
        slower = [
            w.name for w in WORKLOADS
            if results[w.name]["reaktiv"].median is not None and row[w.name].median is not None
            and row[w.name].median >= results[w.name]["reaktiv"].median  # type: ignore[operator]
        ]
        errored = [w.name for w in WORKLOADS if results[w.name]["reaktiv"].error is not None]
        extra = f"; reaktiv errored on {', '.join(errored)}" if errored else ""
        lines.append(f"  {mark(not slower)} faster than reaktiv on every workload it completes"
                     + (f" (not on: {', '.join(slower)})" if slower else "") + extra)
    if "nervio" in speedups and speedups["nervio"]:
        gm = geomean(speedups["nervio"])
        slower = [
            w.name for w in WORKLOADS
            if results[w.name]["nervio"].median is not None and row[w.name].median is not None
            and row[w.name].median >= results[w.name]["nervio"].median  # type: ignore[operator]
        ]
        lines.append(f"  {mark(gm > 1.0)} faster than nervio (ideal; geometric mean {gm:.2f}x"
                     + (f", slower on: {', '.join(slower)})" if slower else ")"))
    small, big = row["cellx1000"].median, row["cellx5000"].median
    if small is not None and big is not None:
        lines.append(f"  {mark(big / small <= 6.0)} linear in depth on cellx (5000/1000 = {big / small:.2f}x, goal <= ~6x)")
    return "\n".join(lines)


def profile_workloads(kernel_cls: type[Kernel], names: Sequence[str], size: str, top: int = 12) -> str:
    """cProfile the update phase of each named workload; list the top functions by own time."""
    import cProfile
    import pstats

    out = []
    by_name = {w.name: w for w in WORKLOADS}
    for name in names:
        w = by_name.get(name)
        if w is None:
            out.append(f"{name}: unknown workload (known: {', '.join(by_name)})")
            continue
        kernel = kernel_cls()
        try:
            step = w.build(kernel, **w.params(size))
            gc.collect()
            profiler = cProfile.Profile()
            profiler.runcall(step)
        finally:
            kernel.close()
        stats = pstats.Stats(profiler)
        table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
        rows = sorted(table.items(), key=lambda kv: kv[1][2], reverse=True)
        total = sum(v[2] for v in table.values()) or 1.0
        out.append(f"== {name} on {kernel_cls.name}: {total * 1e3:.1f} ms profiled (own time; cumulative)")
        out.append(f"   {'own %':>6} {'cum %':>6} {'calls':>9}  function")
        for (filename, line, func), (_, ncalls, tottime, cumtime, _) in rows[:top]:
            where = f"{Path(filename).name}:{line}" if line else "~"
            out.append(f"   {100 * tottime / total:6.1f} {100 * cumtime / total:6.1f} {ncalls:>9}  {func} ({where})")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller workloads and fewer repeats")
    parser.add_argument("--kernels", default=",".join(KERNELS),
                        help="comma-separated kernels to run (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="repeats per workload and kernel (default 7, or 3 with --quick)")
    parser.add_argument("--budget", type=float, default=None,
                        help="stop repeating a (workload, kernel) pair once its runs total this many "
                             "seconds (default 4, or 1 with --quick)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="give up on a single build-and-run after this many seconds and report it "
                             "as an error (default 20, or 5 with --quick; 0 disables)")
    parser.add_argument("--profile", metavar="WORKLOADS", default=None,
                        help="instead of benchmarking, cProfile these comma-separated workloads "
                             "on the first kernel of --kernels (default glitchless)")
    args = parser.parse_args(argv)
    size = "quick" if args.quick else "full"
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 7)
    budget = args.budget if args.budget is not None else (1.0 if args.quick else 4.0)
    timeout = args.timeout if args.timeout is not None else (5.0 if args.quick else 20.0)
    if repeat < 1:
        parser.error("--repeat must be at least 1")

    requested = [n.strip() for n in args.kernels.split(",") if n.strip()]
    kernels, notes = available_kernels(requested)
    if not kernels:
        print("no usable kernels:\n  " + "\n  ".join(notes))
        return 2
    if args.profile:
        print(profile_workloads(kernels[0], [n.strip() for n in args.profile.split(",") if n.strip()], size))
        return 0
    print(f"python {sys.version.split()[0]}, size={size}, repeat={repeat}, budget={budget:g}s per pair, "
          f"timeout={timeout:g}s per run; "
          "times are the update phase only (graph built beforehand)")
    for k in kernels:
        if k.note:
            notes.append(f"{k.name}: {k.note}")
    for note in notes:
        print(f"note: {note}")
    t0 = time.perf_counter()
    results = run_benchmark(kernels, size, repeat, budget, timeout or None,
                            log=lambda s: print(s, file=sys.stderr, flush=True))
    print()
    print(format_report(results, kernels, size, repeat))
    goals = format_goals(results, [k.name for k in kernels])
    if goals:
        print()
        print(goals)
    print(f"\ntotal wall time {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
