"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from glitchless.scenarios import SCENARIOS, run_scenario

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_reactive_core_example_prints_what_its_comments_say(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(BLOCKS[0], "README.md", "exec"), {})
    assert capsys.readouterr().out == "total 20\ntotal 60\n"


def test_scenario_example_registers_and_passes() -> None:
    try:
        exec(compile(BLOCKS[1], "README.md", "exec"), {"__name__": "readme_example"})
        result = run_scenario("team-greeter", 0)
    finally:
        SCENARIOS.pop("team-greeter", None)
    assert result.passed
    assert result.observations == {"said": ["hello", "hi"]}


def test_fixture_example_passes_under_pytest(pytester: pytest.Pytester) -> None:
    [block] = [b for b in BLOCKS if "def test_an_order_is_logged_and_published" in b]
    pytester.makepyfile(test_readme_fixtures=block)
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=1)
