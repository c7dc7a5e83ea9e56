"""`explore` scaled out: the seeds split into fixed ranges, each range one shard.

The shards depend only on the seeds (never on the number of jobs), and the failing seeds are
merged in seed order, so the output is the same with one job, N jobs or a cluster.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from glitchless.scale import Progress, ScaleError, Shard, chunks, run_shards
from glitchless.cli_support import UsageError, progress, validate_count, validate_seed
from glitchless.scale.cli import add_scale_options, choose_jobs, usage_errors
from glitchless.scenarios.framework import Scenario, UnknownScenarioError, get_scenario, run_scenario

SEEDS_PER_SHARD = 25
"""About a quarter of a second of work per shard: small enough to balance, large enough that
Dask's per-task overhead (milliseconds) does not matter."""


@dataclass(frozen=True)
class SeedFailure:
    seed: int
    check: str | None  # the first failing check; None when the scenario ran no checks
    detail: str

    def first(self) -> str:
        return "no checks ran" if self.check is None else f"{self.check}: {self.detail}"


@dataclass
class Exploration:
    scenario: str
    start: int
    cases: int  # seeds run
    failures: list[SeedFailure] = field(default_factory=list)  # in seed order
    workers: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "start": self.start,
            "cases": self.cases,
            "failures": [
                {"seed": f.seed, "check": f.check, "detail": f.detail, "replay": replay_command(self.scenario, f.seed)}
                for f in self.failures
            ],
            "workers": self.workers,
        }


def replay_command(name: str, seed: int) -> str:
    return f"glitchless run {name} --seed {seed}"


def scenario_module(sc: Scenario) -> str | None:
    """The module a worker imports to register `sc`, if it is not a built-in or declared one."""
    module = getattr(sc.body, "__module__", None)
    return module if isinstance(module, str) and module != "__main__" else None


def _scenario(name: str, module: str | None) -> Scenario:
    try:
        return get_scenario(name)
    except UnknownScenarioError:
        if module is None:
            raise
    importlib.import_module(module)
    return get_scenario(name)


def explore_shard(name: str, module: str | None, start: int, stop: int) -> list[SeedFailure]:
    """Run seeds start..stop-1 of one scenario; the failing ones. Pure: a function of its arguments."""
    sc = _scenario(name, module)
    failing = []
    for seed in range(start, stop):
        result = run_scenario(sc.name, seed)
        if not result.passed:
            bad = [c for c in result.checks if not c.passed]
            failing.append(SeedFailure(seed, bad[0].name, bad[0].detail) if bad else SeedFailure(seed, None, ""))
    return failing


def explore_shards(name: str, count: int, start: int = 0, *, per_shard: int = SEEDS_PER_SHARD) -> list[Shard]:
    module = scenario_module(get_scenario(name))
    return [
        Shard("glitchless.scale.explore:explore_shard", (name, module, start + r.start, start + r.stop))
        for r in chunks(count, per_shard)
    ]


def explore(
    name: str,
    count: int,
    start: int = 0,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    per_shard: int = SEEDS_PER_SHARD,
    on_failures: Callable[[list[SeedFailure]], None] | None = None,
) -> Exploration:
    """Run `count` seeds of scenario `name` from `start` on `jobs` processes or a cluster.

    `on_failures` gets each shard's failing seeds in seed order, as soon as the seeds before them are done.
    A scenario defined in the running script (`__main__`) cannot be sent to workers: it runs here.
    """
    if scenario_module(get_scenario(name)) is None:
        if scheduler is not None:
            raise ScaleError(f"scenario {name!r} is defined in the running script; put it in a module to run it on a cluster")
        jobs = 1
    run = run_shards(explore_shards(name, count, start, per_shard=per_shard), jobs=jobs, scheduler=scheduler,
                     progress=progress, in_order=None if on_failures is None else lambda _, part: on_failures(part))
    return Exploration(name, start, count, [f for part in run.results for f in part], run.workers)


# -- the command -----------------------------------------------------------------------


def add_options(p: argparse.ArgumentParser) -> None:
    """`explore`'s scale-out options (added to the parser in glitchless.scenarios.cli)."""
    add_scale_options(p)
    p.add_argument("--json", action="store_true", help="print cases, failures and workers as JSON")


def explore_command(args: argparse.Namespace) -> int:
    """`glitchless explore NAME --seeds N [--start S] [--jobs J | --scheduler ADDR] [--json]`."""
    from glitchless.scenarios.cli import known_scenario

    name = known_scenario(args.name)
    count = validate_count(args.seeds, "--seeds")
    start = validate_seed(args.start, "--start")
    jobs = choose_jobs(args)
    started = time.perf_counter()
    with progress(f"exploring {name}", total=count, unit="seeds", quiet=args.json) as bar:

        def seeds_done(done: int, total: int) -> None:
            # Shards hold SEEDS_PER_SHARD seeds each, the last one possibly fewer.
            bar.advance(min(done * SEEDS_PER_SHARD, count) - bar.done)

        def show(failures: list[SeedFailure]) -> None:
            for f in failures:
                print(f"seed {f.seed}: FAIL -- {f.first()}")
                print(f"  replay: {replay_command(name, f.seed)}", flush=True)

        try:
            with usage_errors():
                found = explore(name, count, start, jobs=jobs, scheduler=args.scheduler, progress=seeds_done,
                                on_failures=None if args.json else show)
        except UnknownScenarioError as exc:  # on a worker that cannot import the scenario's module
            raise UsageError(str(exc.args[0])) from None
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps(found.to_json(), indent=2))
    else:
        print(f"{name}: {count} seeds from {start}, {len(found.failures)} failing")
    workers = f"{found.workers} worker{'s' if found.workers != 1 else ''}"
    print(f"explored in {elapsed:.2f} s on {workers}", file=sys.stderr)
    return 1 if found.failures else 0
