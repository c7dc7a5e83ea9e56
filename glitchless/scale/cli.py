"""The scale-out options every sharded command shares: `--jobs J`, `--scheduler ADDRESS`.

`explore` uses them today; `exhaustive` and `fuzz` take the same two options and the same three
calls (see docs/scale-out.md): `add_scale_options(parser)`, then `jobs = choose_jobs(args)`, then
the run inside `with usage_errors():`, with a `glitchless.cli_support.progress` bar.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from glitchless.cli_support import UsageError
from glitchless.scale import INSTALL_HINT, ScaleError, dask_available, default_jobs


def add_scale_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", metavar="J",
                   help="local worker processes (default: the CPU count; 1 runs here, without Dask)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (see docs/scale-out.md)")


def choose_jobs(args: argparse.Namespace) -> int | None:
    """--jobs as given (None: the CPU count); 1, with a note on stderr, by default without Dask.

    An explicit --jobs above 1, or --scheduler, without Dask is a usage error (raised by
    run_shards as ScaleError, turned into UsageError by `usage_errors`)."""
    text: str | None = args.jobs
    if text is not None:
        if args.scheduler is not None:
            raise UsageError("give --jobs or --scheduler, not both")
        try:
            jobs = int(text, 10)
        except ValueError:
            raise UsageError(f"--jobs must be an integer, got {text!r}") from None
        if jobs < 1:
            raise UsageError(f"--jobs must be at least 1, got {jobs}")
        return jobs
    if args.scheduler is None and not dask_available():
        if default_jobs() > 1:
            print(f"note: running on one process; for --jobs install Dask: {INSTALL_HINT}", file=sys.stderr)
        return 1
    return None


@contextmanager
def usage_errors() -> Iterator[None]:
    """Dask missing, or a scheduler out of reach: one line and exit status 2."""
    try:
        yield
    except ScaleError as exc:
        raise UsageError(str(exc)) from None
