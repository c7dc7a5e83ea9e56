#!/usr/bin/env python3
"""Benchmark: glitchless (pure and compiled) against peer kernels and the hand-called limit.

    python benchmarks/bench.py [--quick] [--repeat N] [--kernels a,b,...] [--workloads a,b,...]
                               [--compiled-python PATH] [--timeout SECONDS]

Workloads: the kairo set (avoidable, broad, deep, diamond, mux, repeated,
triangle, unstable), cellx at 1k, 5k, 10k and 50k layers, a graph over 100k
signals and a 10k fan-out. Each is written once against a tiny surface
(`signal(v) -> (read, write)`, `computed(fn) -> read`, `effect(fn)`,
`batch()`); peers get it through the direct surface of the adapters in
`glitchless.properties.peers`, so no adapter call sits on their hot path.

How it is measured:
- every (kernel, workload) run is a fresh interpreter (a subprocess); the
  runs are interleaved: for each repeat, for each workload, each kernel;
- three phases are timed apart, as CPU time (time.process_time) with the
  garbage collector on: build (creating signals and computeds), first
  evaluation (creating effects and reading every computed once) and updates;
- the figure is the median over repeats;
- every process raises the recursion limit and runs the workload on a thread
  with a 512 MiB stack, so no kernel drops out of the deep graphs;
- `limit` is the floor: the same user functions, called by hand exactly as
  often as an ideal lazy, glitch-free kernel with equality cut-off must call
  them (`Hand` below; each workload writes its ideal propagation out);
- every run is checked against values and call counts derived by arithmetic
  (`expect_*`); a mismatch prints WRONG. observ has no equality cut-off, so it
  legitimately evaluates more: its count mismatches print `nc` (values must
  still match);
- bytes per signal, computed (evaluated, one source) and effect (one source)
  come from tracemalloc in a fresh process per kernel.
`--compiled-python` points at the interpreter of a venv where glitchless was
installed with GLITCHLESS_COMPILE=1; its runs appear as `glitchless-c`.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # `python benchmarks/bench.py` from a checkout without an install
    import glitchless  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the script is launched
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

Read = Callable[[], Any]
Write = Callable[[Any], object]
Observation = dict[str, Any]

PEERS = {
    "signalpy-kernel": "glitchless.properties.peers.signalpy",
    "reaktiv": "glitchless.properties.peers.reaktiv",
    "nervio": "glitchless.properties.peers.nervio",
    "observ": "glitchless.properties.peers.observ",
}
NO_CUTOFF = {"observ"}  # kernels without equality cut-off: more evaluations, same values
KERNELS = ["limit", "glitchless", "glitchless-c", *PEERS]
STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 1_000_000


# ---------------------------------------------------------------------------
# Kernels: one small surface for the workloads
# ---------------------------------------------------------------------------


class Kernel:
    """What a workload builds its graph with. Holds every node it made."""

    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.keep: list[Any] = []  # nodes and effect handles: some peers hold them weakly
        direct = hasattr(rt, "direct_signal")
        self._direct = direct

    def signal(self, value: Any) -> tuple[Read, Write]:
        if self._direct:
            node, read, write = self.rt.direct_signal(value)
        else:  # the glitchless Runtime itself
            node = self.rt.signal(value)
            read, write = node.get, node.set
        self.keep.append(node)
        return read, write

    def computed(self, fn: Read) -> Read:
        if self._direct:
            node, read = self.rt.direct_computed(fn)
        else:
            node = self.rt.computed(fn)
            read = node.get
        self.keep.append(node)
        return read  # type: ignore[no-any-return]

    def effect(self, fn: Callable[[], None]) -> None:
        self.keep.append(self.rt.direct_effect(fn) if self._direct else self.rt.effect(fn))

    def batch(self) -> AbstractContextManager[object]:
        return self.rt.batch()  # type: ignore[no-any-return]

    def recover(self) -> None:
        if hasattr(self.rt, "recover"):
            self.rt.recover()


class Cell:
    """The limit's computed: a stored value and the user function, nothing else."""

    __slots__ = ("fn", "value")

    def __init__(self, fn: Read) -> None:
        self.fn = fn
        self.value: Any = None

    def get(self) -> Any:
        return self.value

    def run(self) -> bool:
        """Call the user function; True when the value changed (the ideal cut-off)."""
        new = self.fn()
        old = self.value
        self.value = new
        return not (new is old or new == old)


class Source:
    """The limit's signal: a value, and a write that hands over to the ideal propagation."""

    __slots__ = ("hand", "value")

    def __init__(self, hand: Hand, value: Any) -> None:
        self.hand = hand
        self.value = value

    def get(self) -> Any:
        return self.value

    def set(self, v: Any) -> None:
        old = self.value
        if v is old or v == old:
            return
        self.value = v
        hand = self.hand
        hand.changed = True
        if not hand.depth:
            hand.changed = False
            hand.propagate()


