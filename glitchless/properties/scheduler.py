"""The ``scheduler_determinism`` property: interleavings are reproducible and async effects keep their rules.

Hypothesis draws a small async program: signals (and maybe a computed over
them), async effects (some with `cancel_on_supersede`) that read some nodes
in their first step and then await a few virtual-time sleeps, and writer
tasks that sleep and write signals or dispose effects. The program runs on
`glitchless.fakes.simulate`, where every choice between ready lanes is drawn
from Hypothesis (a `FunctionChooser` over `st.data()`), so Hypothesis
explores interleavings and shrinks them along with the program. For each
example:

* **replay**: rerunning with a `ReplayChooser` of the recorded choices gives
  the same trace, byte for byte (and asks for the same choices);
* **seed**: two runs with the same seed give the same trace, byte for byte;
* **async rules**, on the drawn run and the seeded one: a run starts only when
  one is owed (creation, a change of what it read while idle, or a change
  while in flight, which owes exactly one re-run after it ends), never while
  another is in flight or after disposal; every run's first step reads the
  current values; `is_stale()` at a run's end says whether a re-run is owed;
  a superseded run of an effect that cancels on supersede is cancelled at its
  await (never ends), and no other live run is ever cancelled; and once
  everything settles, each live effect has no run in flight or owed,
  its last run read the current values, and its `runs` counts its runs.

The trace records, with virtual time, each write, disposal, run start (with
the values read), run end (with `is_stale()`) and cancellation, then the
settled state.
"""

from __future__ import annotations

import asyncio
import functools
import shlex
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import hypothesis
from hypothesis import given
from hypothesis import strategies as st

from glitchless.fakes import Chooser, FunctionChooser, ReplayChooser, SeededChooser, dumps, simulate
from glitchless.kernel import AsyncEffect, Runtime, is_stale
from glitchless.properties.hooks import Violation
from glitchless.properties.machine import FuzzReport, ScriptedFailure, quiet_settings, run_own_machine
from glitchless.properties.targets import Target, load_target

NAME = "scheduler_determinism"
DOMAIN = 3
HORIZON = 1000.0  # virtual seconds to settle after the writers finish: far beyond any program's runs

Op = tuple[int, str, int, int]  # (delay, "set" | "dispose", signal or effect, value)


@dataclass(frozen=True)
class EffectSpec:
    deps: tuple[int, ...]  # node indices: signals first, then the computed if any
    waits: tuple[int, ...]  # virtual seconds per await (0: just yield)
    wrapped: bool = False  # the body is handed over as functools.partial(body), not as the function itself
    cancelling: bool = False  # created with cancel_on_supersede=True: a supersede cancels the run at its await


@dataclass(frozen=True)
class AsyncProgram:
    inits: tuple[int, ...]
    computed: tuple[int, ...] | None  # the signals a computed sums (mod DOMAIN), if there is one
    effects: tuple[EffectSpec, ...]
    writers: tuple[tuple[Op, ...], ...]
    # Once all has settled, each (signal, value, update) in turn: `set(value)` (or `update`) from a foreign
    # thread, which the runtime hands over to the loop (rule 9); then all settles again.
    foreign: tuple[tuple[int, int, bool], ...] = ()

    def node_name(self, d: int) -> str:
        return f"s{d}" if d < len(self.inits) else "c"

    def describe(self) -> list[str]:
        lines = [f"signal s{i} = {v}" for i, v in enumerate(self.inits)]
        if self.computed is not None:
            lines.append(f"computed c = ({' + '.join(f's{i}' for i in self.computed)}) % {DOMAIN}")
        for i, e in enumerate(self.effects):
            lines.append(f"async effect e{i}: reads {', '.join(self.node_name(d) for d in e.deps)}, "
                         f"then awaits sleep{list(e.waits)}" + (" (passed as functools.partial)" if e.wrapped else "")
                         + (", cancel_on_supersede" if e.cancelling else ""))
        for w, ops in enumerate(self.writers):
            parts = [f"sleep({d}); " + (f"s{a} = {v}" if kind == "set" else f"dispose e{a}") for d, kind, a, v in ops]
            lines.append(f"writer task w{w}: " + "; ".join(parts))
        for a, v, update in self.foreign:
            lines.append(f"settled, then from a foreign thread: s{a}.{'update(lambda _: ' if update else 'set('}{v})")
        return lines


