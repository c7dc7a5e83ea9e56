"""Hypothesis stateful machines that model-check a kernel against the reference model.

`make_machine(target)` returns a `RuleBasedStateMachine` subclass whose rules
grow a random graph (signals; computeds over random earlier nodes with
functions from the closed set; effects that may write, read untracked and
return cleanups) and apply random operations (writes, equal writes of the
same object or of an equal copy, nested batches, reads, disposals). After
every rule the harness has checked the operation's trace; the first enabled
violation fails the example, and Hypothesis shrinks it.

`fuzz(...)` runs such a machine and returns a `FuzzReport` with each distinct
failure (one per property/kind), already shrunk, as a readable program and a
replay command.
"""

from __future__ import annotations

import importlib
import re
import shlex
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from glitchless.properties.harness import HOWS, Session
from glitchless.properties.hooks import PropertyInfo, Violation, machine_properties
from glitchless.properties.model import FUNCTIONS, AddSignal
from glitchless.properties.program import Dispose, Program, Read, Set, Step
from glitchless.properties.reduce import first_violation, reduce_program
from glitchless.properties.targets import Target, load_target

DOMAIN = 3  # values 0, 1, 2
MAX_NODES = 8
MAX_SIGNALS = 3  # the rest of the node budget goes to computeds and effects
DEFAULT_STEPS = 30

PICK = st.integers(0, 15)
VALUES = st.integers(0, DOMAIN - 1)
FNS = st.sampled_from(FUNCTIONS)
PICKS = st.lists(PICK, min_size=1, max_size=3)

_LEAF_OPS = st.one_of(
    st.tuples(st.just("set"), PICK, VALUES),
    st.tuples(st.just("set"), PICK, VALUES),
    st.tuples(st.sampled_from(["same", "copy"]), PICK),
    st.tuples(st.just("read"), PICK, st.sampled_from(HOWS)),
    st.tuples(st.just("dispose"), PICK),
)
BATCH_OPS = st.recursive(
    st.lists(_LEAF_OPS, max_size=4),
    lambda inner: st.lists(st.one_of(_LEAF_OPS, st.tuples(st.just("batch"), inner)), max_size=4),
    max_leaves=8,
)


class PropertyFailure(AssertionError):
    """A property violated by a kernel. Each property/kind gets its own subclass, so Hypothesis
    reports and shrinks each kind of failure separately."""

    def __init__(self, violation: Violation, program: Program, target: str) -> None:
        self.violation = violation
        self.program = program
        self.target = target
        super().__init__(render_failure(violation, program, target))


_FAILURE_TYPES: dict[str, type[PropertyFailure]] = {}


def failure_type(label: str) -> type[PropertyFailure]:
    cls = _FAILURE_TYPES.get(label)
    if cls is None:
        name = "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]+", label) if part) + "Failure"
        cls = type(name, (PropertyFailure,), {"__module__": __name__})
        _FAILURE_TYPES[label] = cls
    return cls


def replay_command(program: Program, target: str, checks: Iterable[str] | None = None) -> str:
    cmd = f"glitchless fuzz --target {shlex.quote(target)} --replay {shlex.quote(program.to_json())}"
    if checks:
        cmd += f" --checks {shlex.quote(','.join(sorted(checks)))}"
    return cmd


def render_failure(violation: Violation, program: Program, target: str) -> str:
    return (
        f"{violation.label} on {target}, at step {violation.step}:\n"
        f"  {violation.message}\n"
        f"program ({len(program.steps)} steps):\n{program.describe()}\n"
        f"replay: {replay_command(program, target)}"
    )


