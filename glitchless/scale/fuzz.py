"""`fuzz` scaled out: independent shards with distinct derived seeds and one shared example database.

`fuzz_shard` is one call of `glitchless.properties.machine.fuzz`, a function of its arguments.

Shard `i` of `n` searches with seed `shard_seed(seed, i, n)` (`seed * 1000 + i`; one shard keeps
`seed` itself, so `--shards 1` is today's run) for its part of the examples. The shards are
fixed by (seed, examples, shards), never by the number of jobs; without a database, or with one
that does not change during the run, the merged report is the same with one job, N jobs or a
cluster. With a database that shards write as they go, a shard that starts later may also
replay what an earlier one saved: that is the point of sharing it, and the only way the result
can depend on the schedule.

The database is a directory (on storage every worker mounts) or `redis://host:port/db` for
Hypothesis's `RedisExampleDatabase` (needs `hypothesis[redis]`, in the `cluster` extra).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from glitchless.scale import INSTALL_HINT, Progress, Shard, default_jobs, in_process, run_shards

if TYPE_CHECKING:
    from hypothesis.database import ExampleDatabase

    from glitchless.properties.machine import AnyFailure, FuzzReport

SEED_STRIDE = 1000
"""Shard seeds of one search: seed*1000 .. seed*1000+999, disjoint across seeds 0, 1, 2, ..."""


def shard_seed(seed: int, shard: int, shards: int) -> int:
    if not 0 <= shard < shards <= SEED_STRIDE:
        raise ValueError(f"shard {shard} of {shards}: at most {SEED_STRIDE} shards, numbered from 0")
    return seed if shards == 1 else seed * SEED_STRIDE + shard


def split_examples(examples: int, shards: int) -> list[int]:
    """`examples` over `shards` as evenly as possible, the first shards taking the remainder."""
    if shards < 1 or examples < shards:
        raise ValueError(f"need at least one example per shard: {examples} examples, {shards} shards")
    base, extra = divmod(examples, shards)
    return [base + (i < extra) for i in range(shards)]


def open_database(spec: str | None) -> ExampleDatabase | None:
    """A directory path, or redis://... (rediss:// with TLS) for Hypothesis's Redis database."""
    if spec is None:
        return None
    if spec.startswith(("redis://", "rediss://", "unix://")):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError:
            raise ImportError(f"a Redis example database needs hypothesis[redis]: {INSTALL_HINT}") from None
        return RedisExampleDatabase(redis.Redis.from_url(spec))
    from hypothesis.database import DirectoryBasedExampleDatabase

    return DirectoryBasedExampleDatabase(spec)


def fuzz_shard(
    target: str,
    examples: int,
    seed: int,
    steps: int,
    checks: tuple[str, ...] | None,
    ignore: tuple[str, ...],
    database: str | None,
    shrink: bool,
    reduce: bool,
    without: tuple[str, ...] = (),
    progress: Callable[[int], None] | None = None,
) -> FuzzReport:
    """One shard: `glitchless fuzz --seed SEED --examples EXAMPLES` against the shared database.

    `without` names the parts of the contract not to generate (fields of `machine.Options`)."""
    from dataclasses import replace

    from glitchless.properties.machine import Options, fuzz

    return fuzz(target, examples=examples, seed=seed, steps=steps, checks=checks, ignore=ignore,
                database=open_database(database), shrink=shrink, reduce=reduce, progress=progress,
                options=replace(Options(), **{name: False for name in without}))


def fuzz_shards(
    target: str,
    *,
    examples: int,
    seed: int,
    shards: int,
    steps: int,
    checks: tuple[str, ...] | None = None,
    ignore: tuple[str, ...] = (),
    database: str | None = None,
    shrink: bool = True,
    reduce: bool = True,
    without: tuple[str, ...] = (),
) -> list[Shard]:
    return [
        Shard("glitchless.scale.fuzz:fuzz_shard",
              (target, n, shard_seed(seed, i, shards), steps, checks, ignore, database, shrink, reduce, without))
        for i, n in enumerate(split_examples(examples, shards))
    ]


def merge(parts: list[FuzzReport], target: str, examples: int, seed: int, steps: int) -> FuzzReport:
    """One report: runs added up; one failure per property/kind label (the first shard's that found
    it, in shard order), then the errors, each once."""
    from glitchless.properties.machine import FuzzReport

    report = FuzzReport(parts[0].target if parts else target, examples, seed, steps)
    labels: set[str] = set()
    for part in parts:
        report.runs += part.runs
        for f in part.failures:
            if f.label not in labels:
                labels.add(f.label)
                report.failures.append(f)
        report.errors.extend(e for e in part.errors if e not in report.errors)
    return report


def shard_of(failure: AnyFailure, parts: list[FuzzReport]) -> int:
    """Which shard found `failure` first: its search is `fuzz --seed <that shard's seed>`."""
    return next(i for i, part in enumerate(parts) if any(f.label == failure.label for f in part.failures))


def fuzz_scaled(
    target: str,
    *,
    examples: int,
    seed: int = 0,
    shards: int = 1,
    steps: int = 30,
    checks: tuple[str, ...] | None = None,
    ignore: tuple[str, ...] = (),
    database: str | None = None,
    shrink: bool = True,
    reduce: bool = True,
    without: tuple[str, ...] = (),
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    runs_progress: Callable[[int], None] | None = None,
) -> tuple[FuzzReport, list[FuzzReport], int]:
    """The merged report, the shards' own reports (in shard order) and how many workers ran them.

    When the shards run in this process (one job or one shard, no scheduler), `runs_progress` gets
    the machine runs done so far across them, as Hypothesis makes them; `progress` always gets
    (shards done, shards)."""
    start = time.perf_counter()
    plan = fuzz_shards(target, examples=examples, seed=seed, shards=shards, steps=steps, checks=checks,
                       ignore=ignore, database=database, shrink=shrink, reduce=reduce, without=without)
    parts: list[FuzzReport]
    if runs_progress is not None and in_process(jobs or default_jobs(), scheduler, len(plan)):
        parts, before = [], 0
        for done, shard in enumerate(plan, 1):
            counted = functools.partial(_shifted, runs_progress, before)
            parts.append(functools.partial(fuzz_shard, progress=counted)(*shard.args))
            before += parts[-1].runs
            if progress is not None:
                progress(done, len(plan))
        workers = 1
    else:
        run = run_shards(plan, jobs=jobs, scheduler=scheduler, progress=progress)
        parts, workers = run.results, run.workers
    report = merge(parts, target, examples, seed, steps)
    report.seconds = time.perf_counter() - start
    return report, parts, workers


def _shifted(report: Callable[[int], None], offset: int, runs: int) -> None:
    report(offset + runs)


def summary(parts: list[FuzzReport]) -> str:
    """`shard i: seed S, N examples` lines, for a failing run's "reproduce" hint."""
    return "\n".join(f"shard {i}: glitchless fuzz --seed {p.seed} --examples {p.examples}" for i, p in enumerate(parts))
