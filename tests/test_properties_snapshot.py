"""snapshot_restore: restoring, hot-updating to the same class or rebooting with the state is invisible."""

from __future__ import annotations

from typing import Any

import pytest

from glitchless.kernel import Component, component, effect
from glitchless.kernel.kernel import Kernel
from glitchless.properties.hooks import properties
from glitchless.properties.machine import ScriptFailure, fuzz
from glitchless.properties.snapshot import Spec, Twins, run_machine
from glitchless.properties.targets import OPERATIONS, Target, load_target

GLITCHLESS = load_target("glitchless")


def test_checkpoints_at_random_points_leave_the_observable_trace_unchanged() -> None:
    report = run_machine(GLITCHLESS, examples=200, seed=0, steps=30)
    assert report.ok, [f.render() for f in report.failures] + report.errors
    assert report.runs >= 200


def test_the_property_runs_through_fuzz_checks_like_a_builtin_one() -> None:
    report = fuzz("glitchless", examples=30, seed=1, checks={"snapshot_restore"})
    assert report.ok and report.runs >= 30


def test_a_chain_of_providers_survives_every_kind_of_checkpoint() -> None:
    specs = [Spec(0, (1, 2), None, "sum", True, "news.a"), Spec(1, (3,), 0, "max", True, None),
             Spec(2, (0, 1), 1, "first", False, "news.a")]
    twins = Twins(GLITCHLESS, specs)
    twins.both(lambda k: k.invoke("c0.set", {"k": 1, "v": 3}))
    twins.both(lambda k: k.publish("news.a", 2))
    for kind, name in [("hot_update", "c0"), ("restore_one", "c1"), ("restore", "c0"), ("reboot", "c0"),
                       ("hot_update", "c2")]:
        twins.checkpoint(kind, name)
        twins.both(lambda k: k.invoke("c2.read"))
        twins.both(lambda k: k.invoke("c1.bump"))
        assert twins.differences() is None, kind
    twins.both(lambda k: k.invoke("c0.set", {"k": 0, "v": 0}))
    assert twins.differences() is None


def test_a_restore_that_drops_one_components_state_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    restore = Kernel._restore

    def lossy(self: Kernel, ctx: Any, state: Any) -> None:  # planted: c0 comes back fresh
        if ctx.name != "c0":
            restore(self, ctx, state)

    monkeypatch.setattr(Kernel, "_restore", lossy)
    report = run_machine(GLITCHLESS, examples=200, seed=0, steps=30)
    assert [f.label for f in report.failures] == ["snapshot_restore/trace-diverged"]
    failure = report.failures[0]
    assert isinstance(failure, ScriptFailure)
    assert len(failure.program.steps) <= 4, failure.render()  # shrunk: one component, one change, one checkpoint
    assert "checkpoint" in failure.program.steps[-1]


def test_an_effect_that_reads_state_before_restore_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    restore = Kernel._restore

    def late(self: Kernel, ctx: Any, state: Any) -> None:  # planted: effects start on the fresh state, then restore
        for attr in ctx.meta.effects:
            ctx._effects.append(self.rt.effect(getattr(ctx._obj, attr)))
        restore(self, ctx, state)

    monkeypatch.setattr(Kernel, "_restore", late)
    report = run_machine(GLITCHLESS, examples=200, seed=0, steps=30)
    assert [f.label for f in report.failures] == ["snapshot_restore/trace-diverged"], report.errors
    assert "display" in report.failures[0].violation.message


def test_the_property_needs_the_component_layer_so_peers_are_not_applicable() -> None:
    info = next(p for p in properties() if p.name == "snapshot_restore")
    assert info.needs == "components"
    assert GLITCHLESS.supports("components")

    class Foreign:  # a runtime-like object not built on the glitchless Runtime
        def signal(self, v: Any) -> Any: ...
        def computed(self, fn: Any) -> Any: ...
        def effect(self, fn: Any) -> Any: ...
        def batch(self) -> Any: ...
        def untracked(self, fn: Any) -> Any: ...

    foreign = Target.from_factory("foreign", Foreign)
    assert not foreign.supports("components") and foreign.unsupported == frozenset(OPERATIONS)  # none of those
    assert "not applicable" in fuzz(foreign, examples=5, checks={"snapshot_restore"}).errors[0]


# -- a kernel finding -------------------------------------------------------------------------

LOG: list[tuple[str, int]] = []


@component("prov", provides=["IProv"])
class Prov(Component):
    def activate(self) -> None:
        self.v = self.ctx.signal(0)

    @effect
    def show(self) -> None:
        LOG.append(("prov", self.v.get()))


@component("cons", requires={"prov": "IProv"})
class Cons(Component):
    @effect
    def show(self) -> None:
        LOG.append(("cons", self.ctx.use("prov").v.get()))


def flush_order(reinstall: bool) -> list[tuple[str, int]]:
    k = Kernel()
    k.instantiate(Prov)
    k.instantiate(Cons)
    k.boot()
    if reinstall:
        k.hot_update(Prov)  # the same class; restore({"prov": k.snapshot()["prov"]}) does the same
    LOG.clear()
    k.instance("prov").v.set(1)
    return list(LOG)


def test_a_reinstalled_providers_effects_keep_their_place_in_the_flush_order() -> None:
    # The bus keeps each instance's subscription order across reinstalls (Context._slot); the
    # kernel gives a reinstalled instance's effects its predecessor's place in creation order,
    # so later flushes interleave components exactly as if nothing had been reinstalled.
    assert flush_order(reinstall=False) == [("prov", 1), ("cons", 1)]
    assert flush_order(reinstall=True) == [("prov", 1), ("cons", 1)]
