"""Bounded exhaustive checking: every small graph, every short operation sequence.

The finite space of one `Bounds`:

* values {0, 1} (functions compute mod 2); every signal starts at 0.
* graphs of 1 to `max_nodes` nodes with at most `max_signals` signals, in
  canonical order (signals, then computeds, then effects; every graph is a
  renaming of one in this order). Node 0 is a signal. A computed is one of
  `sum(a)` (a copy), `sum(a, b)` (xor), `max(a, b)` (or), `min(a, b)` (and)
  over two different earlier signals/computeds, `coalesce(a, b)` over an
  ordered pair, or `if(a, b, c)` over three different ones in order (dynamic
  reads). An effect reads like `sum(a)`, `sum(a, b)`, `coalesce(a, b)` or
  `if(a, b, c)` (max/min read what sum reads, so they add nothing for an
  effect), returns a cleanup when the target supports cleanups, and, with
  `effect_writes`, may also be a variant that after its reads writes
  `const 1` or `clamp 0` (reads the target, writes `min(t, 0)`) to an earlier
  signal no other effect writes - self-writing when it read that signal.
* operation sequences of 0 to `max_ops` operations from: `s.set(0)` and
  `s.set(1)` for each signal (equal writes included), `with rt.batch():
  s.set(1); s.set(0)` (a transient change), `with rt.batch(): s.set(1);
  t.set(1)` for each pair of signals, `c.get()` for each computed, and
  `e.dispose()` for each effect (at most once).

A case is a (graph, sequence) pair. The checker checks after every step, so
only the sequences of exactly `max_ops` operations are run: every shorter
one is a prefix of one of them (writes are always available) and is checked
on the way. `DEFAULT_TIERS` are what `glitchless exhaustive` runs:

* up to 4 nodes (at most 2 signals), up to 3 operations, effects without
  writes: 668 graphs, 346,275 cases (302,463 runs);
* up to 3 nodes (any kind), up to 3 operations, effects with writes:
  66 graphs, 24,639 cases (21,208 runs).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import permutations

from glitchless.properties.harness import Session
from glitchless.properties.hooks import Violation
from glitchless.properties.model import AddComputed, AddEffect, AddSignal, EffectWrite, NodeSpec
from glitchless.properties.program import Batch, Dispose, Program, Read, Set, Step
from glitchless.properties.targets import Target, load_target


@dataclass(frozen=True)
class Bounds:
    max_nodes: int = 4
    max_ops: int = 3
    max_signals: int = 2
    effect_writes: bool = False

    def describe(self) -> str:
        writes = "with" if self.effect_writes else "without"
        return (f"up to {self.max_nodes} nodes (at most {self.max_signals} signals), up to {self.max_ops} "
                f"operations, effects {writes} writes")


DEFAULT_TIERS: tuple[Bounds, ...] = (Bounds(4, 3, 2, False), Bounds(3, 3, 3, True))


@dataclass
class ExhaustiveReport:
    target: str
    bounds: Bounds
    graphs: int = 0
    cases: int = 0  # (graph, operation sequence) pairs checked, prefixes included
    runs: int = 0  # runtimes built: one per maximal sequence; its prefixes are checked on the way
    steps: int = 0
    seconds: float = 0.0
    failing_cases: int = 0
    failures: list[tuple[Violation, Program]] = field(default_factory=list)  # the first few

    @property
    def ok(self) -> bool:
        return self.failing_cases == 0


def _computed_bodies(readable: list[int]) -> Iterator[tuple[str, tuple[int, ...]]]:
    for a in readable:
        yield "sum", (a,)
    for i, a in enumerate(readable):
        for b in readable[i + 1:]:
            yield "sum", (a, b)
            yield "max", (a, b)
            yield "min", (a, b)
    for a, b in permutations(readable, 2):
        yield "coalesce", (a, b)
    for a, b, c in permutations(readable, 3):
        yield "if", (a, b, c)


def _effect_bodies(readable: list[int]) -> Iterator[tuple[str, tuple[int, ...]]]:
    # An effect's result is not used, only what it reads: sum, max and min over the same
    # inputs read the same nodes, so one of them stands for all three.
    for a in readable:
        yield "sum", (a,)
    for i, a in enumerate(readable):
        for b in readable[i + 1:]:
            yield "sum", (a, b)
    for a, b in permutations(readable, 2):
        yield "coalesce", (a, b)
    for a, b, c in permutations(readable, 3):
        yield "if", (a, b, c)


def graphs(bounds: Bounds, cleanups: bool = True) -> Iterator[tuple[NodeSpec, ...]]:
    """Every graph within the bounds, in canonical order: signals, then computeds, then effects.

    Any graph is a renaming of one in this order (a node reads only earlier nodes, and moving
    signals first and effects last keeps that while preserving the order among computeds and
    among effects, which is all a kernel can observe when every node exists before the first
    operation).
    """

    def extend(nodes: tuple[NodeSpec, ...], writers: frozenset[int]) -> Iterator[tuple[NodeSpec, ...]]:
        yield nodes
        if len(nodes) >= bounds.max_nodes:
            return
        last = nodes[-1]
        readable = [i for i, n in enumerate(nodes) if not isinstance(n, AddEffect)]
        signals = [i for i, n in enumerate(nodes) if isinstance(n, AddSignal)]
        if isinstance(last, AddSignal) and len(signals) < bounds.max_signals:
            yield from extend(nodes + (AddSignal(0),), writers)
        if not isinstance(last, AddEffect):
            for fn, inputs in _computed_bodies(readable):
                yield from extend(nodes + (AddComputed(fn, inputs),), writers)
        for fn, inputs in _effect_bodies(readable):
            yield from extend(nodes + (AddEffect(fn, inputs, cleanups),), writers)
            if bounds.effect_writes:
                for t in signals:
                    if t in writers:
                        continue
                    for w in (EffectWrite(t, "const", 1), EffectWrite(t, "clamp", 0)):
                        yield from extend(nodes + (AddEffect(fn, inputs, cleanups, w),), writers | {t})

    yield from extend((AddSignal(0),), frozenset())


def operations(nodes: tuple[NodeSpec, ...]) -> list[Step]:
    """The operation alphabet of one graph (disposals are filtered per sequence)."""
    signals = [i for i, n in enumerate(nodes) if isinstance(n, AddSignal)]
    ops: list[Step] = []
    for s in signals:
        ops += [Set(s, 0), Set(s, 1), Batch((Set(s, 1), Set(s, 0)))]
    for i, s in enumerate(signals):
        for t in signals[i + 1:]:
            ops.append(Batch((Set(s, 1), Set(t, 1))))
    ops += [Read(i) for i, n in enumerate(nodes) if isinstance(n, AddComputed)]
    ops += [Dispose(i) for i, n in enumerate(nodes) if isinstance(n, AddEffect)]
    return ops


def sequences(ops: list[Step], max_ops: int) -> Iterator[tuple[Step, ...]]:
    """Every sequence of 0..max_ops operations; an effect is disposed at most once."""

    def extend(seq: tuple[Step, ...], disposed: frozenset[int]) -> Iterator[tuple[Step, ...]]:
        yield seq
        if len(seq) >= max_ops:
            return
        for op in ops:
            if isinstance(op, Dispose):
                if op.node in disposed:
                    continue
                yield from extend(seq + (op,), disposed | {op.node})
            else:
                yield from extend(seq + (op,), disposed)

    yield from extend((), frozenset())


def maximal_sequences(ops: list[Step], max_ops: int) -> Iterator[tuple[Step, ...]]:
    """The sequences of exactly max_ops operations. Each shorter sequence is a prefix of one
    (writes are always available), and the checker checks after every step, so running these
    checks every sequence of `sequences` too."""
    return (s for s in sequences(ops, max_ops) if len(s) == max_ops)


def count_cases(bounds: Bounds = Bounds(), cleanups: bool = True) -> tuple[int, int, int]:
    """(graphs, cases, runs) for these bounds, without running anything."""
    n_graphs = n_cases = n_runs = 0
    for g in graphs(bounds, cleanups):
        n_graphs += 1
        for s in sequences(operations(g), bounds.max_ops):
            n_cases += 1
            n_runs += len(s) == bounds.max_ops
    return n_graphs, n_cases, n_runs


def exhaustive_check(
    target: Target | str = "glitchless",
    bounds: Bounds = Bounds(),
    *,
    jobs: int = 1,
    keep: int = 5,
) -> ExhaustiveReport:
    """Run every case in the bounds on `target`, checking every property after every step.

    With `jobs` > 1 the graphs are split round-robin over forked worker processes.
    """
    t = target if isinstance(target, Target) else load_target(target)
    start = time.perf_counter()
    if jobs <= 1:
        report = _shard(t, bounds, 0, 1, keep)
    else:
        global _POOL_TARGET
        _POOL_TARGET = t
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(jobs) as pool:
            parts = pool.starmap(_pool_shard, [(bounds, i, jobs, keep) for i in range(jobs)])
        report = ExhaustiveReport(t.name, bounds)
        for part in parts:
            report.graphs += part.graphs
            report.cases += part.cases
            report.runs += part.runs
            report.steps += part.steps
            report.failing_cases += part.failing_cases
            report.failures.extend(part.failures)
        report.failures = report.failures[:keep]
    report.seconds = time.perf_counter() - start
    return report


_POOL_TARGET: Target | None = None


def _pool_shard(bounds: Bounds, shard: int, shards: int, keep: int) -> ExhaustiveReport:
    assert _POOL_TARGET is not None
    return _shard(_POOL_TARGET, bounds, shard, shards, keep)


def _shard(t: Target, bounds: Bounds, shard: int, shards: int, keep: int) -> ExhaustiveReport:
    report = ExhaustiveReport(t.name, bounds)
    cleanups = "cleanups" not in t.unsupported
    for index, graph in enumerate(graphs(bounds, cleanups)):
        if index % shards != shard:
            continue
        report.graphs += 1
        for seq in sequences(operations(graph), bounds.max_ops):
            report.cases += 1
            if len(seq) < bounds.max_ops:
                continue  # checked as a prefix of a maximal sequence
            program = Program(2, graph + seq)
            session = Session(t.make(), 2, None, t.unsupported)
            found = session.run(program.steps)
            session.close()
            report.runs += 1
            report.steps += len(program.steps)
            if found:
                # count the shortest failing prefix once, as one failing case
                report.failing_cases += 1
                if len(report.failures) < keep:
                    first = found[0]
                    report.failures.append((first, Program(2, program.steps[: first.step])))
    return report