class KernelMachine(RuleBasedStateMachine):
    """Random graphs and operations on one target; configure with `make_machine`."""

    target: ClassVar[Target]
    checks: ClassVar[frozenset[str] | None] = None
    exclude: ClassVar[frozenset[str]] = frozenset()
    domain: ClassVar[int] = DOMAIN
    max_nodes: ClassVar[int] = MAX_NODES
    on_example: ClassVar[Callable[[], None] | None] = None

    def __init__(self) -> None:
        super().__init__()
        if type(self).on_example is not None:
            type(self).on_example()  # type: ignore[misc]
        t = type(self).target
        self.session = Session(t.make(), self.domain, self.checks, t.unsupported, self.exclude)

    def _apply(self, step: Step) -> None:
        found = self.session.apply(step)
        if found:
            v = found[0]
            raise failure_type(v.label)(v, self.session.program, self.target.name)

    def _room(self) -> bool:
        return self.session.node_count < self.max_nodes and self.session.broken is None

    # -- building the graph -------------------------------------------------

    @precondition(lambda self: self._room() and len(self.session.signals()) < MAX_SIGNALS)
    @rule(init=VALUES)
    def add_signal(self, init: int) -> None:

        self._apply(AddSignal(init))

    @precondition(lambda self: self._room() and bool(self.session.readable()))
    @rule(fn=FNS, picks=PICKS)
    def add_computed(self, fn: str, picks: list[int]) -> None:
        self._apply(self.session.computed_step(fn, picks))

    @precondition(lambda self: self._room() and bool(self.session.readable()))
    @rule(
        fn=FNS,
        picks=PICKS,
        cleanup=st.booleans(),
        write=st.none() | st.tuples(st.sampled_from(["const", "clamp"]), PICK, VALUES),
        untracked=st.none() | PICK,
    )
    def add_effect(
        self,
        fn: str,
        picks: list[int],
        cleanup: bool,
        write: tuple[Literal["const", "clamp"], int, int] | None,
        untracked: int | None,
    ) -> None:
        self._apply(self.session.effect_step(fn, picks, cleanup, write, untracked))

    # -- operations -----------------------------------------------------------

    @precondition(lambda self: bool(self.session.signals()))
    @rule(pick=PICK, value=VALUES)
    def write(self, pick: int, value: int) -> None:

        sigs = self.session.signals()
        self._apply(Set(sigs[pick % len(sigs)], value))

    @precondition(lambda self: bool(self.session.signals()))
    @rule(pick=PICK, mode=st.sampled_from(["same", "copy"]))
    def equal_write(self, pick: int, mode: Literal["same", "copy"]) -> None:

        sigs = self.session.signals()
        self._apply(Set(sigs[pick % len(sigs)], 0, mode))

    @precondition(lambda self: bool(self.session.signals()))
    @rule(ops=BATCH_OPS)
    def batch(self, ops: Sequence[tuple[Any, ...]]) -> None:
        self._apply(self.session.batch_step(ops))

    @precondition(lambda self: bool(self.session.readable()))
    @rule(pick=PICK, how=st.sampled_from(HOWS))
    def read(self, pick: int, how: Literal["get", "peek", "untracked"]) -> None:

        pool = self.session.readable()
        self._apply(Read(pool[pick % len(pool)], how))

    @precondition(lambda self: bool(self.session.effects()))
    @rule(pick=PICK)
    def dispose_effect(self, pick: int) -> None:

        effects = self.session.effects()
        self._apply(Dispose(effects[pick % len(effects)]))

    @precondition(
        lambda self: "dispose_computed" not in self.target.unsupported and bool(self.session.disposable_computeds())
    )
    @rule(pick=PICK)
    def dispose_computed(self, pick: int) -> None:

        pool = self.session.disposable_computeds()
        self._apply(Dispose(pool[pick % len(pool)]))

    def teardown(self) -> None:
        self.session.close()


def make_machine(
    target: Target | str,
    checks: Iterable[str] | None = None,
    *,
    domain: int = DOMAIN,
    max_nodes: int = MAX_NODES,
    exclude: Iterable[str] = (),
) -> type[KernelMachine]:
    """A machine class for one target, checking `checks` (property or property/kind names; None: all)
    and ignoring the property/kind labels in `exclude`."""
    t = target if isinstance(target, Target) else load_target(target)
    chosen = None if checks is None else frozenset(checks)
    skipped = frozenset(exclude)
    name = "KernelMachine_" + re.sub(r"\W+", "_", t.name)
    cls = type(name, (KernelMachine,), {"target": t, "checks": chosen, "exclude": skipped, "domain": domain,
                                         "max_nodes": max_nodes, "__module__": __name__})
    # Stable across processes and machines: workers fuzzing the same target with the same
    # checks share example-database entries, so a failure one finds is replayed by all.
    digest = (f"glitchless-machine|{t.name}|{sorted(chosen) if chosen else 'all'}|{domain}|{max_nodes}"
              + (f"|without {sorted(skipped)}" if skipped else ""))
    cls._hypothesis_internal_add_digest = digest.encode()  # type: ignore[attr-defined]
    return cls


