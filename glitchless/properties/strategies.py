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
from typing import Any, Literal

from hypothesis import strategies as st

from glitchless.kernel import Kernel, Runtime
from glitchless.properties.harness import Session
from glitchless.properties.hooks import Violation
from glitchless.properties.model import FUNCTIONS, AddSignal
from glitchless.properties.program import Program, Read, Set, Step
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

    Steps are resolved against a live glitchless graph as they are drawn, so every
    program is well formed, using only the features `target` supports; shrinking
    makes graphs and operation lists smaller.
    """
    values = st.integers(0, domain - 1)
    pick = st.integers(0, 15)
    session = Session(Runtime(), domain, unsupported=load_target(target).unsupported)
    steps: list[Step] = []

    def add(step: Step) -> None:
        session.apply(step)
        steps.append(step)

    add(AddSignal(draw(values)))
    for _ in range(draw(st.integers(0, max_nodes - 1))):
        kind = draw(st.sampled_from(["signal", "computed", "effect"]))
        fn = draw(st.sampled_from(FUNCTIONS))
        picks = draw(st.lists(pick, min_size=1, max_size=3))
        if kind == "signal":
            add(AddSignal(draw(values)))
        elif kind == "computed":
            add(session.computed_step(fn, picks))
        else:
            write: tuple[Literal["const", "clamp"], int, int] | None = None
            if effect_writes and draw(st.booleans()):
                how: Literal["const", "clamp"] = draw(st.sampled_from(["const", "clamp"]))
                write = (how, draw(pick), draw(values))
            add(session.effect_step(fn, picks, draw(st.booleans()), write, None))
    for _ in range(draw(st.integers(0, max_ops))):
        op = draw(st.sampled_from(["set", "equal", "read", "batch"]))
        signals, readable = session.signals(), session.readable()
        if op == "set":
            add(Set(signals[draw(pick) % len(signals)], draw(values)))
        elif op == "equal":
            add(Set(signals[draw(pick) % len(signals)], 0, draw(st.sampled_from(["same", "copy"]))))
        elif op == "read":
            add(Read(readable[draw(pick) % len(readable)], draw(st.sampled_from(["get", "peek", "untracked"]))))
        else:
            writes = draw(st.lists(st.tuples(st.just("set"), pick, values), min_size=1, max_size=3))
            add(session.batch_step(writes))
    session.close()
    return Program(domain, tuple(steps))


def check_program(program: Program, target: str = "glitchless", checks: Sequence[str] | None = None) -> list[Violation]:
    """Run `program` on a fresh runtime of `target` and return every rule it broke (empty: none)."""
    t = load_target(target)
    session = Session(t.make(), program.domain, checks, t.unsupported)
    try:
        return session.run(program.steps)
    finally:
        session.close()


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
