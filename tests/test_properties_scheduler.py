"""scheduler_determinism: drawn interleavings replay, seeds rerun, and async effects keep their rules."""

from __future__ import annotations

import random
from typing import Any

import pytest

from glitchless.fakes import ReplayChooser, SeededChooser, dumps, explore
from glitchless.fakes.loop import DeterministicLoop
from glitchless.kernel.async_effect import AsyncEffect
from glitchless.properties.hooks import properties
from glitchless.properties.machine import ScriptFailure, fuzz
from glitchless.properties.scheduler import AsyncProgram, EffectSpec, check_trace, program_main, run_machine, run_program
from glitchless.properties.targets import load_target

GLITCHLESS = load_target("glitchless")

# Two effects over a computed and a signal, two writers racing in the same ticks, one disposal.
BUSY = AsyncProgram(
    inits=(0, 1),
    computed=(0, 1),
    effects=(EffectSpec((0, 2), (1, 0)), EffectSpec((1,), (0, 0))),
    writers=(((0, "set", 0, 2), (1, "set", 1, 2)), ((0, "set", 1, 0), (0, "dispose", 1, 0))),
)


def test_interleavings_drawn_by_hypothesis_replay_rerun_and_keep_the_async_rules() -> None:
    report = run_machine(GLITCHLESS, examples=150, seed=0, steps=30)
    assert report.ok, [f.render() for f in report.failures] + report.errors
    assert report.runs >= 150


def test_the_property_runs_through_fuzz_checks_and_needs_the_scheduler_layer() -> None:
    assert fuzz("glitchless", examples=20, seed=1, checks={"scheduler_determinism"}).ok
    info = next(p for p in properties() if p.name == "scheduler_determinism")
    assert info.needs == "scheduler" and GLITCHLESS.supports("scheduler")


def test_recorded_choices_replay_the_same_trace_byte_for_byte() -> None:
    for seed in range(5):
        record = ReplayChooser([], then=SeededChooser(seed))
        first = run_program(GLITCHLESS, BUSY, chooser=record)
        replay = ReplayChooser(record.made)
        assert dumps(run_program(GLITCHLESS, BUSY, chooser=replay)) == dumps(first)
        assert replay.made == record.made and len(record.made) > 3  # there were choices to make
        assert dumps(run_program(GLITCHLESS, BUSY, seed=seed)) == dumps(run_program(GLITCHLESS, BUSY, seed=seed))


def test_every_schedule_of_a_small_program_keeps_the_async_rules() -> None:
    small = AsyncProgram((0,), None, (EffectSpec((0,), (0, 1)),), (((0, "set", 0, 1), (0, "set", 0, 2)),
                                                                     ((0, "set", 0, 0),)))
    schedules = explore(program_main(GLITCHLESS, small), max_runs=2000)
    assert len(schedules) > 10
    traces = {dumps(trace) for _, trace in schedules}
    assert len(traces) > 1  # the schedules really differ
    for choices, trace in schedules:
        assert check_trace(small, trace) == [], choices


# -- planted bugs (monkeypatched for one test only) ----------------------------------------------


def test_a_loop_that_ignores_its_chooser_for_an_unseeded_random_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    run_batch = DeterministicLoop._run_batch

    class Unseeded:
        def __init__(self) -> None:
            self.rng = random.Random()  # seeded from the OS: a different schedule every run

        def choose(self, n: int) -> int:
            return self.rng.randrange(n)

    def ignoring(self: DeterministicLoop, batch: Any) -> None:
        kept, self.chooser = self.chooser, Unseeded()  # type: ignore[assignment]
        try:
            run_batch(self, batch)
        finally:
            self.chooser = kept

    monkeypatch.setattr(DeterministicLoop, "_run_batch", ignoring)
    report = run_machine(GLITCHLESS, examples=100, seed=0, steps=30)
    assert report.failures, report.errors
    assert report.failures[0].label in {"scheduler_determinism/replay-diverged", "scheduler_determinism/seed-diverged"}