class Hand(Kernel):
    """The limit: user functions called by hand, as often as an ideal kernel must.

    Signals are cells; a write stores and notes the change. At the end of the
    outermost batch (or right after a write outside one) the workload's own
    `propagate` runs: the ideal recomputation, written out for that graph.
    First evaluation calls every computed, then every effect, in creation order.
    """

    def __init__(self) -> None:
        super().__init__(None)
        self.cells: list[Cell] = []
        self.effects: list[Callable[[], None]] = []
        self.propagate: Callable[[], None] = lambda: None
        self.depth = 0
        self.changed = False

    def signal(self, value: Any) -> tuple[Read, Write]:
        source = Source(self, value)
        return source.get, source.set

    def computed(self, fn: Read) -> Read:
        cell = Cell(fn)
        self.cells.append(cell)
        return cell.get

    def effect(self, fn: Callable[[], None]) -> None:
        self.effects.append(fn)

    @contextmanager
    def _batch(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if not self.depth and self.changed:
                self.changed = False
                self.propagate()

    def batch(self) -> AbstractContextManager[object]:
        return self._batch()

    def first(self) -> None:
        for cell in self.cells:
            cell.value = cell.fn()
        for fn in self.effects:
            fn()


def cells(reads: Sequence[Read]) -> list[Cell]:
    """The limit's cells behind its readers (each reader is a bound Cell.get)."""
    return [r.__self__ for r in reads]  # type: ignore[attr-defined]


def make_kernel(name: str) -> Kernel:
    if name == "limit":
        return Hand()
    if name in ("glitchless", "glitchless-c"):
        from glitchless.kernel.reactive import Runtime

        return Kernel(Runtime())
    return Kernel(importlib.import_module(PEERS[name]).runtime())


# ---------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------


class Counter:
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


@dataclass
class Graph:
    """A built graph: `first` evaluates it once, `update` runs the writes and observes."""

    first: Callable[[], None]
    update: Callable[[], Observation]


def busy(n: int) -> int:
    a = 0
    for _ in range(n):
        a += 1
    return a


def changes(initial: Any, sequence: Sequence[Any]) -> int:
    count, prev = 0, initial
    for v in sequence:
        count += v != prev
        prev = v
    return count


def kairo_writes(iters: int) -> list[int]:
    return [1, *range(iters)]


def _plus(k: Kernel, src: Read, n: int) -> Read:
    return k.computed(lambda: src() + n)


def _counting(src: Read, runs: Counter) -> Callable[[], None]:
    def observe() -> None:
        src()
        runs.n += 1

    return observe


def _first(k: Kernel, effects: Sequence[Callable[[], None]], reads: Sequence[Read]) -> Callable[[], None]:
    """First evaluation: create the effects, then read what they do not."""

    def first() -> None:
        if isinstance(k, Hand):
            for fn in effects:
                k.effect(fn)
            k.first()
            return
        for fn in effects:
            k.effect(fn)
        for r in reads:
            r()

    return first


def _chain(cs: Sequence[Cell]) -> bool:
    for c in cs:
        if not c.run():
            return False
    return True


# -- deep: a chain of computeds, one effect at the end ------------------------


def build_deep(k: Kernel, depth: int, iters: int) -> Graph:
    head, write = k.signal(0)
    chain = [head]
    for _ in range(depth):
        chain.append(_plus(k, chain[-1], 1))
    tail = chain[-1]
    runs = Counter()
    observe = _counting(tail, runs)
    if isinstance(k, Hand):
        cs = cells(chain[1:])
        k.propagate = lambda: _chain(cs) and observe()  # type: ignore[func-returns-value]

    def update() -> Observation:
        runs.n = 0
        seen = []
        for i in kairo_writes(iters):
            with k.batch():
                write(i)
            seen.append(tail())
        return {"effect_runs": runs.n, "reads": seen}

    return Graph(_first(k, [observe], chain[1:]), update)


def expect_deep(depth: int, iters: int) -> Observation:
    tails = [h + depth for h in kairo_writes(iters)]
    return {"effect_runs": changes(depth, tails), "reads": tails}


# -- broad: one head, many two-node branches each with an effect -------------


def build_broad(k: Kernel, width: int, iters: int) -> Graph:
    head, write = k.signal(0)
    runs = Counter()
    pairs = []
    for i in range(width):
        first = _plus(k, head, i)
        pairs.append((first, _plus(k, first, 1)))
    effects = [_counting(second, runs) for _, second in pairs]
    last = pairs[-1][1]
    if isinstance(k, Hand):
        branches = [(cells([a])[0], cells([b])[0], e) for (a, b), e in zip(pairs, effects)]

        def propagate() -> None:
            for a, b, e in branches:
                if a.run() and b.run():
                    e()

        k.propagate = propagate

    def update() -> Observation:
        runs.n = 0
        seen = []
        for i in kairo_writes(iters):
            with k.batch():
                write(i)
            seen.append(last())
        return {"effect_runs": runs.n, "reads": seen}

    return Graph(_first(k, effects, []), update)



def expect_broad(width: int, iters: int) -> Observation:
    heads = kairo_writes(iters)
    runs = sum(changes(j + 1, [h + j + 1 for h in heads]) for j in range(width))
    return {"effect_runs": runs, "reads": [h + width for h in heads]}


# -- diamond: head fans out to `width` computeds, summed by one ---------------


def build_diamond(k: Kernel, width: int, iters: int) -> Graph:
    head, write = k.signal(0)
    branches = [_plus(k, head, 1) for _ in range(width)]
    evals = Counter()

    def total() -> int:
        evals.n += 1
        s = 0
        for b in branches:
            s += b()
        return s

    read_sum = k.computed(total)
    runs = Counter()
    observe = _counting(read_sum, runs)
    if isinstance(k, Hand):
        bs, top = cells(branches), cells([read_sum])[0]

        def propagate() -> None:
            changed = False
            for b in bs:
                changed = b.run() or changed
            if changed and top.run():
                observe()

        k.propagate = propagate

    def update() -> Observation:
        runs.n = evals.n = 0
        seen = []
        for i in kairo_writes(iters):
            with k.batch():
                write(i)
            seen.append(read_sum())
        return {"effect_runs": runs.n, "sum_evals": evals.n, "reads": seen}

    return Graph(_first(k, [observe], []), update)


def expect_diamond(width: int, iters: int) -> Observation:
    heads = kairo_writes(iters)
    sums = [(h + 1) * width for h in heads]
    return {"effect_runs": changes(width, sums), "sum_evals": changes(0, heads), "reads": sums}


# -- triangle: a chain whose every node also feeds one sum --------------------


def build_triangle(k: Kernel, width: int, iters: int) -> Graph:
    head, write = k.signal(0)
    nodes = [head]
    for _ in range(width - 1):
        nodes.append(_plus(k, nodes[-1], 1))
    evals = Counter()

    def total() -> int:
        evals.n += 1
        s = 0
        for n in nodes:
            s += n()
        return s

    read_sum = k.computed(total)
    runs = Counter()
    observe = _counting(read_sum, runs)
    if isinstance(k, Hand):
        chain, top = cells(nodes[1:]), cells([read_sum])[0]

        def propagate() -> None:
            for c in chain:
                c.run()
            if top.run():
                observe()

        k.propagate = propagate

    def update() -> Observation:
        runs.n = evals.n = 0
        seen = []
        for i in kairo_writes(iters):
            with k.batch():
                write(i)
            seen.append(read_sum())
        return {"effect_runs": runs.n, "sum_evals": evals.n, "reads": seen}

    return Graph(_first(k, [observe], nodes[1:]), update)


def expect_triangle(width: int, iters: int) -> Observation:
    heads = kairo_writes(iters)
    sums = [sum(h + j for j in range(width)) for h in heads]
    return {"effect_runs": changes(sum(range(width)), sums), "sum_evals": changes(0, heads), "reads": sums}


# -- mux: many heads folded into one dict, split back out ---------------------


def build_mux(k: Kernel, heads: int, rounds: int) -> Graph:
    signals = [k.signal(0) for _ in range(heads)]
    readers = [r for r, _ in signals]
    mux_evals, split_evals = Counter(), Counter()

    def fold() -> dict[int, Any]:
        mux_evals.n += 1
        return {i: r() for i, r in enumerate(readers)}

    read_mux = k.computed(fold)

    def pick(i: int) -> Read:
        def fn() -> Any:
            split_evals.n += 1
            return read_mux()[i]

        return k.computed(fn)

    picks = [pick(i) for i in range(heads)]
    outs = [_plus(k, p, 1) for p in picks]
    runs = Counter()
    effects = [_counting(out, runs) for out in outs]
    touched = min(10, heads)
    if isinstance(k, Hand):
        mux, ps, os_ = cells([read_mux])[0], cells(picks), cells(outs)

        def propagate() -> None:
            if mux.run():
                for p, o, e in zip(ps, os_, effects):
                    if p.run() and o.run():
                        e()

        k.propagate = propagate

    def update() -> Observation:
        runs.n = mux_evals.n = split_evals.n = 0
        seen = []
        for r in range(rounds):
            for i in range(touched):
                signals[i][1](i * (r + 1))  # unbatched writes
                seen.append(outs[i]())
        return {"effect_runs": runs.n, "mux_evals": mux_evals.n, "split_evals": split_evals.n, "reads": seen}

    return Graph(_first(k, effects, []), update)


def expect_mux(heads: int, rounds: int) -> Observation:
    values = [0] * heads
    changed = 0
    seen = []
    for r in range(rounds):
        for i in range(min(10, heads)):
            new = i * (r + 1)
            changed += new != values[i]  # one head differs: the fold, every split, one +1 node
            values[i] = new
            seen.append(new + 1)
    return {"effect_runs": changed, "mux_evals": changed, "split_evals": changed * heads, "reads": seen}


# -- repeated observers: one computed reading the head many times ------------


def build_repeated(k: Kernel, size: int, iters: int) -> Graph:
    head, write = k.signal(0)

    def total() -> int:
        s = 0
        for _ in range(size):
            s += head()
        return s

    read_total = k.computed(total)
    runs = Counter()
    observe = _counting(read_total, runs)
    if isinstance(k, Hand):
        top = cells([read_total])[0]
        k.propagate = lambda: top.run() and observe()  # type: ignore[func-returns-value]

    def update() -> Observation:
        runs.n = 0
        seen = []
        for i in kairo_writes(iters):
            with k.batch():
                write(i)
            seen.append(read_total())
        return {"effect_runs": runs.n, "reads": seen}

    return Graph(_first(k, [observe], []), update)


def expect_repeated(size: int, iters: int) -> Observation:
    totals = [h * size for h in kairo_writes(iters)]
    return {"effect_runs": changes(0, totals), "reads": totals}


# -- unstable: dependencies flip with the head's parity -----------------------


def build_unstable(k: Kernel, size: int, iters: int) -> Graph:
    head, write = k.signal(0)
    double = k.computed(lambda: head() * 2)
    inverse = k.computed(lambda: -head())
    evals = Counter()

    def mixed() -> int:
        evals.n += 1
        s = 0
        for _ in range(size):
            s += double() if head() % 2 else inverse()
        return s

    read_mixed = k.computed(mixed)
    runs = Counter()
    observe = _counting(read_mixed, runs)
    if isinstance(k, Hand):
        d, inv, top = cells([double, inverse, read_mixed])

        def propagate() -> None:
            # Lazy: only the branch the new parity reads is evaluated.
            (d if head() % 2 else inv).run()
            if top.run():
                observe()

        k.propagate = propagate

    def update() -> Observation:
        runs.n = evals.n = 0
        seen = []
        for i in kairo_writes(iters):
            with k.batch():
                write(i)
            seen.append(read_mixed())
        return {"effect_runs": runs.n, "mixed_evals": evals.n, "reads": seen}

    return Graph(_first(k, [observe], []), update)


def expect_unstable(size: int, iters: int) -> Observation:
    heads = kairo_writes(iters)
    values = [size * (2 * h if h % 2 else -h) for h in heads]
    return {"effect_runs": changes(0, values), "mixed_evals": changes(0, heads), "reads": values}


# -- avoidable propagation: a change that dies out early ---------------------


def build_avoidable(k: Kernel, iters: int, work: int) -> Graph:
    head, write = k.signal(0)
    c1 = k.computed(lambda: head())
    c2_evals, heavy_evals = Counter(), Counter()

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

    if isinstance(k, Hand):
        chain = cells([c1, c2, c3, c4, c5])
        k.propagate = lambda: _chain(chain) and observe()  # type: ignore[func-returns-value]

    def update() -> Observation:
        runs.n = c2_evals.n = heavy_evals.n = 0
        seen = []
        for i in kairo_writes(iters):
            with k.batch():
                write(i)
            seen.append(c5())
        return {"effect_runs": runs.n, "c2_evals": c2_evals.n, "heavy_evals": heavy_evals.n, "reads": seen}

    return Graph(_first(k, [observe], []), update)


def expect_avoidable(iters: int, work: int) -> Observation:
    heads = kairo_writes(iters)
    return {"effect_runs": 0, "c2_evals": changes(0, heads), "heavy_evals": 0, "reads": [6] * len(heads)}


# -- cellx: layers of four cross-wired computeds, an effect on each ----------


def build_cellx(k: Kernel, layers: int) -> Graph:
    start = [k.signal(v) for v in (1, 2, 3, 4)]
    prev: list[Read] = [r for r, _ in start]
    runs = Counter()
    all_layers = []
    for _ in range(layers):
        p1, p2, p3, p4 = prev
        prev = [
            k.computed(lambda p2=p2: p2()),
            k.computed(lambda p1=p1, p3=p3: p1() - p3()),
            k.computed(lambda p2=p2, p4=p4: p2() + p4()),
            k.computed(lambda p3=p3: p3()),
        ]
        all_layers.append(prev)
    effects = [[_counting(node, runs) for node in layer] for layer in all_layers]
    end = prev
    if isinstance(k, Hand):
        hand_layers = [(cells(layer), fx) for layer, fx in zip(all_layers, effects)]

        def propagate() -> None:
            a = b = c = d = True  # every start signal changes in this workload's one batch
            for (c1, c2, c3, c4), (e1, e2, e3, e4) in hand_layers:
                n1 = b and c1.run()
                n2 = (a or c) and c2.run()
                n3 = (b or d) and c3.run()
                n4 = c and c4.run()
                if n1:
                    e1()
                if n2:
                    e2()
                if n3:
                    e3()
                if n4:
                    e4()
                a, b, c, d = n1, n2, n3, n4

        k.propagate = propagate

    def first() -> None:
        if isinstance(k, Hand):
            for layer_fx in effects:
                for fn in layer_fx:
                    k.effect(fn)
            k.first()
            return
        for layer_fx in effects:
            for fn in layer_fx:
                k.effect(fn)

    def update() -> Observation:
        runs.n = 0
        before = [r() for r in end]
        with k.batch():
            for (_, write), v in zip(start, (4, 3, 2, 1)):
                write(v)
        after = [r() for r in end]
        return {"effect_runs": runs.n, "before": before, "after": after}

    return Graph(first, update)


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


# -- signals: 100k signals summed in groups of 100, one total, one effect -----


def build_signals(k: Kernel, signals: int, group: int, writes: int) -> Graph:
    sigs = [k.signal(i) for i in range(signals)]
    groups = []
    for g in range(0, signals, group):
        members = [r for r, _ in sigs[g:g + group]]

        def gsum(members: list[Read] = members) -> int:
            s = 0
            for r in members:
                s += r()
            return s

        groups.append(k.computed(gsum))

    def grand() -> int:
        s = 0
        for r in groups:
            s += r()
        return s

    total = k.computed(grand)
    runs = Counter()
    observe = _counting(total, runs)
    stride = max(1, signals // writes)
    if isinstance(k, Hand):
        gcells, top = cells(groups), cells([total])[0]
        touched: list[int] = []
        plain_writes = [w for _, w in sigs]

        def write_at(i: int, v: int) -> None:
            touched.append(i // group)
            plain_writes[i](v)

        def propagate() -> None:
            changed = False
            for g in touched:
                changed = gcells[g].run() or changed
            touched.clear()
            if changed and top.run():
                observe()

        k.propagate = propagate
        writers: list[Callable[[int, int], None]] = [write_at] * signals
    else:
        writers = [lambda i, v, w=w: w(v) for _, w in sigs]

    def update() -> Observation:
        runs.n = 0
        seen = []
        for n, i in enumerate(range(0, signals, stride)):
            writers[i](i, i + 1 + n)  # unbatched: one group, the total and the effect each time
            seen.append(total())
        return {"effect_runs": runs.n, "reads": seen}

    return Graph(_first(k, [observe], []), update)


def expect_signals(signals: int, group: int, writes: int) -> Observation:
    values = list(range(signals))
    total = sum(values)
    seen = []
    for n, i in enumerate(range(0, signals, max(1, signals // writes))):
        total += (i + 1 + n) - values[i]
        values[i] = i + 1 + n
        seen.append(total)
    return {"effect_runs": len(seen), "reads": seen}


# -- fan-out: one head, 10k computeds on it, an effect on each ----------------


def build_fanout(k: Kernel, width: int, iters: int) -> Graph:
    head, write = k.signal(0)
    outs = [_plus(k, head, i) for i in range(width)]
    runs = Counter()
    effects = [_counting(o, runs) for o in outs]
    if isinstance(k, Hand):
        pairs = list(zip(cells(outs), effects))

        def propagate() -> None:
            for c, e in pairs:
                if c.run():
                    e()

        k.propagate = propagate

    def update() -> Observation:
        runs.n = 0
        seen = []
        for i in kairo_writes(iters):
            with k.batch():
                write(i)
            seen.append(outs[-1]())
        return {"effect_runs": runs.n, "reads": seen}

    return Graph(_first(k, effects, []), update)


def expect_fanout(width: int, iters: int) -> Observation:
    heads = kairo_writes(iters)
    return {"effect_runs": width * changes(0, heads), "reads": [h + width - 1 for h in heads]}


@dataclass(frozen=True)
class Workload:
    name: str
    build: Callable[..., Graph]
    expect: Callable[..., Observation]
    full: dict[str, int]
    quick: dict[str, int]

    def params(self, size: str) -> dict[str, int]:
        return self.full if size == "full" else self.quick


WORKLOADS: list[Workload] = [
    Workload("avoidable", build_avoidable, expect_avoidable,
             {"iters": 4000, "work": 100}, {"iters": 4, "work": 3}),
    Workload("broad", build_broad, expect_broad, {"width": 50, "iters": 200}, {"width": 3, "iters": 4}),
    Workload("deep", build_deep, expect_deep, {"depth": 50, "iters": 400}, {"depth": 5, "iters": 4}),
    Workload("diamond", build_diamond, expect_diamond, {"width": 5, "iters": 2000}, {"width": 3, "iters": 4}),
    Workload("mux", build_mux, expect_mux, {"heads": 100, "rounds": 20}, {"heads": 12, "rounds": 3}),
    Workload("repeated", build_repeated, expect_repeated, {"size": 30, "iters": 2000}, {"size": 3, "iters": 4}),
    Workload("triangle", build_triangle, expect_triangle, {"width": 10, "iters": 1000}, {"width": 4, "iters": 4}),
    Workload("unstable", build_unstable, expect_unstable, {"size": 20, "iters": 1000}, {"size": 3, "iters": 5}),
    Workload("cellx1k", build_cellx, expect_cellx, {"layers": 1000}, {"layers": 6}),
    Workload("cellx5k", build_cellx, expect_cellx, {"layers": 5000}, {"layers": 8}),
    Workload("cellx10k", build_cellx, expect_cellx, {"layers": 10000}, {"layers": 10}),
    Workload("cellx50k", build_cellx, expect_cellx, {"layers": 50000}, {"layers": 12}),
    Workload("signals100k", build_signals, expect_signals,
             {"signals": 100_000, "group": 100, "writes": 1000}, {"signals": 200, "group": 10, "writes": 5}),
    Workload("fanout10k", build_fanout, expect_fanout, {"width": 10_000, "iters": 20}, {"width": 20, "iters": 3}),
]
BY_NAME = {w.name: w for w in WORKLOADS}


# ---------------------------------------------------------------------------
# One run (in a worker process)
# ---------------------------------------------------------------------------

COUNT_KEYS = ("effect_runs", "sum_evals", "mux_evals", "split_evals", "mixed_evals", "c2_evals", "heavy_evals")


def compare(expected: Observation, got: Observation, cutoff: bool = True) -> str:
    """'ok', 'nc (...)' for count-only differences of a kernel without cut-off, or 'WRONG (...)'."""
    wrong, counts = [], []
    for key, want in expected.items():
        have = got.get(key)
        if have == want:
            continue
        if isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
            i = next(j for j, (a, b) in enumerate(zip(want, have)) if a != b)
            wrong.append(f"{key}[{i}]: expected {want[i]!r}, got {have[i]!r}")
        elif not cutoff and key in COUNT_KEYS:
            counts.append(f"{key} {have!r} (ideal {want!r})")
        else:
            wrong.append(f"{key}: expected {str(want)[:30]}, got {str(have)[:30]}")
    if wrong:
        return f"WRONG ({'; '.join(wrong)})"
    return f"nc ({'; '.join(counts)})" if counts else "ok"


def run_workload(kernel: str, workload: str, size: str, k: Kernel | None = None) -> dict[str, Any]:
    """Build, evaluate and update one graph; times in seconds of CPU. `k` overrides the named kernel."""
    w = BY_NAME[workload]
    params = w.params(size)
    if k is None:
        k = make_kernel(kernel)
    clock = time.process_time
    result: dict[str, Any] = {}
    phase = "build"
    collector_off = os.environ.get(GC_SWITCH) == "off"
    try:
        gc.collect()
        if collector_off:
            gc.disable()
        t0 = clock()
        graph = w.build(k, **params)
        t1 = clock()
        phase = "first evaluation"
        graph.first()
        t2 = clock()
        phase = "update"
        got = graph.update()
        t3 = clock()
    except Exception as exc:  # a peer may fail on a graph; report it, do not hide it
        k.recover()
        text = str(exc).splitlines()[0][:60] if str(exc) else ""
        return {"error": f"{type(exc).__name__} in {phase}: {text}"}
    result["build"], result["first"], result["update"] = t1 - t0, t2 - t1, t3 - t2
    result["verdict"] = compare(w.expect(**params), got, cutoff=kernel not in NO_CUTOFF)
    return result


def measure_memory(kernel: str, n: int) -> dict[str, float]:
    """Bytes per signal, per evaluated one-source computed, per one-source effect."""
    k = make_kernel(kernel)
    if isinstance(k, Hand):
        return {}
    out: dict[str, float] = {}
    reads = [lambda: 0] * n
    fns = [lambda: 0] * n
    tracemalloc.start()

    def measure(kind: str, make: Callable[[int], object]) -> None:
        # The benchmark's own lists and any bound-method reader are not the kernel's to pay for.
        k.keep = [None] * (n + 8)
        del k.keep[:]
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        own = 0
        for i in range(n):
            r = make(i)
            if r is not None and r is not k.keep[-1]:
                own += sys.getsizeof(r)
        gc.collect()
        out[kind] = (tracemalloc.get_traced_memory()[0] - base - own) / n
        nodes.extend(k.keep)

    nodes: list[Any] = []

    def signal(i: int) -> object:
        reads[i] = k.signal(i)[0]
        return reads[i]

    measure("signal", signal)
    for i in range(n):
        fns[i] = (lambda r: lambda: r())(reads[i])  # the user functions are not the kernel's either

    def computed(i: int) -> object:
        r = k.computed(fns[i])
        r()
        reads[i] = r
        return r

    measure("computed", computed)
    for i in range(n):
        fns[i] = (lambda r: lambda: None if r() is None else None)(reads[i])

    def effect(i: int) -> None:
        k.effect(fns[i])

    measure("effect", effect)
    tracemalloc.stop()
    return out


CPU_EXCEEDED = 86
GC_SWITCH = "GLITCHLESS_BENCH_GC"  # "off": the workers time with the collector off (--no-gc)


def _watch_cpu(limit: float) -> None:
    """Exit with CPU_EXCEEDED once the process has used `limit` seconds of CPU.

    The limit is on CPU time, not wall time, so a busy machine does not turn a
    slow run into an error. A polling thread rather than RLIMIT_CPU: an active
    process CPU timer makes Linux sample process_time at tick (4 ms) resolution.
    """

    def watch() -> None:
        while time.process_time() < limit:
            time.sleep(0.5)
        os._exit(CPU_EXCEEDED)

    threading.Thread(target=watch, daemon=True).start()


def worker(argv: Sequence[str]) -> int:
    """`--worker KERNEL WORKLOAD SIZE CPU_SECONDS` or `--worker KERNEL memory N CPU_SECONDS`: one JSON line."""
    kernel, what, arg, cpu = argv
    _watch_cpu(float(cpu))
    sys.setrecursionlimit(RECURSION_LIMIT)
    threading.stack_size(STACK_BYTES)
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            box["out"] = measure_memory(kernel, int(arg)) if what == "memory" else run_workload(kernel, what, arg)
        except BaseException as exc:  # noqa: BLE001 - reported, the parent decides
            box["out"] = {"error": f"{type(exc).__name__}: {str(exc)[:60]}"}

    t = threading.Thread(target=body)
    t.start()
    t.join()
    out = box["out"]
    if kernel.startswith("glitchless"):
        import glitchless.kernel.reactive as reactive

        out["loaded"] = Path(reactive.__file__ or "?").name
    print(json.dumps(out))
    return 0


# ---------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------


def spawn(python: str, args: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run one worker; `timeout` is seconds of its CPU time (wall time gets a generous multiple)."""
    cpu = max(1, math.ceil(timeout))
    try:
        proc = subprocess.run([python, str(Path(__file__).resolve()), "--worker", *args, str(cpu)],
                              capture_output=True, text=True, timeout=20 * cpu, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {20 * cpu}s of wall time"}
    if proc.returncode == CPU_EXCEEDED:
        return {"error": f"timeout after {cpu}s of CPU time"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail[:70]}"}
    return json.loads(lines[-1])  # type: ignore[no-any-return]


@dataclass
class Cell_:
    build: list[float]
    first: list[float]
    update: list[float]
    verdict: str = "ok"
    error: str | None = None

    def med(self, phase: str) -> float | None:
        xs = getattr(self, phase)
        return statistics.median(xs) if xs else None

    def total(self) -> float | None:
        parts = [self.med(p) for p in ("build", "first", "update")]
        return None if any(p is None for p in parts) else sum(parts)  # type: ignore[arg-type]


def geomean(values: Sequence[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def available(kernels: Sequence[str], compiled: str | None) -> tuple[list[str], list[str]]:
    usable, notes = [], []
    for name in kernels:
        if name == "glitchless-c":
            if compiled:
                usable.append(name)
            else:
                notes.append("glitchless-c: skipped (no --compiled-python)")
            continue
        if name in PEERS:
            try:
                importlib.import_module(PEERS[name])
            except ImportError as exc:
                notes.append(f"{name}: skipped ({exc})")
                continue
        usable.append(name)
    return usable, notes


def record(results: dict[str, dict[str, Cell_]], workload: str, kernel: str, out: dict[str, Any]) -> None:
    cell = results[workload][kernel]
    if "error" in out:
        cell.error = out["error"]
        return
    cell.build.append(out["build"])
    cell.first.append(out["first"])
    cell.update.append(out["update"])
    if out["verdict"] != "ok" and not cell.verdict.startswith("WRONG"):
        cell.verdict = out["verdict"]


def run(kernels: list[str], workloads: list[Workload], size: str, repeat: int, timeout: float,
        compiled: str | None, log: Callable[[str], None],
        save: Callable[[dict[str, Any]], None] = lambda row: None) -> dict[str, dict[str, Cell_]]:
    results = {w.name: {k: Cell_([], [], []) for k in kernels} for w in workloads}
    loaded: dict[str, str] = {}
    for r in range(repeat):
        log(f"repeat {r + 1}/{repeat}")
        for w in workloads:
            for k in kernels:
                cell = results[w.name][k]
                if cell.error is not None:
                    continue  # errors are deterministic: not retried
                smaller = [v.name for v in workloads[:workloads.index(w)]
                           if v.build is w.build and (results[v.name][k].error or "").startswith("timeout")]
                if smaller:  # a bigger graph of the same shape cannot finish sooner
                    cell.error = f"skipped: timed out on {smaller[0]}"
                    save({"workload": w.name, "kernel": k, "error": cell.error})
                    continue
                python = compiled if k == "glitchless-c" and compiled else sys.executable
                out = spawn(python, [k, w.name, size], timeout)
                save({"workload": w.name, "kernel": k, **out})
                if "loaded" in out:
                    loaded[k] = out["loaded"]
                record(results, w.name, k, out)
    for k, name in loaded.items():
        log(f"{k} loaded glitchless.kernel.reactive from {name}")
    if "glitchless-c" in loaded and not loaded["glitchless-c"].endswith(".so"):
        log("warning: --compiled-python did not load a compiled reactive core")
    return results


def fmt_ms(x: float | None) -> str:
    return "-" if x is None else (f"{x * 1e3:.2f}" if x < 1 else f"{x * 1e3:.0f}")


def fmt_ratio(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.2f}"


def report(results: dict[str, dict[str, Cell_]], kernels: list[str], workloads: list[Workload],
           size: str) -> list[str]:
    out = []
    head = f"{'workload':<12} {'kernel':<16} {'build ms':>9} {'first ms':>9} {'update ms':>10} {'total ms':>9}  check"
    out += [head, "-" * (len(head) + 20)]
    for w in workloads:
        for i, k in enumerate(kernels):
            c = results[w.name][k]
            check = f"error: {c.error}" if c.error else c.verdict
            out.append(f"{w.name if i == 0 else '':<12} {k:<16} {fmt_ms(c.med('build')):>9} {fmt_ms(c.med('first')):>9} "
                       f"{fmt_ms(c.med('update')):>10} {fmt_ms(c.total()):>9}  {check}")
    out.append("")
    ours = [k for k in ("glitchless", "glitchless-c") if k in kernels]
    others = [k for k in kernels if k not in ours]

    def ratios(a: str, b: str, phase: str) -> list[float]:
        xs = []
        for w in workloads:
            ca, cb = results[w.name][a], results[w.name][b]
            va = ca.total() if phase == "total" else ca.med(phase)
            vb = cb.total() if phase == "total" else cb.med(phase)
            if va and vb and ca.error is None and cb.error is None:
                xs.append(va / vb)
        return xs

    out.append("geometric means over the workloads both completed; x = other/ours (>1: ours faster), "
               "limit row = ours/limit (>1: ours slower than the floor)")
    out.append(f"{'':<14} {'vs':<16} {'build':>7} {'first':>7} {'update':>7} {'total':>7}  workloads")
    for o in ours:
        for other in others:
            row = []
            n = 0
            for phase in ("build", "first", "update", "total"):
                xs = ratios(o, other, phase) if other == "limit" else ratios(other, o, phase)
                n = max(n, len(xs))
                row.append(fmt_ratio(geomean(xs)))
            out.append(f"{o:<14} {other:<16} {row[0]:>7} {row[1]:>7} {row[2]:>7} {row[3]:>7}  {n}")
    out.append("")
    per = "per-workload total-time ratio against the limit (ours/limit)"
    out.append(per)
    for o in [*ours, *[k for k in others if k != "limit"]]:
        if "limit" not in kernels:
            break
        cells_ = []
        for w in workloads:
            a, b = results[w.name][o].total(), results[w.name]["limit"].total()
            cells_.append(f"{w.name}={a / b:.1f}" if a and b else f"{w.name}=-")
        out.append(f"  {o:<16} " + " ".join(cells_))
    out.append("")
    layers = _cellx_layer_ratio(workloads, size)
    for k in kernels:
        small, big = results.get("cellx1k", {}).get(k), results.get("cellx50k", {}).get(k)
        if small and big and small.med("update") and big.med("update"):
            parts = [f"{p} {big.med(p) / small.med(p):.1f}x" for p in ("build", "first", "update")  # type: ignore[operator]
                     if small.med(p) and big.med(p)]
            out.append(f"cellx50k / cellx1k for {k}: {', '.join(parts)} ({layers:g}x the layers)")
    return out


def _cellx_layer_ratio(workloads: list[Workload], size: str) -> float:
    return BY_NAME["cellx50k"].params(size)["layers"] / BY_NAME["cellx1k"].params(size)["layers"]


def goals(results: dict[str, dict[str, Cell_]], kernels: list[str], workloads: list[Workload],
          memory: dict[str, dict[str, float]]) -> list[str]:
    out = ["goals (total = build + first evaluation + updates; update-only in brackets):"]

    def gm(a: str, b: str, phase: str) -> float:
        xs = []
        for w in workloads:
            ca, cb = results[w.name][a], results[w.name][b]
            va = ca.total() if phase == "total" else ca.med(phase)
            vb = cb.total() if phase == "total" else cb.med(phase)
            if va and vb and ca.error is None and cb.error is None:
                xs.append(va / vb)
        return geomean(xs)

    def mark(ok: bool) -> str:
        return "MET    " if ok else "NOT MET"

    for k in ("glitchless", "glitchless-c"):
        if k in kernels:
            ok = all(results[w.name][k].verdict == "ok" and results[w.name][k].error is None for w in workloads)
            out.append(f"  {mark(ok)} {k} correct on every workload")
    if "limit" in kernels and "glitchless" in kernels:
        t, u = gm("glitchless", "limit", "total"), gm("glitchless", "limit", "update")
        out.append(f"  {mark(t <= 9)} pure <= 9x the limit: {t:.2f}x [{u:.2f}x]")
    if "nervio" in kernels and "glitchless" in kernels:
        t, u = gm("nervio", "glitchless", "total"), gm("nervio", "glitchless", "update")
        out.append(f"  {mark(t >= 4)} pure >= 4x faster than nervio: {t:.2f}x [{u:.2f}x]")
    if "limit" in kernels and "glitchless-c" in kernels:
        t, u = gm("glitchless-c", "limit", "total"), gm("glitchless-c", "limit", "update")
        out.append(f"  {mark(t <= 5)} compiled <= 5x the limit: {t:.2f}x [{u:.2f}x]")
    for k in ("glitchless", "glitchless-c"):
        small, big = results.get("cellx1k", {}).get(k), results.get("cellx50k", {}).get(k)
        if small and big and small.med("build") and big.med("build") and small.med("update") and big.med("update"):
            b = big.med("build") / small.med("build")  # type: ignore[operator]
            u = big.med("update") / small.med("update")  # type: ignore[operator]
            out.append(f"  {mark(b <= 60 and u <= 60)} {k} cellx 50k <= 60x 1k: build {b:.1f}x, update {u:.1f}x")
    for k in ("glitchless", "glitchless-c"):
        if k in memory and "computed" in memory[k]:
            c = memory[k]["computed"]
            out.append(f"  {mark(c <= 550)} {k} memory per computed <= 550 bytes: {c:.0f}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        return worker(argv[1:])
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny graphs, one repeat: a smoke run, not a measurement")
    p.add_argument("--repeat", type=int, default=None, help="runs per kernel and workload (default 5; 1 with --quick)")
    p.add_argument("--kernels", default=",".join(KERNELS), help="comma-separated (default: %(default)s)")
    p.add_argument("--workloads", default=",".join(BY_NAME), help="comma-separated (default: all)")
    p.add_argument("--compiled-python", metavar="PATH", default=None,
                   help="interpreter of a venv with GLITCHLESS_COMPILE=1 pip install . (adds glitchless-c)")
    p.add_argument("--timeout", type=float, default=None,
                   help="CPU seconds before one run counts as an error (default 60; 20 with --quick)")
    p.add_argument("--memory-nodes", type=int, default=None, help="nodes per kind for the memory figures")
    p.add_argument("--no-gc", action="store_true",
                   help="the garbage collector off in the timed phases: shows what it costs (no goal is judged)")
    p.add_argument("--save", metavar="FILE", default=None,
                   help="append every run's result to FILE (JSON lines) as it completes")
    p.add_argument("--report-from", metavar="FILE", default=None,
                   help="print the report from a --save file (complete or not) instead of running")
    args = p.parse_args(argv)
    size = "quick" if args.quick else "full"
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 5)
    timeout = args.timeout if args.timeout is not None else (20.0 if args.quick else 60.0)
    if repeat < 1:
        p.error("--repeat must be at least 1")
    if args.compiled_python and not Path(args.compiled_python).exists():
        p.error(f"--compiled-python: no such interpreter: {args.compiled_python}")
    names = [n.strip() for n in args.kernels.split(",") if n.strip()]
    unknown = [n for n in names if n not in KERNELS]
    if unknown:
        p.error(f"unknown kernel(s): {', '.join(unknown)} (known: {', '.join(KERNELS)})")
    wnames = [n.strip() for n in args.workloads.split(",") if n.strip()]
    bad = [n for n in wnames if n not in BY_NAME]
    if bad:
        p.error(f"unknown workload(s): {', '.join(bad)} (known: {', '.join(BY_NAME)})")
    kernels, notes = available(names, args.compiled_python)
    workloads = [BY_NAME[n] for n in wnames]
    if args.report_from:
        return report_from(Path(args.report_from), kernels, workloads, size)
    save_file = Path(args.save) if args.save else None

    def save(row: dict[str, Any]) -> None:
        if save_file is not None:
            with save_file.open("a") as f:
                f.write(json.dumps(row) + "\n")

    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    wall = time.perf_counter()
    if args.no_gc:
        os.environ[GC_SWITCH] = "off"  # the workers inherit it
    print(f"python {sys.version.split()[0]}, size={size}, repeat={repeat}, CPU time (process_time), "
          f"median; a fresh interpreter per run; garbage collector {'OFF' if args.no_gc else 'on'}")
    for note in notes:
        print(f"note: {note}")
    results = run(kernels, workloads, size, repeat, timeout, args.compiled_python, log, save)
    n_mem = args.memory_nodes or (200 if args.quick else 10_000)
    memory: dict[str, dict[str, float]] = {}
    for k in kernels:
        if k == "limit":
            continue
        python = args.compiled_python if k == "glitchless-c" and args.compiled_python else sys.executable
        out = spawn(python, [k, "memory", str(n_mem)], timeout)
        out.pop("loaded", None)
        memory[k] = out
        save({"memory": k, **out})
    print_report(results, kernels, workloads, size, memory, n_mem, judge=not args.no_gc)
    print(f"\nwall time {time.perf_counter() - wall:.0f}s")
    return 0


def report_from(path: Path, kernels: list[str], workloads: list[Workload], size: str) -> int:
    results = {w.name: {k: Cell_([], [], []) for k in kernels} for w in workloads}
    memory: dict[str, dict[str, float]] = {}
    runs = 0
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if "memory" in row:
            memory[row.pop("memory")] = row
        elif row["workload"] in results and row["kernel"] in kernels:
            runs += 1
            record(results, row["workload"], row["kernel"], row)
    print(f"report from {path}: {runs} runs")
    print_report(results, kernels, workloads, size, memory, 0)
    return 0


def print_report(results: dict[str, dict[str, Cell_]], kernels: list[str], workloads: list[Workload], size: str,
                 memory: dict[str, dict[str, float]], n_mem: int, judge: bool = True) -> None:
    print()
    print("\n".join(report(results, kernels, workloads, size)))
    print()
    print(f"bytes per node (tracemalloc, {n_mem or 'N'} of each; computed = evaluated, one source; effect = one source)")
    for k, m in memory.items():
        if "error" in m:
            print(f"  {k:<16} error: {m['error']}")
        else:
            print(f"  {k:<16} signal {m['signal']:6.0f}  computed {m['computed']:6.0f}  effect {m['effect']:6.0f}")
    print()
    if judge:
        print("\n".join(goals(results, kernels, workloads, memory)))
    else:
        print("goals: not judged, the garbage collector was off (--no-gc); they count with it on")


if __name__ == "__main__":
    sys.exit(main())
