"""The `glitchless` command line. Each feature adds its subcommands through a `register` function."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


def _register_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="show a glitch-free diamond update on the reactive core")
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from glitchless.kernel import Runtime

    rt = Runtime()
    price = rt.signal(10, name="price")
    qty = rt.signal(2, name="qty")
    subtotal = rt.computed(lambda: price.get() * qty.get(), name="subtotal")
    tax = rt.computed(lambda: subtotal.get() // 10, name="tax")
    rt.effect(lambda: print(f"  effect sees subtotal={subtotal.get()} tax={tax.get()}"), name="receipt")
    print("set price=20, qty=3 in one batch:")
    with rt.batch():
        price.set(20)
        qty.set(3)
    print("set qty=3 again (equal write, nothing runs):")
    qty.set(3)
    return 0


def _register_scenarios(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from glitchless.scenarios.cli import register

    register(sub)


def _register_properties(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from glitchless.properties.cli import register  # imported here: it imports UsageError from this module

    register(sub)


def _register_reports(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from glitchless.reports.cli import register

    register(sub)


COMMANDS: list[Register] = [_register_demo, _register_scenarios, _register_properties, _register_reports]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="glitchless", description=__doc__)
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
