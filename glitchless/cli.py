"""The `glitchless` command line. Each feature adds its subcommands through a `register` function."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


def _register_scenarios(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from glitchless.scenarios.cli import register

    register(sub)


def _register_properties(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from glitchless.properties.cli import register  # imported here: it imports UsageError from this module

    register(sub)


def _register_reports(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from glitchless.reports.cli import register

    register(sub)


COMMANDS: list[Register] = [_register_scenarios, _register_properties, _register_reports]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="glitchless",
        description="Run reactive scenarios deterministically, model-check reactive kernels, "
        "and report coverage and mutation results.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(sub)
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except UsageError as exc:
        print(f"glitchless: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as other CLI tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return status
