"""The ``depth`` property (rule 8): graphs deeper than any nesting of fn calls a kernel allows itself.

The graph machines build a few dozen nodes, so a kernel's way of evaluating a
long chain without recursing to Python's limit (glitchless unwinds past 100
nested fns and evaluates the innermost first) is never reached there.
Hypothesis draws a chain of 300 to 600 computeds over a few signals, each
over the node just below it and sometimes over one a few levels further down
(diamonds), each a sum or a parity (which cuts changes off); an effect reads
the top. Then: the top is read (the first evaluation goes all the way down at
once), and after each drawn write it is read again. Every read, and every
value the effect saw, must equal the value computed directly, bottom up.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from typing import Any

import hypothesis
from hypothesis import given
from hypothesis import strategies as st

from glitchless.properties.hooks import Violation
from glitchless.properties.machine import FuzzReport, ScriptedFailure, quiet_settings, run_own_machine
from glitchless.properties.targets import Target

NAME = "depth"
DOMAIN = 3
# Rule 8 holds under Python's default limit; Hypothesis raises the limit while a test runs, so it is put back.
DEFAULT_RECURSION_LIMIT = 1000


@dataclass(frozen=True)
class DeepProgram:
    signals: tuple[int, ...]  # initial values
    # Per computed, bottom up: how far below it the second node it reads is (1: only the node just below),
    # and whether it takes the parity of the sum instead of the sum mod DOMAIN.
    nodes: tuple[tuple[int, bool], ...]
    writes: tuple[tuple[int, int], ...]  # (signal, value), each followed by a read of the top

    def describe(self) -> list[str]:
        n = len(self.signals)
        shortcuts = {n + i: k for i, (k, _) in enumerate(self.nodes) if k != 1}
        parity = [n + i for i, (_, p) in enumerate(self.nodes) if p]
        lines = [f"signals s0..s{n - 1} = {list(self.signals)}",
                 f"computeds c{n}..c{n + len(self.nodes) - 1}, each the sum mod {DOMAIN} of the node just below it "
                 f"and the node k below it (k = 1" + (f" but for {_first(shortcuts)})" if shortcuts else ")")
                 + (f", or its parity at {len(parity)} nodes ({_first(parity)})" if parity else ""),
                 "an effect reads the top; the top is read"]
        lines += [f"s{a}.set({v}); the top is read" for a, v in self.writes]
        return lines


def _first(items: Any, shown: int = 12) -> str:
    listed = [f"c{k}: {v}" for k, v in items.items()] if isinstance(items, dict) else [f"c{k}" for k in items]
    return ", ".join(listed[:shown]) + (f" and {len(listed) - shown} more" if len(listed) > shown else "")


@st.composite
def programs(draw: st.DrawFn) -> DeepProgram:
    signals = tuple(draw(st.lists(st.integers(0, DOMAIN - 1), min_size=1, max_size=3)))
    depth = draw(st.integers(300, 600))  # 4 frames a level or so: a kernel that recurses per level fails
    # Mostly 1 (a plain chain), now and then a shortcut of up to 5 levels: diamonds of every height.
    nodes = tuple(draw(st.lists(st.tuples(st.sampled_from([1, 1, 1, 2, 3, 5]), st.booleans()),
                                min_size=depth, max_size=depth)))
    writes = tuple(draw(st.lists(st.tuples(st.integers(0, len(signals) - 1), st.integers(0, DOMAIN - 1)),
                                 min_size=1, max_size=4)))
    return DeepProgram(signals, nodes, writes)


def expected_top(program: DeepProgram, signals: list[int]) -> int:
    """The top's value, computed directly, bottom up."""
    values = list(signals)
    for k, (below, parity) in enumerate(program.nodes):
        here = len(signals) + k
        total = values[here - 1] + values[max(here - below, 0)]
        values.append(total % 2 if parity else total % DOMAIN)
    return values[-1]


def check_program(target: Target, program: DeepProgram,
                  recursion_limit: int = DEFAULT_RECURSION_LIMIT) -> Violation | None:
    rt: Any = target.make()
    sigs = [rt.signal(v) for v in program.signals]
    nodes: list[Any] = list(sigs)
    for below, parity in program.nodes:
        a, b = nodes[-1], nodes[max(len(nodes) - below, 0)]
        modulus = 2 if parity else DOMAIN
        nodes.append(rt.computed(lambda a=a, b=b, m=modulus: (a.get() + b.get()) % m))
    top = nodes[-1]
    seen: list[int] = []
    values = list(program.signals)
    step = 1
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(recursion_limit)
    try:
        effect = rt.effect(lambda: seen.append(top.get()))
        for write in (None, *program.writes):
            if write is not None:
                step += 1
                values[write[0]] = write[1]
                sigs[write[0]].set(write[1])
            want = expected_top(program, values)
            got = top.get()
            if got != want:
                return Violation(NAME, "wrong-value", f"the top read {got}, computed directly it is {want}", step)
            if not seen or seen[-1] != want:
                return Violation(NAME, "effect-missed", f"the effect on the top last saw {seen[-1:]}, the top is {want}",
                                 step)
        effect.dispose()
    except Exception as exc:  # a RecursionError above all: the kernel recursed once per level
        return Violation(NAME, "raised", f"{type(exc).__name__}: {str(exc)[:200]}", step)
    finally:
        sys.setrecursionlimit(limit)
    return None


def run_machine(target: Target, *, examples: int, seed: int, steps: int, shrink: bool = True,
                recursion_limit: int = DEFAULT_RECURSION_LIMIT) -> FuzzReport:
    """Run the property on `target` for `examples` programs; a failure comes back as a script.
    `steps` and `shrink` are accepted for a uniform interface: a failure is never shrunk, as its chain must
    stay hundreds of levels deep to fail and every attempt costs a recursion to the limit (minutes on a
    peer that logs each one); the seed reproduces it. `recursion_limit`: for a kernel run under a tool that
    adds frames to every call (mutmut's trampolines), the default limit scaled as much."""

    def run(report: FuzzReport) -> None:
        @given(program=programs())
        def test_depth(program: DeepProgram) -> None:
            report.runs += 1
            violation = check_program(target, program, recursion_limit)
            if violation is not None:
                raise ScriptedFailure(violation, tuple(program.describe()))

        hypothesis.seed(seed)(quiet_settings(examples, shrink=False)(test_depth))()

    again = f"glitchless fuzz --target {shlex.quote(target.name)} --checks {NAME} --examples {examples} --seed {seed}"
    return run_own_machine(target, examples=examples, seed=seed, steps=steps, again=again, run=run)