@dataclass(frozen=True)
class Failure:
    violation: Violation
    program: Program
    target: str

    @property
    def label(self) -> str:
        return self.violation.label

    def render(self) -> str:
        return render_failure(self.violation, self.program, self.target)

    def replay_command(self) -> str:
        return replay_command(self.program, self.target)


@dataclass(frozen=True)
class Script:
    """What an own-machine property (snapshot_restore, scheduler_determinism) ran, as readable lines."""

    steps: tuple[str, ...]

    def describe(self) -> str:
        return "\n".join(f"  {i}. {line}" for i, line in enumerate(self.steps, 1))


@dataclass(frozen=True)
class ScriptFailure:
    """A failure of an own-machine property: the violation, the shrunk script, how to reproduce it."""

    violation: Violation
    program: Script
    target: str
    reproduce: str

    @property
    def label(self) -> str:
        return self.violation.label

    def render(self) -> str:
        return (
            f"{self.violation.label} on {self.target}, at step {self.violation.step}:\n"
            f"  {self.violation.message}\n"
            f"script ({len(self.program.steps)} steps):\n{self.program.describe()}\n"
            f"reproduce: {self.reproduce}"
        )

    def replay_command(self) -> str:
        return self.reproduce


AnyFailure = Failure | ScriptFailure


