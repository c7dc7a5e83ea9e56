"""The operations beyond reads and writes in the checker: hidden reads, scopes, on_cleanup, current_effect,
track/flush, flush order, foreign threads. Each is plain data that replays, is predicted by the model, and
is n/a (never generated, refused on replay) on a target that lacks it."""

from __future__ import annotations

import pytest

import planted
from glitchless.kernel import ReactiveError
from glitchless.properties.machine import draw_step
from glitchless.properties.program import (
    AddComputed,
    AddEffect,
    AddSignal,
    Batch,
    DisposeScope,
    EffectWrite,
    Flush,
    FlushOrder,
    Program,
    Read,
    ScopeCleanup,
    Set,
    Track,
)
from glitchless.properties.runner import InvalidStep, Session, check_program
from glitchless.properties.targets import OPERATIONS, Target, load_target

EVERY_OP = Program(3, (
    AddSignal(0), AddSignal(1),
    AddComputed("sum", (0,), hidden=1, hidden_how="peek", scope=0),
    AddEffect("sum", (2,), cleanup=True, hidden=1, hidden_how="block", scope=0, on_cleanup=True, current=True),
    AddEffect("max", (0,), write=EffectWrite(1, "const", 2), hidden=1, hidden_how="thread"),
    AddEffect("min", (1,), hidden=0, hidden_how="untracked", current=True),
    FlushOrder(5, -9),
    Read(2, "block"), Read(2, "thread"),
    Set(0, 1), Set(1, 0, "thread"), Set(1, 0, "thread_update"),
    Track(3, 1, sets=0, value=2), Flush(),
    Batch((Set(0, 1), Flush(), Set(1, 2))),
    ScopeCleanup(0), ScopeCleanup(1), ScopeCleanup(0),
    DisposeScope(0), ScopeCleanup(0), Set(0, 0), DisposeScope(1),
))


def test_every_operation_replays_from_json_and_passes_on_the_kernel() -> None:
    assert Program.from_json(EVERY_OP.to_json()) == EVERY_OP
    assert "with scope0: c2 = computed(sum(s0); reads s1 with peek() first)" in EVERY_OP.describe()
    assert check_program(EVERY_OP, "glitchless") == []


def test_the_model_predicts_what_each_operation_logs() -> None:
    session = Session("glitchless", 3)
    session.run(EVERY_OP.steps[:4])
    assert ("current", 3, True) in session.model.events and ("current", 3, True) in session.events
    for step in EVERY_OP.steps[4:]:
        assert session.apply(step) == [], step
        if isinstance(step, Track):
            assert ("tracked", 3, ("int", 2)) in session.events  # rt.track returns what the step read
        if isinstance(step, DisposeScope) and step.scope == 0:
            # newest first: the two cleanups registered on scope0, then e3's (on_cleanup fn, then its own)
            assert [e for e in session.events if "cleanup" in e[0]] == [
                ("scope-cleanup", 0, 2), ("scope-cleanup", 0, 0), ("on-cleanup", 3), ("cleanup", 3)]


def test_a_cleanup_on_a_disposed_scope_raises_reactive_error_on_both() -> None:
    session = Session("glitchless", 3)
    session.run([AddSignal(0), ScopeCleanup(0), DisposeScope(0)])
    assert session.model.step(ScopeCleanup(0)) == ([], (("!", "ReactiveError", ""),))
    with pytest.raises(ReactiveError, match="entered after dispose"):
        session.execute(ScopeCleanup(0))


@pytest.mark.parametrize("peer", ["signalpy", "reaktiv", "nervio"])
def test_a_peer_lacking_the_operations_never_gets_them(peer: str) -> None:
    try:
        target = load_target(peer)
    except Exception:
        pytest.skip(f"{peer} is not installed")
    assert set(OPERATIONS) <= target.unsupported
    session = Session(target, 3)
    session.apply(AddSignal(0))
    with pytest.raises(InvalidStep, match="does not support threads"):
        session.apply(Read(0, "thread"))
    values = iter(range(10**6))
    for _ in range(300):
        step = draw_step(lambda n: next(values) * 7919 % n, session)
        assert not isinstance(step, DisposeScope | ScopeCleanup | FlushOrder | Track | Flush), step
        session.apply(step)
    session.close()


def test_the_kernel_has_every_operation() -> None:
    assert not set(OPERATIONS) & load_target("glitchless").unsupported


@pytest.mark.parametrize("name", ["peek-subscribes", "scope-disposes-oldest-first", "untracked-block-tracks"])
def test_the_operations_catch_a_planted_bug_in_a_few_steps(name: str) -> None:
    # The shrunk programs fuzzing finds for these bugs (see test_properties_realistic_bugs.py for the search).
    programs = {
        "peek-subscribes": Program(3, (AddSignal(0), AddSignal(2), AddEffect("sum", (1,), hidden=0,
                                                                             write=EffectWrite(0, "const", 1)))),
        "scope-disposes-oldest-first": Program(3, (AddSignal(0), ScopeCleanup(0), ScopeCleanup(0), DisposeScope(0))),
        "untracked-block-tracks": Program(3, (AddSignal(0), AddSignal(0), AddEffect("sum", (1,), hidden=0,
                                                                                   hidden_how="block"), Set(0, 1))),
    }
    program = programs[name]
    assert check_program(program, "glitchless") == []
    target = Target.from_factory(f"planted:{name}", planted.REALISTIC[name]().Runtime)
    assert check_program(program, target), f"{name} not caught by {program.describe()}"

