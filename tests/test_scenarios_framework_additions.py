"""The framework additions this branch made: unhandled errors fail a run, observations read back as JSON."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from glitchless.scenarios import SCENARIOS, Script, load_all, run_scenario, scenario


@pytest.fixture
def temporary() -> Iterator[list[str]]:
    load_all()
    names: list[str] = []
    yield names
    for n in names:
        del SCENARIOS[n]


def test_an_async_effect_failing_during_the_run_fails_the_run_with_its_record_kept(temporary: list[str]) -> None:
    @scenario("test-unhandled", "an async effect raises")
    async def body(s: Script) -> None:
        k = s.kernel()

        async def boom() -> None:
            raise ValueError("effect blew up")

        k.rt.effect(boom)
        await s.advance(1)
        s.check("the body got to the end", True)

    temporary.append("test-unhandled")
    r = run_scenario("test-unhandled")
    assert not r.passed
    assert [(c.name, c.passed) for c in r.checks] == [
        ("the body got to the end", True),
        ("no unhandled errors during the run", False),
    ]
    assert "ValueError: effect blew up" in r.checks[-1].detail


def test_observations_and_notes_take_any_json_able_value_and_read_back_as_json(temporary: list[str]) -> None:
    @scenario("test-observe", "observe a tuple")
    async def body(s: Script) -> None:
        s.note("pairs", pairs=[("a", 1)])
        s.observe("pair", ("a", 1))
        s.check("ok", True)

    temporary.append("test-observe")
    r = run_scenario("test-observe")
    assert r.observations == {"pair": ["a", 1]}
    assert r.trace.of("note")[0].data == {"what": "pairs", "pairs": [["a", 1]]}