@dataclass
class FuzzReport:
    target: str
    examples: int
    seed: int
    steps: int
    seconds: float = 0.0
    runs: int = 0  # machines Hypothesis built: generated examples plus shrinking attempts
    failures: list[AnyFailure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors

    def labels(self) -> list[str]:
        return sorted({f.label for f in self.failures})


def database_at(path: str | Path | None) -> ExampleDatabase | None:
    """A shared example database in a directory (None: no database, the run depends on the seed only)."""
    return None if path is None else DirectoryBasedExampleDatabase(str(path))


def fuzz(
    target: Target | str,
    *,
    examples: int = 200,
    seed: int = 0,
    steps: int = DEFAULT_STEPS,
    checks: Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    database: ExampleDatabase | str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    report_multiple: bool = True,
    shrink: bool = True,
    reduce: bool = True,
    replay_only: bool = False,
    domain: int = DOMAIN,
    max_nodes: int = MAX_NODES,
) -> FuzzReport:
    """Run the machine on `target` for `examples` examples of up to `steps` steps.

    Deterministic for a given seed (and database contents); never seeded from the clock.
    `progress`, if given, is called with the number of machines built so far. With `shrink`,
    Hypothesis shrinks each failure; with `reduce`, the program is then reduced structurally
    (see `glitchless.properties.reduce`). `replay_only` skips generation: only examples saved
    in the database are replayed. Violations whose property/kind label is in `ignore` (known
    bugs, say) are not reported.
    """
    t = target if isinstance(target, Target) else load_target(target)
    report = FuzzReport(t.name, examples, seed, steps)
    start = time.perf_counter()
    own = _own_machines(checks)
    if own:
        # Properties with machines of their own run theirs; the graph machine runs only if
        # graph properties are selected too.
        for info, runner in own:
            if not t.supports(info.needs):
                report.errors.append(f"{info.name} is not applicable to {t.name}: it needs {info.needs}")
                continue
            part = runner(t, examples=examples, seed=seed, steps=steps)
            report.runs += part.runs
            report.failures.extend(part.failures)
            report.errors.extend(part.errors)
        names = {info.name for info, _ in own}
        rest = None if checks is None else [c for c in checks if c.split("/", 1)[0] not in names]
        if rest:
            graph = fuzz(t, examples=examples, seed=seed, steps=steps, checks=rest, ignore=ignore, database=database,
                         progress=progress, report_multiple=report_multiple, shrink=shrink, reduce=reduce,
                         replay_only=replay_only, domain=domain, max_nodes=max_nodes)
            report.runs += graph.runs
            report.failures.extend(graph.failures)
            report.errors.extend(graph.errors)
        report.seconds = time.perf_counter() - start
        return report
    db = database if isinstance(database, ExampleDatabase) or database is None else database_at(database)

    def count() -> None:
        report.runs += 1
        if progress is not None:
            progress(report.runs)

    def search(exclude: frozenset[str], multiple: bool) -> None:
        cls = make_machine(t, checks, domain=domain, max_nodes=max_nodes, exclude=exclude)
        cls.on_example = count
        hypothesis.seed(seed)(cls)
        config = settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=db,
            derandomize=False,
            verbosity=Verbosity.quiet,
            report_multiple_bugs=multiple,
            suppress_health_check=list(HealthCheck),
            phases=tuple(p for p in (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
                         if (shrink or p is not Phase.shrink)
                         and not (replay_only and p in (Phase.generate, Phase.target))),
            print_blob=False,
        )
        try:
            run_state_machine_as_test(cls, settings=config)
        except BaseException as exc:
            if type(exc).__name__ in ("SkipTest", "Skipped"):
                pass  # nothing to run: replay_only with an empty database (unittest's or pytest's skip)
            elif isinstance(exc, Exception):
                _collect(exc, report)  # every failure goes into the report
            else:
                raise

    ignored = frozenset(ignore)
    if not report_multiple:
        search(ignored, False)
    else:
        # One example stops at its first violation, so a frequent kind of failure can hide the
        # others. Search again with every kind found so far ignored, until nothing new turns up.
        # (Hypothesis itself only keeps looking for further bugs while it may shrink them.)
        found: set[str] = set()
        while True:
            before = len(report.failures) + len(report.errors)
            search(ignored | found, shrink)
            new = {f.label for f in report.failures} - found
            if not new or len(report.failures) + len(report.errors) == before:
                break
            found |= new
    if reduce:
        report.failures = [_reduced(f, t) if isinstance(f, Failure) else f for f in report.failures]
    report.seconds = time.perf_counter() - start
    return report


class MachineRunner(Protocol):
    def __call__(self, target: Target, *, examples: int, seed: int, steps: int) -> FuzzReport: ...


def _own_machines(checks: Iterable[str] | None) -> list[tuple[PropertyInfo, MachineRunner]]:
    """The own-machine properties `checks` selects explicitly (None selects the graph machine's only)."""
    if checks is None:
        return []
    wanted = {c.split("/", 1)[0] for c in checks}
    found: list[tuple[PropertyInfo, MachineRunner]] = []
    for info, where in machine_properties():
        if info.name in wanted:
            module_name, _, attr = where.partition(":")
            found.append((info, getattr(importlib.import_module(module_name), attr)))
    return found


def _reduced(failure: Failure, target: Target) -> Failure:
    shown = first_violation(reduce_program(failure.program, target, failure.label), target, failure.label)
    if shown is None:  # did not reproduce on a fresh runtime: keep what Hypothesis found
        return failure
    violation, program = shown
    return Failure(violation, program, failure.target)


def _collect(exc: BaseException, report: FuzzReport) -> None:
    from hypothesis.errors import FlakyFailure

    if isinstance(exc, PropertyFailure):
        report.failures.append(Failure(exc.violation, exc.program, exc.target))
    elif isinstance(exc, FlakyFailure):
        inner = "; ".join(f"{type(e).__name__}: {str(e).splitlines()[0]}" for e in exc.exceptions)
        report.errors.append(f"flaky failure (did not reproduce on replay): {inner}")
    elif isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            _collect(sub, report)
    else:
        first = str(exc).splitlines()[0] if str(exc) else ""
        report.errors.append(f"{type(exc).__name__}: {first}")
