"""Bounded exhaustive checking: every small graph, every short operation sequence.

The finite space of one `Bounds` (values {0, 1}; every signal starts at 0):

* graphs of 1 to `max_nodes` nodes with at most `max_signals` signals, in
  canonical order (signals, then computeds, then effects; any graph built
  before the first operation is a renaming of one in this order). A computed
  is `sum(a)`, `sum/max/min(a, b)`, `coalesce(a, b)` or `if(a, b, c)` over
  earlier signals/computeds; with `extras`, also `sum(a)` raising when its
  result is 1. An effect reads like `sum(a)`, `sum(a, b)`, `coalesce(a, b)` or
  `if(a, b, c)` and returns a cleanup (when the target has cleanups); with
  `extras` also one raising when its result is 1 (and, with `interrupts`, one
  raising Halt, a BaseException, when it is 1); with `effect_writes` also
  variants writing `const 1` or `clamp 0` to a signal.
* operations: `s.set(0)`, `s.set(1)`, a transient batch `s.set(1); s.set(0)`,
  a batch writing two signals, `c.get()`, `e.dispose()`; with `extras` also
  an equal-but-not-identical write `s.set(IntCopy(1))`, a nested batch, an
  untracked read, `c.dispose()`, and `e.dispose()` inside a batch after a write
  (disposal while pending).

`cases(bounds)` enumerates the programs of exactly `max_ops` operations (each
shorter sequence is a prefix of one and is checked on the way) in a fixed
order; `check_shard` checks every `shards`-th of them and is a pure function
of its arguments, so shards can run anywhere. Failing cases are shrunk and
grouped by shrunk program: one bug, one failure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice, permutations, product

from glitchless.properties.program import (
    AddComputed,
    AddEffect,
    AddSignal,
    Batch,
    Dispose,
    EffectWrite,
    NodeSpec,
    Program,
    Read,
    Set,
    Step,
)
from glitchless.properties.runner import Failure, Session
from glitchless.properties.hooks import Violation
from glitchless.properties.targets import Target, load_target


@dataclass(frozen=True)
class Bounds:
    max_nodes: int = 4
    max_ops: int = 3
    max_signals: int = 2
    effect_writes: bool = False
    extras: bool = True  # raising fns, disposal, nested batches, equal-but-distinct writes, untracked reads
    interrupts: bool = True  # with extras: a `sum(a)` effect raising Halt (a BaseException, S3) at 1

    def describe(self) -> str:
        return (f"up to {self.max_nodes} nodes (at most {self.max_signals} signals), up to {self.max_ops} operations, "
                f"effects {'with' if self.effect_writes else 'without'} writes"
                + ("" if self.extras else ", without the extra operations"))


DEFAULT_TIERS: tuple[Bounds, ...] = (Bounds(4, 2, 2, False), Bounds(3, 3, 2, True))


@dataclass
class ExhaustiveReport:
    target: str
    bounds: Bounds
    graphs: int = 0
    cases: int = 0  # (graph, operation sequence) pairs checked, prefixes included
    runs: int = 0  # runtimes built: one per maximal sequence
    steps: int = 0
    seconds: float = 0.0
    failing_cases: int = 0
    examples: list[tuple[Violation, Program]] = field(default_factory=list)  # first failing cases per label
    failures: list[Failure] = field(default_factory=list)  # shrunk, one per bug

    @property
    def ok(self) -> bool:
        return self.failing_cases == 0


def _bodies(readable: list[int], computed: bool) -> Iterator[tuple[str, tuple[int, ...]]]:
    yield from (("sum", (a,)) for a in readable)
    for i, a in enumerate(readable):
        for b in readable[i + 1:]:
            yield from (("sum", (a, b)), ("max", (a, b)), ("min", (a, b))) if computed else (("sum", (a, b)),)
    yield from (("coalesce", p) for p in permutations(readable, 2))
    yield from (("if", p) for p in permutations(readable, 3))


def graphs(bounds: Bounds, cleanups: bool = True) -> Iterator[tuple[NodeSpec, ...]]:
    """Every graph within the bounds, in canonical order."""

    def extend(nodes: tuple[NodeSpec, ...]) -> Iterator[tuple[NodeSpec, ...]]:
        yield nodes
        if len(nodes) >= bounds.max_nodes:
            return
        last = nodes[-1]
        readable = [i for i, n in enumerate(nodes) if not isinstance(n, AddEffect)]
        signals = [i for i, n in enumerate(nodes) if isinstance(n, AddSignal)]
        if isinstance(last, AddSignal) and len(signals) < bounds.max_signals:
            yield from extend(nodes + (AddSignal(0),))
        if not isinstance(last, AddEffect):
            for fn, inputs in _bodies(readable, True):
                yield from extend(nodes + (AddComputed(fn, inputs),))
                if bounds.extras and fn == "sum" and len(inputs) == 1:
                    yield from extend(nodes + (AddComputed(fn, inputs, fails=1),))
        for fn, inputs in _bodies(readable, False):
            yield from extend(nodes + (AddEffect(fn, inputs, cleanups),))
            if bounds.extras and fn == "sum" and len(inputs) == 1:
                yield from extend(nodes + (AddEffect(fn, inputs, cleanups, fails=1),))
            if bounds.extras and bounds.interrupts and fn == "sum" and len(inputs) == 1:
                yield from extend(nodes + (AddEffect(fn, inputs, cleanups, halts=1),))
            for t in signals if bounds.effect_writes else []:
                for w in (EffectWrite(t, "const", 1), EffectWrite(t, "clamp", 0)):
                    yield from extend(nodes + (AddEffect(fn, inputs, cleanups, w),))

    yield from extend((AddSignal(0),))


def operations(nodes: tuple[NodeSpec, ...], bounds: Bounds, target: Target) -> list[Step]:
    """The operation alphabet of one graph."""
    signals = [i for i, n in enumerate(nodes) if isinstance(n, AddSignal)]
    computeds = [i for i, n in enumerate(nodes) if isinstance(n, AddComputed)]
    effects = [i for i, n in enumerate(nodes) if isinstance(n, AddEffect)]
    extras = bounds.extras
    ops: list[Step] = []
    for s in signals:
        ops += [Set(s, 0), Set(s, 1), Batch((Set(s, 1), Set(s, 0)))]
        ops += [Set(s, 1, "copy")] if extras else []
    for i, s in enumerate(signals):
        for t in signals[i + 1:]:
            ops.append(Batch((Set(s, 1), Batch((Set(t, 1),)))) if extras else Batch((Set(s, 1), Set(t, 1))))
    ops += [Read(c) for c in computeds]
    if extras:
        ops += [Read(c, "untracked") for c in computeds if "untracked" not in target.unsupported]
        ops += [Dispose(c) for c in computeds if "dispose_computed" not in target.unsupported]
        ops += [Batch((Set(signals[0], 1), Dispose(e))) for e in effects]
    return ops + [Dispose(e) for e in effects]


def cases(bounds: Bounds, target: Target) -> Iterator[tuple[tuple[NodeSpec, ...], tuple[Step, ...]]]:
    """Every (graph, maximal operation sequence) in a fixed order; shorter sequences are their prefixes."""
    cleanups = "cleanups" not in target.unsupported
    for graph in graphs(bounds, cleanups):
        ops = operations(graph, bounds, target)
        yield graph, ()  # the graph alone (counted, checked as the prefix of every sequence)
        if bounds.max_ops:  # product(..., repeat=0) is one empty sequence: the graph again
            for seq in product(ops, repeat=bounds.max_ops):
                yield graph, seq


def count_cases(bounds: Bounds = Bounds(), target: Target | str = "glitchless") -> tuple[int, int, int]:
    """(graphs, cases, runs) for these bounds, without running anything: cases count every prefix."""
    t = target if isinstance(target, Target) else load_target(target)
    n_graphs = n_cases = n_runs = 0
    for graph, seq in cases(bounds, t):
        if not seq:
            n_graphs += 1
            k = len(operations(graph, bounds, t))
            n_cases += sum(k ** i for i in range(bounds.max_ops + 1))
        else:
            n_runs += 1
    return n_graphs, n_cases, n_runs


def check_shard(target: Target, bounds: Bounds, shard: int = 0, shards: int = 1, keep: int = 3) -> ExhaustiveReport:
    """Check every `shards`-th case starting at `shard`; keep the first `keep` failing cases per label."""
    report = ExhaustiveReport(target.name, bounds)
    per_label: dict[str, int] = {}
    for graph, seq in islice(cases(bounds, target), shard, None, shards):
        if not seq:
            report.graphs += 1
            report.cases += sum(len(operations(graph, bounds, target)) ** i for i in range(bounds.max_ops + 1))
            if bounds.max_ops:
                continue
        session = Session(target, 2)
        found: list[Violation] = []
        for step in graph + seq:
            found = session.apply(step)
            if found:
                break
        session.close()
        report.runs += 1
        report.steps += len(session.steps)
        if found:
            report.failing_cases += 1
            v = found[0]
            per_label[v.label] = per_label.get(v.label, 0) + 1
            if per_label[v.label] <= keep:
                report.examples.append((v, session.program))
    return report


def exhaustive_check(target: Target | str = "glitchless", bounds: Bounds = Bounds(), *, jobs: int | None = None,
                     scheduler: str | None = None, shrink_failures: bool = True) -> ExhaustiveReport:
    """Check every case in the bounds on `target`, in the fixed shards of `glitchless.scale.exhaustive`.

    A target spec runs them on `jobs` local processes (default: one per CPU) or on the Dask cluster at
    `scheduler`; a `Target` object (a patched kernel in a test, say) cannot be sent to workers and
    runs them here. The report is the same either way.
    """
    from glitchless.scale import dask_available
    from glitchless.scale.exhaustive import KEEP, SHARDS, exhaustive_scaled, merge, shrink_examples

    if isinstance(target, str):
        if jobs is None and scheduler is None and not dask_available():
            jobs = 1  # Dask is an optional extra: without it, by default, the shards run here
        report, _ = exhaustive_scaled(target, bounds, jobs=jobs, scheduler=scheduler, shrink_failures=shrink_failures)
        return report
    start = time.perf_counter()
    parts = [check_shard(target, bounds, i, SHARDS, KEEP) for i in range(SHARDS)]
    report = merge(parts, target.name, bounds, KEEP)
    if shrink_failures:
        report.failures = shrink_examples(report.examples, target)
    report.seconds = time.perf_counter() - start
    return report
