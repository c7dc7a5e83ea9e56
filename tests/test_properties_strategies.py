"""The public Hypothesis strategies a downstream team uses on its own kernel adapters and components."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from glitchless.fakes import EventCollector, FakeLogger
from glitchless.kernel import Component, Config, Kernel, component, operation
from glitchless.properties.program import Program
from glitchless.properties.strategies import check_program, checkpoint_is_invisible, invocations, programs
from glitchless.scenarios.unit_testing import EventProbe, FakeLoggerProvider, OrderService


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_every_drawn_program_is_well_formed_and_glitchless_keeps_the_contract(program: Program) -> None:
    assert check_program(program, "glitchless") == []
    assert Program.from_json(program.to_json()) == program


def test_programs_find_a_contract_breach_in_a_kernel_without_equality_cutoff() -> None:
    pytest.importorskip("signalpy.kernel.reactive")  # the peers extra; CI installs it
    failing = find(
        programs(max_nodes=4, max_ops=3, target="signalpy"),
        lambda p: any(v.label == "cutoff/spurious-run" for v in check_program(p, "signalpy")),
        settings=settings(max_examples=3000, database=None, deadline=None),
    )
    assert len(failing.steps) <= 8  # shrunk to a handful of steps


def _orders_kernel() -> Kernel:
    kernel = Kernel()
    kernel.instantiate(Config, properties={"defaults": {"orders": {"tax_rate": 0.08}}})
    kernel.instantiate(FakeLoggerProvider, properties={"logger": FakeLogger()})
    kernel.instantiate(EventProbe, properties={"collector": EventCollector()})
    kernel.instantiate(OrderService)
    kernel.boot()
    return kernel


ORDER_CALLS = invocations({
    "order-service.place": st.fixed_dictionaries({
        "item": st.sampled_from(["Widget", "Gadget"]), "qty": st.integers(1, 5), "price": st.integers(1, 100),
    }),
}, max_size=8)


@settings(max_examples=60, deadline=None)
@given(ORDER_CALLS, st.integers(0, 8))
def test_a_checkpoint_of_the_order_service_is_invisible(calls: list[tuple[str, dict[str, Any]]], at: int) -> None:
    assert checkpoint_is_invisible(_orders_kernel, calls, at, observe=lambda k: k.instance("order-service").revenue())


@component("forgetful", version="1.0")
class Forgetful(Component):
    def activate(self) -> None:
        self.count = self.ctx.signal(0)
        self.seen: list[int] = []

    def snapshot(self) -> dict[str, Any]:
        return {"count": self.count.peek()}  # forgets `seen`

    def restore(self, state: dict[str, Any]) -> None:
        self.count.set(state["count"])

    @operation
    def bump(self, params: dict[str, Any]) -> int:
        self.count.update(lambda n: n + 1)
        self.seen.append(self.count.peek())
        return len(self.seen)


def _forgetful_kernel() -> Kernel:
    kernel = Kernel()
    kernel.instantiate(Forgetful)
    kernel.boot()
    return kernel


def test_a_checkpoint_that_loses_state_is_caught_and_named() -> None:
    with pytest.raises(AssertionError, match=r"call 3 \(forgetful.bump \{\}\) differs after a checkpoint before call 3"):
        checkpoint_is_invisible(_forgetful_kernel, [("forgetful.bump", {})] * 4, 2)


def test_invocations_need_an_operation() -> None:
    with pytest.raises(ValueError, match="at least one operation"):
        invocations({})
