"""The top-level command line: every subcommand describes itself."""

from __future__ import annotations

import argparse

import pytest

from glitchless.cli import build_parser

NOT_YET_DESCRIBED: set[str] = set()  # coverage, mutate and report have theirs now


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize("name", sorted(set(subcommands()) - NOT_YET_DESCRIBED))
def test_every_subcommand_has_a_description_and_a_help_line(name: str) -> None:
    parser = subcommands()[name]
    assert parser.description and len(parser.description) > 40
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert any(choice.dest == name and choice.help for choice in sub._choices_actions)
