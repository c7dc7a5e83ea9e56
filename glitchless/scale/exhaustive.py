"""`exhaustive` scaled out: the case space split into consecutive ranges of graph indexes.

Written against today's `glitchless.properties.exhaustive` (its `graphs`, `operations`,
`sequences` and the harness `Session`), and isolated here so it can be re-pointed when that
package's rewrite lands: `check_range` becomes a call of the new pure per-shard check, and
`graph_count` a count over the new case enumeration. Nothing else here depends on it.

Shards are fixed by the bounds alone (never by the number of jobs), each shard checks its range
in enumeration order, and the parts are merged in shard order, so counts, verdicts and the
first `keep` failures are those of a one-process run, in the same order.
"""

from __future__ import annotations

import time
from itertools import islice

from glitchless.properties.exhaustive import Bounds, ExhaustiveReport, graphs, operations, sequences
from glitchless.properties.harness import Session
from glitchless.properties.program import Program
from glitchless.properties.targets import load_target
from glitchless.scale import Progress, Shard, chunks, run_shards

GRAPHS_PER_SHARD = 8
"""Later graphs have more nodes, so more operations and far more sequences: small shards keep
the last ones from leaving a single worker busy at the end."""


def _cleanups(target: str) -> bool:
    return "cleanups" not in load_target(target).unsupported


def graph_count(target: str, bounds: Bounds) -> int:
    return sum(1 for _ in graphs(bounds, _cleanups(target)))


def check_range(target: str, bounds: Bounds, lo: int, hi: int, keep: int) -> ExhaustiveReport:
    """Check graphs lo..hi-1 of the enumeration, every sequence of each. Pure: a function of its
    arguments. `target` is a spec ("glitchless", "module:factory") that every worker can load."""
    t = load_target(target)
    report = ExhaustiveReport(t.name, bounds)
    # The loop of glitchless.properties.exhaustive._shard, over a range instead of a residue
    # class, so that concatenating the ranges gives the one-process order.
    for graph in islice(graphs(bounds, "cleanups" not in t.unsupported), lo, hi):
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
                report.failing_cases += 1
                if len(report.failures) < keep:
                    first = found[0]
                    report.failures.append((first, Program(2, program.steps[: first.step])))
    return report


def exhaustive_shards(target: str, bounds: Bounds, *, keep: int = 5, per_shard: int = GRAPHS_PER_SHARD) -> list[Shard]:
    return [
        Shard("glitchless.scale.exhaustive:check_range", (target, bounds, r.start, r.stop, keep))
        for r in chunks(graph_count(target, bounds), per_shard)
    ]


def merge(parts: list[ExhaustiveReport], target: str, bounds: Bounds, keep: int) -> ExhaustiveReport:
    report = ExhaustiveReport(parts[0].target if parts else target, bounds)
    for part in parts:
        report.graphs += part.graphs
        report.cases += part.cases
        report.runs += part.runs
        report.steps += part.steps
        report.failing_cases += part.failing_cases
        report.failures.extend(part.failures)
    # Each shard kept its own first `keep` in order, so the first `keep` overall are among them.
    report.failures = report.failures[:keep]
    return report


def exhaustive_scaled(
    target: str,
    bounds: Bounds,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    keep: int = 5,
    per_shard: int = GRAPHS_PER_SHARD,
) -> tuple[ExhaustiveReport, int]:
    """The report of `exhaustive_check(target, bounds, keep=keep)` and how many workers ran it."""
    start = time.perf_counter()
    run = run_shards(exhaustive_shards(target, bounds, keep=keep, per_shard=per_shard),
                     jobs=jobs, scheduler=scheduler, progress=progress)
    report = merge(run.results, target, bounds, keep)
    report.seconds = time.perf_counter() - start
    return report, run.workers
