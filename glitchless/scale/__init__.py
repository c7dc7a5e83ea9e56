"""Scale-out: run a deterministic list of shards on local processes or on a Dask cluster.

A shard is one pure function call named by reference (`"module:function"`, positional
arguments), so any worker that can import glitchless (and the shard's module) can run it, and
running it twice gives the same result. That is what makes a dying worker harmless: Dask
reruns its shards elsewhere and the merged result does not change.

`run_shards` returns the results in shard order, whatever ran them and in whatever order they
finished, so a command's output is the same with one job, N jobs or a cluster. Dask is the only
distribution layer and an optional extra (`pip install 'glitchless[cluster]'`): with one job,
or a single shard on the local machine, the shards run in this process and Dask is not imported.
"""

from __future__ import annotations

import importlib
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

INSTALL_HINT = "pip install 'glitchless[cluster]'"
CONNECT_TIMEOUT = "10s"
KEY_PREFIX = "glitchless-shard"

Progress = Callable[[int, int], None]
InOrder = Callable[[int, Any], None]
"""Called with (index, result) for every shard, in shard order, as soon as all earlier shards are done:
output streamed through it is the same whatever the parallelism."""
"""Called with (shards done, shards in all) after each shard finishes, in this process."""


class ScaleError(Exception):
    """Scale-out cannot start: Dask is missing, or the scheduler cannot be reached. One line."""


@dataclass(frozen=True)
class Shard:
    """One unit of work: `fn` is "module:function", called as fn(*args). Must be pure."""

    fn: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class ShardRun:
    results: list[Any]  # one per shard, in shard order
    workers: int  # distinct workers (processes) whose results were kept; 1 when run in this process


def resolve(fn: str) -> Callable[..., Any]:
    module, sep, attr = fn.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"a shard function is named 'module:function', got {fn!r}")
    found: Any = importlib.import_module(module)
    for part in attr.split("."):
        found = getattr(found, part)
    if not callable(found):
        raise TypeError(f"shard function {fn!r} is not callable")
    return found  # type: ignore[no-any-return]


def call(shard: Shard) -> Any:
    """Run one shard in this process."""
    return resolve(shard.fn)(*shard.args)


def default_jobs() -> int:
    """The CPUs this process may use (the affinity mask, where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def dask_available() -> bool:
    try:
        _distributed()
    except ImportError:
        return False
    return True


def _distributed() -> Any:
    # Imported by name: Dask is an optional extra, and its API is only partly typed.
    return importlib.import_module("distributed")


def in_process(jobs: int | None, scheduler: str | None, shards: int) -> bool:
    """Whether `run_shards` would run here without Dask: no scheduler, and one job or one shard."""
    return scheduler is None and (jobs == 1 or shards <= 1)


def run_shards(
    shards: Sequence[Shard],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    in_order: InOrder | None = None,
) -> ShardRun:
    """Run `shards` and return their results in shard order.

    `scheduler` ("tcp://host:port") sends them to an existing Dask cluster; otherwise `jobs`
    local worker processes (default: the CPU count) run them, at most one per shard. One job or
    a single shard runs in this process. KeyboardInterrupt cancels the shards not yet finished
    and is re-raised; so is the first exception a shard raises.
    """
    if jobs is not None and jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    jobs = jobs or default_jobs()
    if in_process(jobs, scheduler, len(shards)):
        results = []
        for done, shard in enumerate(shards, 1):
            results.append(call(shard))
            if in_order is not None:
                in_order(done - 1, results[-1])
            if progress is not None:
                progress(done, len(shards))
        return ShardRun(results, 1 if shards else 0)
    if not dask_available():
        raise ScaleError(f"running on more than one process needs Dask: {INSTALL_HINT} (or use --jobs 1)")
    if scheduler is not None:
        return _run_on(_connect(scheduler), shards, progress, in_order, cluster=None)
    return _run_local(min(jobs, len(shards)), shards, progress, in_order)


def _connect(address: str) -> Any:
    try:
        return _distributed().Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ScaleError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None


def _run_local(n: int, shards: Sequence[Shard], progress: Progress | None, in_order: InOrder | None) -> ShardRun:
    dist = _distributed()
    # One thread per worker process: the shards are CPU-bound Python, so processes, not threads,
    # are what run them in parallel. Loopback only, no dashboard: nothing is exposed.
    cluster = dist.LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    try:
        client = dist.Client(cluster, set_as_default=False)
    except BaseException:
        cluster.close()
        raise
    return _run_on(client, shards, progress, in_order, cluster=cluster)


def _run_on(
    client: Any, shards: Sequence[Shard], progress: Progress | None, in_order: InOrder | None, *, cluster: Any
) -> ShardRun:
    futures: list[Any] = []
    try:
        # A key of its own for every shard of every run (equal shards of two runs are not merged),
        # readable on the dashboard: glitchless-shard-<index>-<run>.
        run = uuid.uuid4().hex[:12]
        futures = [client.submit(_on_worker, s.fn, s.args, key=f"{KEY_PREFIX}-{i}-{run}") for i, s in enumerate(shards)]
        index = {f.key: i for i, f in enumerate(futures)}
        waiting: dict[int, Any] = {}  # finished shards whose predecessors are not all done yet
        done = emitted = 0
        for future in _distributed().as_completed(futures, loop=client.loop):
            _, result = future.result()  # a shard's exception is raised here, before the others finish
            done += 1
            if in_order is not None:
                waiting[index[future.key]] = result
                while emitted in waiting:
                    in_order(emitted, waiting.pop(emitted))
                    emitted += 1
            if progress is not None:
                progress(done, len(futures))
        pairs = [f.result() for f in futures]
    except BaseException:
        # Ctrl-C or a failed shard: nothing outstanding keeps running on the cluster.
        if futures:
            client.cancel(futures)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return ShardRun([result for _, result in pairs], len({worker for worker, _ in pairs}))


def _on_worker(fn: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    """Runs on a Dask worker: the shard's result, tagged with the worker that computed it."""
    return _distributed().get_worker().address, resolve(fn)(*args)


def chunks(count: int, size: int) -> list[range]:
    """0..count-1 as consecutive ranges of `size` (the last may be shorter): deterministic shards."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    return [range(lo, min(lo + size, count)) for lo in range(0, count, size)]


__all__ = [
    "CONNECT_TIMEOUT",
    "KEY_PREFIX",
    "INSTALL_HINT",
    "Progress",
    "ScaleError",
    "Shard",
    "ShardRun",
    "call",
    "chunks",
    "dask_available",
    "default_jobs",
    "in_process",
    "resolve",
    "run_shards",
]
