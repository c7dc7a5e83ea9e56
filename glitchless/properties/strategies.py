"""Hypothesis strategies for downstream tests: random reactive graphs, and random use of your components.

Two ways to put them to work:

    from hypothesis import given
    from glitchless.properties.strategies import check_program, programs

    @given(programs())
    def test_our_adapter_keeps_the_contract(program):
        # any MODULE:FACTORY returning a runtime-like object (see targets.py)
        assert check_program(program, "ourpkg.reactive:runtime") == []

    from glitchless.properties.strategies import checkpoint_is_invisible, invocations

    @given(invocations({"cart.add": st.fixed_dictionaries({"sku": st.sampled_from("abc")}),
                        "cart.total": st.just({})}), st.integers(0, 20))
    def test_restoring_the_cart_changes_nothing(calls, at):
        assert checkpoint_is_invisible(build_kernel, calls, at, observe=lambda k: k.snapshot())
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from glitchless.kernel import Kernel
from glitchless.properties.hooks import Violation
from glitchless.properties.machine import Options, draw_step
from glitchless.properties.program import NODE_TYPES, AddEffect, Program, Step
from glitchless.properties.runner import Session
from glitchless.properties.runner import check_program as run_program
from glitchless.properties.targets import load_target


@st.composite
def programs(
    draw: st.DrawFn,
    *,
    max_nodes: int = 6,
    max_ops: int = 8,
    domain: int = 3,
    effect_writes: bool = True,
    target: str = "glitchless",
) -> Program:
    """A random graph (signals, computeds over earlier nodes, effects) and operations on it.

    Drawn by the same generator as `glitchless fuzz`, resolved step by step against
    a session on `target` (so only features it supports appear); shrinking makes
    graphs and operation lists smaller.
    """
    session = Session(load_target(target), domain)
    options = Options(cascades=effect_writes)
    steps: list[Step] = []
    nodes = draw(st.integers(1, max_nodes))
    ops = draw(st.integers(0, max_ops))
    while len(session.specs) < nodes or len(steps) - len(session.specs) < ops:
        step = draw_step(lambda n: draw(st.integers(0, n - 1)), session, options, max_nodes=nodes)
        if isinstance(step, AddEffect) and step.write is not None and not effect_writes:
            continue
        if isinstance(step, NODE_TYPES) == (len(session.specs) >= nodes):
            continue
        session.apply(step)
        steps.append(step)
    session.close()
    return Program(domain, tuple(steps))


def check_program(program: Program, target: str = "glitchless", checks: Sequence[str] | None = None) -> list[Violation]:
    """Run `program` on a fresh runtime of `target` and return every rule it broke (empty: none)."""
    return run_program(program, target, checks)


def invocations(
    operations: Mapping[str, st.SearchStrategy[Mapping[str, Any]]], *, max_size: int = 20
) -> st.SearchStrategy[list[tuple[str, dict[str, Any]]]]:
    """Sequences of `(address, params)` calls for `Kernel.invoke`, from your operations' param strategies."""
    if not operations:
        raise ValueError("invocations() needs at least one operation address")
    one = st.one_of(*(st.tuples(st.just(addr), params.map(dict)) for addr, params in sorted(operations.items())))
    return st.lists(one, max_size=max_size)


def _outcome(kernel: Kernel, address: str, params: dict[str, Any]) -> tuple[str, Any]:
    try:
        return ("ok", kernel.invoke(address, params))
    except Exception as exc:  # an operation refusing bad input is part of the behaviour compared
        return ("error", f"{type(exc).__name__}: {exc}")


def checkpoint_is_invisible(
    build_kernel: Callable[[], Kernel],
    calls: Sequence[tuple[str, dict[str, Any]]],
    at: int,
    *,
    observe: Callable[[Kernel], Any] | None = None,
) -> bool:
    """Does `restore(snapshot())` before call `at` leave every result and observation unchanged?

    Two kernels from `build_kernel` (booted) take the same calls; only the first is
    checkpointed. Raises AssertionError naming the first call where they differ.
    """
    look = observe or (lambda k: k.snapshot())
    changed, untouched = build_kernel(), build_kernel()
    for i, (address, params) in enumerate(calls):
        if i == min(at, len(calls) - 1):
            changed.restore(changed.snapshot())
        a, b = _outcome(changed, address, params), _outcome(untouched, address, params)
        if a != b or look(changed) != look(untouched):
            raise AssertionError(
                f"call {i + 1} ({address} {params}) differs after a checkpoint before call {min(at, len(calls) - 1) + 1}: "
                f"{a} / {look(changed)!r} vs {b} / {look(untouched)!r}"
            )
    return True