@st.composite
def programs(draw: st.DrawFn) -> AsyncProgram:
    inits = tuple(draw(st.lists(st.integers(0, DOMAIN - 1), min_size=1, max_size=3)))
    n = len(inits)
    computed = draw(st.none() | st.lists(st.integers(0, n - 1), min_size=1, max_size=2).map(tuple))
    nodes = n + (computed is not None)
    effects = tuple(draw(st.lists(
        st.builds(EffectSpec, st.lists(st.integers(0, nodes - 1), min_size=1, max_size=2).map(tuple),
                  st.lists(st.integers(0, 2), max_size=3).map(tuple), st.booleans(), st.booleans()),
        min_size=1, max_size=3)))
    op = st.one_of(
        st.tuples(st.integers(0, 1), st.just("set"), st.integers(0, n - 1), st.integers(0, DOMAIN - 1)),
        st.tuples(st.integers(0, 1), st.just("dispose"), st.integers(0, len(effects) - 1), st.just(0)),
    )
    writers = tuple(tuple(ops) for ops in draw(st.lists(st.lists(op, min_size=1, max_size=4), min_size=1, max_size=3)))
    foreign = tuple(draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, DOMAIN - 1), st.booleans()),
                                  max_size=2)))
    return AsyncProgram(inits, computed, effects, writers, foreign)


Trace = list[list[Any]]


def run_program(target: Target, program: AsyncProgram, *, chooser: Chooser | None = None, seed: int = 0) -> Trace:
    """Run `program` on the deterministic loop and return its trace (JSON-able)."""
    return simulate(program_main(target, program), chooser=chooser, seed=seed)


def program_main(target: Target, program: AsyncProgram) -> Callable[[], Coroutine[Any, Any, Trace]]:
    """The coroutine function that runs `program` and returns its trace: for simulate() or explore()."""

    async def main() -> Trace:
        loop = asyncio.get_running_loop()
        rt = target.make()
        assert isinstance(rt, Runtime)
        rt.scheduler = loop
        log: Trace = []

        def ev(*data: Any) -> None:
            log.append([loop.time(), *data])

        sigs = [rt.signal(v) for v in program.inits]
        nodes: list[Any] = list(sigs)
        if program.computed is not None:
            summed = program.computed
            nodes.append(rt.computed(lambda: sum(sigs[i].get() for i in summed) % DOMAIN))
        handles: list[AsyncEffect] = []

        def body_of(i: int, spec: EffectSpec) -> Callable[[], Any]:
            async def body() -> None:
                reads = [nodes[d].get() for d in spec.deps]
                run = handles[i].runs
                ev("start", i, run, reads)
                try:
                    for w in spec.waits:
                        await asyncio.sleep(w)
                except asyncio.CancelledError:
                    ev("cancelled", i, run)
                    raise
                ev("end", i, run, is_stale())

            return body

        for i, spec in enumerate(program.effects):
            body = body_of(i, spec)
            e = rt.effect(functools.partial(body) if spec.wrapped else body, name=f"e{i}",
                          cancel_on_supersede=spec.cancelling)
            assert isinstance(e, AsyncEffect)
            handles.append(e)

        async def writer(w: int, ops: tuple[Op, ...]) -> None:
            for delay, kind, a, v in ops:
                await asyncio.sleep(delay)
                if kind == "set":
                    ev("set", w, a, v)
                    sigs[a].set(v)
                else:
                    ev("dispose", w, a)
                    handles[a].dispose()

        await asyncio.gather(*(loop.create_task(writer(w, ops)) for w, ops in enumerate(program.writers)))
        await asyncio.sleep(HORIZON)
        for a, v, update in program.foreign:
            # Nothing else is ready now, so the write the loop runs next is this one: logged before it.
            ev("set", "thread", a, v)
            write = functools.partial(sigs[a].update, lambda _: v) if update else functools.partial(sigs[a].set, v)
            on_foreign_thread(write)
            await asyncio.sleep(HORIZON)
        ev("settled", [s.peek() for s in sigs], [h.runs for h in handles], [h.disposed for h in handles],
           [h.is_stale() for h in handles])
        return log

    return main


