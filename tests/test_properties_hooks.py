"""The hook for properties other layers will add (snapshot/restore, scheduler determinism)."""

import pytest

from glitchless.properties.hooks import PropertyInfo, Violation, property_names, register_step_check, unregister_step_check
from glitchless.properties.machine import Options, fuzz
from glitchless.properties.program import AddSignal, Set
from glitchless.properties.runner import Session


@pytest.fixture
def never_three():
    """A stand-in extra property: no signal ever holds 3 (the machines' domain is 0..2)."""

    def check(ctx):
        for s, spec in enumerate(ctx.model.specs):
            if isinstance(spec, AddSignal) and ctx.handles[s].peek() == 3:
                yield Violation("never_three", "three", f"s{s} holds 3", ctx.index)

    register_step_check(PropertyInfo("never_three", "no signal holds 3"), check)
    yield
    unregister_step_check("never_three")


def test_registered_checks_run_after_every_step_and_can_be_selected(never_three):
    assert "never_three" in property_names()
    s = Session("glitchless", 4)
    assert [v.label for v in s.run([AddSignal(0), Set(0, 3)])] == ["never_three/three"]
    only_ordering = Session("glitchless", 4, {"ordering"})
    assert only_ordering.run([AddSignal(0), Set(0, 3)]) == []
    assert fuzz("glitchless", examples=20, checks={"never_three"}, options=Options(cascades=False)).ok  # values 0..3


def test_names_are_unique(never_three):
    with pytest.raises(ValueError):
        register_step_check(PropertyInfo("ordering", "again"), lambda ctx: [])
