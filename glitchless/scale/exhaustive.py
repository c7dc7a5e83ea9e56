"""`exhaustive` scaled out: the case space of `cases(bounds, target)` split into fixed shards.

Shard `i` of `SHARDS` checks every `SHARDS`-th case from index `i` with
`glitchless.properties.exhaustive.check_shard`, a pure function of its arguments; the later,
heavier graphs are spread over all shards. The shards are fixed by the bounds alone (never by
the number of jobs), and their parts are merged in shard order, so counts, verdicts and the
failures (and their order) are the same with one job, N jobs or a cluster. With one job the
shards run in this process, without Dask.
"""

from __future__ import annotations

import time

from glitchless.properties.exhaustive import Bounds, ExhaustiveReport, check_shard
from glitchless.properties.hooks import Violation
from glitchless.properties.program import Program
from glitchless.properties.runner import Failure, shrink
from glitchless.properties.targets import Target, load_target
from glitchless.scale import Progress, Shard, run_shards

SHARDS = 32
"""Enough to keep every core of a small cluster busy to the end; each shard walks the case
enumeration once (cheap next to running the cases), so many more would cost more than they gain."""

KEEP = 3
"""Failing cases kept per property/kind label, each shard and overall, before shrinking."""


def check_part(target: str, bounds: Bounds, shard: int, shards: int, keep: int = KEEP) -> ExhaustiveReport:
    """One shard, named by a target spec ("glitchless", "module:factory") every worker can load."""
    return check_shard(load_target(target), bounds, shard, shards, keep)


def exhaustive_shards(target: str, bounds: Bounds, *, shards: int = SHARDS, keep: int = KEEP) -> list[Shard]:
    return [Shard("glitchless.scale.exhaustive:check_part", (target, bounds, i, shards, keep)) for i in range(shards)]


def merge(parts: list[ExhaustiveReport], target: str, bounds: Bounds, keep: int = KEEP) -> ExhaustiveReport:
    """Counts added up; the first `keep` failing cases per label, in shard order."""
    report = ExhaustiveReport(parts[0].target if parts else target, bounds)
    per_label: dict[str, int] = {}
    for part in parts:
        report.graphs += part.graphs
        report.cases += part.cases
        report.runs += part.runs
        report.steps += part.steps
        report.failing_cases += part.failing_cases
        for v, program in part.examples:
            per_label[v.label] = per_label.get(v.label, 0) + 1
            if per_label[v.label] <= keep:
                report.examples.append((v, program))
    return report


def shrink_examples(examples: list[tuple[Violation, Program]], target: Target) -> list[Failure]:
    """Each example shrunk, grouped by shrunk program (one bug, one failure), in example order."""
    groups: dict[str, Failure] = {}
    for v, program in examples:
        v2, small = shrink(program, target, v.label)
        groups.setdefault(small.to_json(), Failure(v2, small, target.name))
    return list(groups.values())


def exhaustive_scaled(
    target: str,
    bounds: Bounds,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    shards: int = SHARDS,
    keep: int = KEEP,
    shrink_failures: bool = True,
) -> tuple[ExhaustiveReport, int]:
    """The merged (and shrunk) report for `target` (a spec) within `bounds`, and how many workers ran it."""
    start = time.perf_counter()
    t = load_target(target)
    run = run_shards(exhaustive_shards(target, bounds, shards=shards, keep=keep),
                     jobs=jobs, scheduler=scheduler, progress=progress)
    report = merge(run.results, t.name, bounds, keep)
    if shrink_failures:
        report.failures = shrink_examples(report.examples, t)
    report.seconds = time.perf_counter() - start
    return report, run.workers