def on_foreign_thread(fn: Callable[[], None]) -> None:
    """fn() on a new thread, joined at once; what it raised, raised here."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run, name="glitchless-foreign-write")
    thread.start()
    thread.join()
    if raised:
        raise raised[0]


def check_trace(program: AsyncProgram, trace: Trace) -> list[tuple[str, str]]:
    """The async-effect rules on one trace: (kind, message) per violation."""
    found: list[tuple[str, str]] = []
    vals = list(program.inits)
    n = len(program.effects)

    def value(d: int) -> int:
        if d < len(vals):
            return vals[d]
        assert program.computed is not None
        return sum(vals[i] for i in program.computed) % DOMAIN

    def reads(i: int) -> list[int]:
        return [value(d) for d in program.effects[i].deps]

    state = ["owed"] * n  # every effect owes its first run; then "running" or "idle"
    owed_rerun = [False] * n
    disposed = [False] * n
    last: list[list[int] | None] = [None] * n
    starts = [0] * n
    for at, kind, *data in trace:
        where = f"at t={at}"
        if kind == "start":
            i, run, got = data
            if disposed[i]:
                found.append(("run-after-dispose", f"e{i} started run {run} {where} after its disposal"))
            elif state[i] == "running":
                found.append(("overlapping-run", f"e{i} started run {run} {where} while run {starts[i]} was in flight"))
            elif state[i] == "idle":
                found.append(("spurious-run", f"e{i} started run {run} {where} though nothing it read changed"))
            if got != reads(i):
                found.append(("stale-read", f"e{i} run {run} {where} read {got}, current values are {reads(i)}"))
            state[i], owed_rerun[i], last[i] = "running", False, got
            starts[i] += 1
        elif kind == "set":
            _, a, v = data
            before = [reads(i) for i in range(n)]
            vals[a] = v
            for i in range(n):
                if disposed[i] or reads(i) == before[i]:
                    continue
                if state[i] == "running":
                    owed_rerun[i] = True
                elif state[i] == "idle":
                    state[i] = "owed"
        elif kind == "dispose":
            disposed[data[1]] = True
        elif kind == "end":
            i, run, stale = data
            if disposed[i]:
                continue
            if state[i] != "running":
                found.append(("unexpected-end", f"e{i} run {run} ended {where} but no run was in flight"))
            elif owed_rerun[i] and program.effects[i].cancelling:
                found.append(("not-cancelled", f"e{i} run {run} ended {where}, but it was superseded and "
                                               f"cancels on supersede"))
            if stale != owed_rerun[i]:
                found.append(("is-stale", f"e{i} run {run} ended {where} with is_stale() {stale}, "
                                          f"but a re-run {'was' if owed_rerun[i] else 'was not'} owed"))
            state[i] = "owed" if owed_rerun[i] else "idle"
            owed_rerun[i] = False
        elif kind == "cancelled":
            i, run = data
            if disposed[i]:
                continue
            if not (program.effects[i].cancelling and state[i] == "running" and owed_rerun[i]):
                found.append(("cancelled", f"e{i} run {run} was cancelled {where} though the effect is live"
                                           + ("" if program.effects[i].cancelling else " and does not cancel")))
            state[i], owed_rerun[i] = "owed", False
        elif kind == "settled":
            values, runs, gone, stale = data
            if values != vals:
                found.append(("lost-write", f"signals are {values} {where}, but the writes made them {vals}"))
            for i in range(n):
                if disposed[i]:
                    continue
                if state[i] != "idle":
                    what = "a run still in flight" if state[i] == "running" else "a run owed that never started"
                    found.append(("missed-run", f"e{i} settled {where} with {what}"))
                elif last[i] != reads(i):
                    found.append(("quiescence", f"e{i} settled {where}: its last run read {last[i]}, "
                                                f"current values are {reads(i)}"))
                if runs[i] != starts[i]:
                    found.append(("run-count", f"e{i}.runs is {runs[i]} {where}, but {starts[i]} runs started"))
                if gone[i] or stale[i]:
                    found.append(("settled-state", f"e{i} {where}: disposed={gone[i]} is_stale()={stale[i]}"))
    return found


@dataclass
class Outcome:
    """What one example found, and what to print to reproduce it."""

    violations: list[tuple[str, str]]
    choices: list[int]
    seed: int


def check_program(target: Target, program: AsyncProgram, choose: Callable[[int], int], seed: int) -> Outcome:
    """Every check of the property on one program: drawn interleaving, its replay, a seed twice."""
    found: list[tuple[str, str]] = []
    record = ReplayChooser([], then=FunctionChooser(choose))
    drawn = run_program(target, program, chooser=record)
    replay = ReplayChooser(record.made)
    again = run_program(target, program, chooser=replay)
    if dumps(drawn) != dumps(again):
        first = next((k for k, (x, y) in enumerate(zip(drawn, again)) if x != y), min(len(drawn), len(again)))
        found.append(("replay-diverged", f"replaying choices {record.made} diverged at event {first}: "
                                         f"{_at(drawn, first)} vs {_at(again, first)}"))
    elif replay.made != record.made:
        found.append(("replay-diverged", f"replaying choices {record.made} asked for {replay.made}"))
    seeded = run_program(target, program, seed=seed)
    seeded_again = run_program(target, program, seed=seed)
    if dumps(seeded) != dumps(seeded_again):
        first = next((k for k, (x, y) in enumerate(zip(seeded, seeded_again)) if x != y),
                     min(len(seeded), len(seeded_again)))
        found.append(("seed-diverged", f"two runs with seed {seed} diverged at event {first}: "
                                       f"{_at(seeded, first)} vs {_at(seeded_again, first)}"))
    found.extend((k, f"{m} (drawn interleaving)") for k, m in check_trace(program, drawn))
    found.extend((k, f"{m} (seed {seed})") for k, m in check_trace(program, seeded))
    return Outcome(found, record.made, seed)


def _at(trace: Trace, i: int) -> str:
    return repr(trace[i]) if i < len(trace) else "(end of trace)"


def property_test(target: Target | str = "glitchless") -> Callable[..., None]:
    """The property as a Hypothesis test function (call it, or wrap it in settings first)."""
    t = target if isinstance(target, Target) else load_target(target)

    @given(program=programs(), data=st.data(), seed=st.integers(0, 2**32 - 1))
    def test_scheduler_determinism(program: AsyncProgram, data: st.DataObject, seed: int) -> None:
        outcome = check_program(t, program, lambda n: data.draw(st.integers(0, n - 1)), seed)
        if outcome.violations:
            kind, message = outcome.violations[0]
            script = (*program.describe(), f"interleaving choices {outcome.choices}", f"seed {seed}")
            raise ScriptedFailure(Violation(NAME, kind, message, len(script)), script)

    return test_scheduler_determinism


def run_machine(target: Target, *, examples: int, seed: int, steps: int, shrink: bool = True) -> FuzzReport:
    """Run the property on `target` for `examples` programs; a failure comes back shrunk as a script.

    `steps` is accepted for a uniform interface; program sizes are bounded by the strategy.
    """
    test = property_test(target)
    inner = test.hypothesis.inner_test  # type: ignore[attr-defined]

    def run(report: FuzzReport) -> None:
        def counted(**kwargs: Any) -> None:
            report.runs += 1
            inner(**kwargs)

        test.hypothesis.inner_test = counted  # type: ignore[attr-defined]
        hypothesis.seed(seed)(quiet_settings(examples, shrink=shrink)(test))()

    again = f"glitchless fuzz --target {shlex.quote(target.name)} --checks {NAME} --examples {examples} --seed {seed}"
    return run_own_machine(target, examples=examples, seed=seed, steps=steps, again=again, run=run)
