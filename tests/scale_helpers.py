"""Shard functions and a target for tests/test_scale.py, importable by Dask workers.

The workers started by the tests import this module by name (tests/ is on their path), so
everything a shard needs is at module level here, not inside a test.
"""

from __future__ import annotations

import functools
import os
import signal
from pathlib import Path
from types import ModuleType

from glitchless.kernel import Runtime
from glitchless.scale.explore import SeedFailure, explore_shard

import planted


def square_sum(lo: int, hi: int) -> int:
    """A toy shard: a little CPU work, a result that depends only on the arguments."""
    return sum(i * i for i in range(lo, hi))


def kill_own_worker_once(marker: str) -> None:
    """On the first call (no marker file yet) leave the marker and kill this worker process.

    The marker is written before dying, so the retry Dask schedules, on whichever worker, finds
    it and goes on: exactly one worker dies, and deterministically.
    """
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)


def square_sum_dying_once(marker: str, lo: int, hi: int) -> int:
    kill_own_worker_once(marker)
    return square_sum(lo, hi)


def explore_dying_once(marker: str, name: str, module: str | None, start: int, stop: int) -> list[SeedFailure]:
    """explore's shard, but the first execution kills its worker after doing the work."""
    found = explore_shard(name, module, start, stop)
    kill_own_worker_once(marker)
    return found


@functools.cache
def _no_cutoff_kernel() -> ModuleType:
    return planted.no_equality_cutoff()


def no_cutoff_runtime() -> Runtime:
    """A target ("scale_helpers:no_cutoff_runtime") with a planted bug: no equality cut-off."""
    runtime: Runtime = _no_cutoff_kernel().Runtime()
    return runtime


def first_returns_others_wait(directory: str, index: int) -> int:
    """Notes that it started; the first shard to start returns at once, every other one waits for
    the cluster-wide Dask event named `directory` (which the test sets once the run was interrupted)."""
    from distributed import Event

    d = Path(directory)
    (d / f"started-{index}").touch()
    try:
        os.close(os.open(d / "first", os.O_CREAT | os.O_EXCL))
        return index
    except FileExistsError:
        pass
    Event(directory).wait(timeout=120)  # bounded, so that a broken test cannot hang a worker
    return index


def _upstream(node: object) -> set[int]:
    seen: set[int] = set()
    todo = list(getattr(node, "_sources", None) or ())
    while todo:
        n = todo.pop()
        if id(n) not in seen:
            seen.add(id(n))
            todo.extend(getattr(n, "_sources", None) or ())
    return seen


@functools.cache
def _deep_effect_kernel() -> ModuleType:
    """An effect with 4 or more upstream nodes runs twice: only 5-node graphs (s -> c -> c -> c -> e) show it."""
    k = planted.fresh_kernel()
    run_effect = k.Runtime._run_effect

    def run(self: object, e: object) -> None:
        run_effect(self, e)
        if not getattr(e, "_disposed") and len(_upstream(e)) >= 4:
            run_effect(self, e)

    k.Runtime._run_effect = run
    return k


def deep_effect_runtime() -> Runtime:
    """A target ("scale_helpers:deep_effect_runtime") with a bug that needs a 5-node graph."""
    runtime: Runtime = _deep_effect_kernel().Runtime()
    return runtime
