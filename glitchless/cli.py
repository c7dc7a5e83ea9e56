"""The `glitchless` command line. Each feature adds its subcommands through a `register` function."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from glitchless.cli_support import Interrupted, UsageError, interrupt_guard, interrupt_requested, report_interruption

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


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


def build_parser() -> argparse.ArgumentParser:
    from glitchless import __version__

    parser = argparse.ArgumentParser(
        prog="glitchless",
        description="Run reactive scenarios deterministically, model-check reactive kernels, "
        "and report coverage and mutation results.",
    )
    parser.add_argument("--version", action="version", version=f"glitchless {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    with interrupt_guard():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        status: int = args.run(args)
    except (Interrupted, KeyboardInterrupt) as exc:
        # Ctrl-C: one line saying how far it got, the conventional status, no traceback.
        return report_interruption(exc)
    except UsageError as exc:
        print(f"glitchless: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as other CLI tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception:
        if interrupt_requested():  # something winding down after Ctrl-C failed in its place
            return report_interruption(KeyboardInterrupt())
        raise
    if interrupt_requested():  # the interrupt was swallowed (say, recorded as a failed check): still one
        return report_interruption(KeyboardInterrupt())
    return status


__all__ = ["COMMANDS", "Register", "UsageError", "build_parser", "main"]