def test_an_async_effect_that_reruns_twice_on_supersede_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    finish = AsyncEffect._finish  # where a run ends and its owed re-run starts

    def twice(self: AsyncEffect, run: Any, result: Any) -> None:
        finish(self, run, result)
        if run.superseded and not self._disposed:
            self._start()  # planted: a second re-run

    monkeypatch.setattr(AsyncEffect, "_finish", twice)
    report = run_machine(GLITCHLESS, examples=100, seed=0, steps=30)
    labels = [f.label for f in report.failures]
    assert labels and labels[0] in {"scheduler_determinism/spurious-run", "scheduler_determinism/overlapping-run",
                                    "scheduler_determinism/run-count"}, labels
    failure = report.failures[0]
    assert isinstance(failure, ScriptFailure)
    assert len(failure.program.steps) <= 7, failure.render()  # shrunk: one signal, one effect, two writes


def test_an_async_effect_that_drops_its_owed_rerun_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AsyncEffect, "_supersede", lambda self, run: None)  # planted: a change mid-run is lost
    report = run_machine(GLITCHLESS, examples=100, seed=0, steps=30, shrink=False)
    assert [f.label for f in report.failures][:1] in (["scheduler_determinism/is-stale"],
                                                      ["scheduler_determinism/missed-run"],
                                                      ["scheduler_determinism/quiescence"],
                                                      ["scheduler_determinism/not-cancelled"])


FOREIGN = AsyncProgram((0,), None, (EffectSpec((0,), (1,), wrapped=True),), (((0, "set", 0, 1),),),
                       foreign=((0, 2, False), (0, 0, True)))


def test_writes_from_a_foreign_thread_reach_the_loop_and_the_effects() -> None:
    trace = run_program(load_target("glitchless"), FOREIGN, seed=0)
    assert check_trace(FOREIGN, trace) == []
    assert trace[-1][1] == "settled" and trace[-1][2] == [0]  # set(2), then update to 0, both applied


def test_a_foreign_write_lost_on_its_way_to_the_loop_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # Planted in the loop, not the kernel: the compiled kernel's own calls cannot be patched from Python.
    monkeypatch.setattr(DeterministicLoop, "call_soon_threadsafe", lambda self, callback, *args, **kwargs: None)
    trace = run_program(load_target("glitchless"), FOREIGN, seed=0)
    assert "lost-write" in [kind for kind, _ in check_trace(FOREIGN, trace)]


# One effect that cancels on supersede, awaiting twice; a write lands while its first run sleeps.
CANCELLING = AsyncProgram((0,), None, (EffectSpec((0,), (2, 1), cancelling=True),), (((1, "set", 0, 1),),))


def test_a_superseded_run_of_a_cancelling_effect_is_cancelled_and_run_again() -> None:
    trace = run_program(GLITCHLESS, CANCELLING, seed=0)
    assert check_trace(CANCELLING, trace) == []
    events = [(kind, *data) for _, kind, *data in trace if kind in ("start", "cancelled", "end")]
    assert events == [("start", 0, 1, [0]), ("cancelled", 0, 1), ("start", 0, 2, [1]), ("end", 0, 2, False)]


def test_an_async_effect_that_ignores_cancel_on_supersede_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    init = AsyncEffect.__init__

    def ignoring(self: AsyncEffect, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **{**kwargs, "cancel_on_supersede": False})  # planted: the option is dropped

    monkeypatch.setattr(AsyncEffect, "__init__", ignoring)
    assert [kind for kind, _ in check_trace(CANCELLING, run_program(GLITCHLESS, CANCELLING, seed=0))] == ["not-cancelled"]
    report = run_machine(GLITCHLESS, examples=100, seed=0, steps=30, shrink=False)
    assert [f.label for f in report.failures][:1] == ["scheduler_determinism/not-cancelled"], report.errors


def test_an_async_effect_that_cancels_without_being_asked_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    init = AsyncEffect.__init__

    def forcing(self: AsyncEffect, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **{**kwargs, "cancel_on_supersede": True})  # planted: every effect cancels

    monkeypatch.setattr(AsyncEffect, "__init__", forcing)
    report = run_machine(GLITCHLESS, examples=100, seed=0, steps=30, shrink=False)
    assert [f.label for f in report.failures][:1] == ["scheduler_determinism/cancelled"], report.errors
