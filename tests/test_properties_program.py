"""Programs print as readable steps and survive a JSON round trip."""

import pytest

from glitchless.properties.program import AddComputed, AddEffect, AddSignal, Batch, Dispose, EffectWrite, Program, Read, Set


PROGRAM = Program(3, (
    AddSignal(1),
    AddComputed("if", (0, 0, 0)),
    AddEffect("coalesce", (1, 0), cleanup=True, write=EffectWrite(0, "clamp", 1), untracked=1),
    Set(0, 2),
    Batch((Set(0, 1, "copy"), Read(1, "peek"), Batch((Set(0, 1, "same"), Dispose(2))))),
    Read(1, "untracked"),
))


def test_programs_round_trip_through_json():
    assert Program.from_json(PROGRAM.to_json()) == PROGRAM


def test_programs_describe_every_step_readably():
    text = PROGRAM.describe()
    assert "s0 = signal(1)" in text
    assert "c1 = computed(if(s0, s0, s0))" in text
    assert "e2 = effect(reads coalesce(c1, s0); untracked read of c1; writes s0 := min(s0, 1); returns a cleanup)" in text
    assert "with rt.batch():" in text and "        with rt.batch():" in text
    assert "s0.set(IntCopy(1))" in text and "s0.set(s0.peek())" in text
    assert "rt.untracked(c1.get)" in text and "e2.dispose()" in text
    assert text.splitlines()[0].startswith("  1. ")


@pytest.mark.parametrize("bad", ["", "[]", '{"domain": 3}', '{"domain": 3, "steps": [["nope"]]}',
                                 '{"domain": 1, "steps": []}', '{"domain": 3, "steps": [["set", 0, 1, "odd"]]}'])
def test_malformed_programs_are_refused_with_value_error(bad):
    with pytest.raises(ValueError):
        Program.from_json(bad)
