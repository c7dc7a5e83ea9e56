"""The reference model's expectations for the decisions of this round, and the runner naming what differs.

Expected events are written out by hand from docs/kernel-contract.md and the
semantics decisions (S1-S8); the model must produce exactly them.
"""

from glitchless.properties.model import Model
from glitchless.properties.program import AddComputed, AddEffect, AddSignal, Batch, Dispose, EffectWrite, Read, Set
from glitchless.properties.runner import Session, check_program, shrink
from glitchless.properties.program import Program
from glitchless.properties.targets import Target

import planted

BOOM = ("!", "Boom", "cleanup of e1 failed")


def model_of(*steps):
    m = Model(3)
    for s in steps:
        m.step(s)
    return m


def test_a_value_changed_and_changed_back_in_a_batch_reruns_nobody():  # S6
    m = model_of(AddSignal(0), AddComputed("sum", (0,)), AddEffect("sum", (0,)), AddEffect("sum", (1,)))
    assert m.step(Batch((Set(0, 1), Set(0, 0)))) == ([], ())


def test_an_equal_but_distinct_write_changes_nothing():  # rule 1
    m = model_of(AddSignal(1), AddEffect("sum", (0,)))
    assert m.step(Set(0, 1, "copy")) == ([], ())
    assert m.step(Set(0, 1, "float")) == ([], ())


def test_a_cleanup_that_raises_before_a_rerun_still_lets_the_body_run():  # S1
    m = model_of(AddSignal(0), AddEffect("sum", (0,), cleanup=True, cleanup_raises=True))
    m.step(Set(0, 1))  # the run that read 1 registers a cleanup that raises
    events, raised = m.step(Set(0, 2))
    assert events == [("cleanup", 1), ("cleanup-raised", 1, (BOOM,)), ("run", 1), ("read", 1, 0, ("int", 2)),
                      ("end", 1)]
    assert raised == (BOOM,)


def test_an_effect_whose_creation_flush_fails_is_disposed():  # S2
    m = model_of(AddSignal(0), AddEffect("sum", (0,), fails=1))
    events, raised = m.step(AddEffect("sum", (0,), write=EffectWrite(0, "const", 1), cleanup=True))
    assert raised == (("!", "Boom", "e1 failed"),)
    assert events[-1] == ("cleanup", 2)  # disposed after the flush: its cleanup ran
    assert 2 in m.disposed and m.step(Set(0, 0)) == ([("run", 1), ("read", 1, 0, ("int", 0)), ("end", 1)], ())


def test_errors_of_a_flush_that_a_disposal_starts_during_creation_are_the_steps():  # S2, S8
    # e3's creation flush fails (e1's cleanup raises); disposing e3 runs its cleanup, which
    # disposes c1; the flush that starts makes e1 read the disposed c1. All of it is the step's.
    m = model_of(AddSignal(0), AddComputed("sum", (0,)),
                 AddEffect("sum", (1,), cleanup=True, write=EffectWrite(0, "const", 1), cleanup_raises=True))
    _, raised = m.step(AddEffect("sum", (0,), cleanup=True, write=EffectWrite(0, "const", 0), cleanup_disposes=1))
    assert ("!", "DisposedError", "") in raised
    assert all(key[1] != "ModelRaise" for key in raised)


def test_a_cleanup_that_disposes_its_own_effect_stops_the_coming_run():  # S7
    m = model_of(AddSignal(0), AddEffect("sum", (0,), cleanup=True, cleanup_disposes=1))
    assert m.step(Set(0, 1)) == ([("cleanup", 1), ("dispose", 1, 1)], ())


def test_a_disposed_computed_raises_to_its_readers():  # S8
    m = model_of(AddSignal(0), AddComputed("sum", (0,)), AddEffect("sum", (1,)))
    events, raised = m.step(Dispose(1))
    disposed = ("!", "DisposedError", "")
    assert events == [("run", 2), ("read", 2, 1, disposed), ("raised", 2, (disposed,))]
    assert raised == (disposed,)
    assert m.step(Read(1)) == ([("read", -1, 1, disposed)], (disposed,))


def test_a_cascade_past_the_round_bound_runs_away():  # rule 5
    m = Model(3, max_rounds=5)
    m.step(AddSignal(0))
    assert m.step(AddEffect("sum", (0,), write=EffectWrite(0, "count", 5)))[1] == ()  # settles in 5 rounds
    assert m.step(Set(0, 0))[1] == (("!", "RunawayEffectError", ""),)  # from 0 it needs 6


def test_a_computed_error_recovers_when_its_input_changes():  # rule 6
    m = model_of(AddSignal(1), AddComputed("sum", (0,), fails=1))
    assert m.step(Read(1)) == ([("read", -1, 1, ("!", "Boom", "c1 failed"))], (("!", "Boom", "c1 failed"),))
    m.step(Set(0, 2))
    assert m.step(Read(1)) == ([("read", -1, 1, ("=", 2))], ())


def test_glitchless_keeps_the_rules_it_already_keeps():
    steps = [AddSignal(0), AddSignal(0), AddComputed("max", (0, 1)), AddComputed("min", (0, 2)),
             AddEffect("sum", (3, 2), cleanup=True), Set(0, 1), Batch((Set(1, 1), Read(3))), Dispose(4), Set(0, 0)]
    assert check_program(Program(3, tuple(steps))) == []


def test_the_runner_names_the_first_difference_and_the_shrinker_keeps_it():
    bug = Target.from_factory("planted:effect-runs-twice", planted.effect_runs_twice().Runtime)
    program = Program(3, (AddSignal(0), AddSignal(0), AddComputed("sum", (0,)), AddEffect("sum", (1,)),
                          Set(0, 1), Set(1, 1)))
    [v] = check_program(program, bug)
    assert (v.label, v.step) == ("ordering/repeated-run", 4)
    violation, small = shrink(program, bug, v.label)
    assert violation.label == v.label and len(small.steps) == 2  # a signal and the effect


def test_a_session_refuses_steps_that_do_not_fit():
    import pytest

    from glitchless.properties.runner import InvalidStep

    s = Session("glitchless")
    s.apply(AddSignal(0))
    with pytest.raises(InvalidStep):
        s.apply(AddComputed("sum", (3,)))


def test_a_session_refuses_a_step_its_target_cannot_do():
    import pytest

    from glitchless.properties.runner import InvalidStep

    pytest.importorskip("signalpy.kernel")  # a peer: installed by the `peers` extra
    with pytest.raises(InvalidStep):
        Session("signalpy").apply(AddSignal(0, "parity"))
