"""Hypothesis drives the runner: random programs, one step at a time, shrunk on failure.

`draw_step` is the generator: every step it draws is resolved against the
session's graph so far, so every program is well formed and uses only the
features the target has. Node picks count back from the newest node
(Hypothesis shrinks them to 0, "the newest"), so chains and diamonds deep in
the graph are common (docs/fuzzing.md has the measured shares).

`fuzz(...)` runs the machine, shrinks each failure (Hypothesis, then
`runner.shrink`), and returns one `Failure` per shrunk program.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from glitchless.properties.hooks import PropertyInfo, Violation, machine_properties
from glitchless.properties.model import IntCopy
from glitchless.properties.program import (
    FUNCTIONS,
    MISUSES,
    AddComputed,
    AddEffect,
    AddSignal,
    Batch,
    Dispose,
    DisposeScope,
    EffectWrite,
    Flush,
    FlushOrder,
    Misuse,
    Program,
    Read,
    ScopeCleanup,
    Set,
    Step,
    Track,
    arity_range,
)
from glitchless.properties.runner import Failure, Session, shrink as shrink_program
from glitchless.properties.targets import Target, load_target

DOMAIN = 3  # values 0, 1, 2
MAX_NODES = 12
MAX_SIGNALS = 3
DEFAULT_STEPS = 30


@dataclass(frozen=True)
class Options:
    """What the generator may draw. Switching parts off checks only the rest of the contract."""

    errors: bool = True  # fns, effects, cleanups and equals that raise; disposing computeds still read
    writes: bool = True  # effects that write signals
    dispose_in_runs: bool = True  # effects and cleanups that dispose nodes
    cascades: bool = True  # effects that count up to near the round bound (and past it)
    transient: bool = True  # batches that change a signal and change it back
    equals: bool = True  # custom equals on signals and computeds
    interrupts: bool = True  # fns, effects, cleanups and equals raising a BaseException (Halt: S3, S5)
    cycles: bool = True  # computeds reading themselves or later nodes (CycleError), on glitchless kernels
    ops: bool = True  # peek/untracked blocks/foreign-thread reads in bodies, scopes, on_cleanup, current_effect,
    # rt.track and rt.flush, rt.set_flush_order


ALL = Options()


Choose = Callable[[int], int]  # choose(n) -> a choice in range(n); 0 is the simplest


def draw_step(choose: Choose, s: Session, opts: Options = ALL, max_nodes: int = MAX_NODES) -> Step:
    """One step that fits the session's graph, picks biased towards the newest nodes."""
    t = s.target
    specs = s.specs

    def has(feature: str) -> bool:
        return feature not in t.unsupported

    signals = [i for i, n in enumerate(specs) if isinstance(n, AddSignal)]
    readable = [i for i, n in enumerate(specs) if not isinstance(n, AddEffect)]
    disposable = [i for i, n in enumerate(specs) if isinstance(n, AddEffect)
                  or (isinstance(n, AddComputed) and has("dispose_computed") and opts.errors)]

    def one(options: list[Any]) -> Any:
        return options[choose(len(options))]

    def maybe(flag: bool, options: list[Any]) -> Any:
        return one(options) if flag and options and choose(2) else None

    def rare(flag: bool, options: list[Any]) -> Any:  # a quarter of the time; never for the zero choice
        return one(options) if flag and options and choose(4) == 3 else None

    raising = (["picky"] if opts.errors else []) + (["halting"] if opts.interrupts else [])

    kinds = ["set", "computed", "effect", "batch", "set", "computed", "read", "dispose", "signal", "computed"]
    kinds += ["op"] if opts.ops else []
    if not signals:
        kinds = ["signal"]
    elif len(specs) >= max_nodes:
        kinds = [k for k in kinds if k in ("set", "batch", "read", "dispose")]
    elif len(signals) >= MAX_SIGNALS:
        kinds.remove("signal")
    if not disposable and "dispose" in kinds:
        kinds.remove("dispose")
    picky = [i for i in signals if getattr(specs[i], "equals", None) in raising]
    if picky and has("batch"):
        kinds.append("walk")
    kind = one(kinds)
    if kind == "walk":
        return walk(s, recent(choose, picky))
    if kind == "signal":
        return AddSignal(choose(s.domain), maybe(opts.equals and has("equals"),
                                                 (["parity", "strict"] if opts.errors else ["parity"]) + raising))
    if kind == "op":
        return draw_op(choose, s)
    if kind in ("computed", "effect"):
        fn = one(list(FUNCTIONS))
        lo, hi = arity_range(fn)
        inputs = tuple(recent(choose, readable) for _ in range(lo + choose(hi - lo + 1)))
        fails = maybe(opts.errors, list(range(s.domain)))
        if kind == "computed":
            return with_ops(choose, s, opts, AddComputed(
                fn, inputs, maybe(opts.equals and has("equals"), ["parity"] + raising), fails,
                rare(opts.interrupts, list(range(s.domain))),
                # itself or one of the next two nodes: a cycle once they read it (glitchless only,
                # where a peer without cycle detection could recurse to the limit)
                rare(opts.cycles and s.named, [len(specs), len(specs) + 1, len(specs) + 2])), readable)
        write = None
        if opts.writes and choose(2):
            wkind = one(["const", "clamp", "count"] if opts.cascades else ["const", "clamp"])
            caps = [3] if t.max_rounds is None else [3, t.max_rounds - 1, t.max_rounds, t.max_rounds + 1]
            write = EffectWrite(recent(choose, signals), wkind, one(caps) if wkind == "count" else choose(s.domain))
        cleanup = has("cleanups") and bool(choose(2))
        effect = AddEffect(
            fn, inputs, cleanup, write,
            untracked=maybe(has("untracked"), readable),
            fails=fails,
            disposes=maybe(opts.dispose_in_runs, disposable),
            cleanup_disposes=maybe(cleanup and opts.dispose_in_runs, disposable + [len(specs)]),
            cleanup_raises=cleanup and opts.errors and bool(choose(2)),
            halts=rare(opts.interrupts, list(range(s.domain))),
            cleanup_halts=cleanup and opts.interrupts and choose(4) == 3,
        )
        effect = reads_raising_equals(choose, effect, picky)
        if effect.disposes is None and opts.dispose_in_runs and choose(8) == 7:  # itself, in its run
            effect = dataclasses.replace(effect, disposes=len(specs))
        return with_ops(choose, s, opts, effect, readable)
    if kind == "read":
        return Read(recent(choose, readable), one(["get"] + [h for h in ("peek", "untracked") if has(h)]
                                                  + [h for h, f in READ_OPS if opts.ops and has(f)]))
    if kind == "dispose":
        return Dispose(recent(choose, disposable))
    if kind == "batch" and has("batch"):
        batch = Batch(tuple(draw_inner(choose, s, opts, signals, readable, disposable, 2)
                            for _ in range(1 + choose(4))))
        return batch if opts.transient else _once(batch, set())
    return draw_set(choose, s, signals)


def reads_raising_equals(choose: Choose, effect: AddEffect, picky: list[int]) -> AddEffect:
    """Often make an effect read a signal whose equals may raise, directly: only an effect's own
    comparison of what it saw with the current value meets the pairs a set never compares."""
    if not picky or not choose(2):
        return effect
    return dataclasses.replace(effect, inputs=(recent(choose, picky),) + effect.inputs[1:])


READ_OPS = (("block", "untracked_block"), ("thread", "threads"))
HIDDEN_OPS = (("peek", "peek"), ("untracked", "untracked"), ("block", "untracked_block"), ("thread", "threads"))
SCOPES = 2  # scope ids 0 and 1


def with_ops(choose: Choose, s: Session, opts: Options, spec: AddComputed | AddEffect,
             readable: list[int]) -> AddComputed | AddEffect:
    """The node, sometimes reading a node without subscribing first, created in a scope, and (effects)
    registering an rt.on_cleanup fn and checking rt.current_effect()."""
    if not opts.ops:
        return spec
    has = s.target.supports
    hows = [h for h, f in HIDDEN_OPS if has(f)]
    live = [k for k in range(SCOPES) if k not in s.model.scopes_disposed] if has("scope") else []
    # A choice of 1 (not 0) adds each: Hypothesis shrinks choices towards 0, that is towards plainer nodes.
    hidden = None
    if isinstance(spec, AddEffect) and spec.write is not None and spec.write.kind == "const" and hows and choose(2):
        # Read what it then writes, the common use of peek(), and change it in the first run (which
        # does not raise): reading it must not subscribe, or the write re-runs the effect.
        hidden = spec.write.target
        now = s.model.value[hidden]
        spec = dataclasses.replace(spec, fails=None, write=dataclasses.replace(
            spec.write, value=(int(now) + 1) % s.domain if isinstance(now, int | float) else 0))
    elif hows and choose(3) == 1:
        # Mostly a node the body does not read tracked too: a subscription it must not make would show.
        others = [i for i in readable if i not in spec.inputs]
        signals = [i for i in others if isinstance(s.specs[i], AddSignal)]
        hidden = recent(choose, (signals if choose(2) else others) or readable)
    how = hows[choose(len(hows))] if hidden is not None else "peek"
    scope = live[choose(len(live))] if live and choose(4) == 1 else None
    spec = dataclasses.replace(spec, hidden=hidden, hidden_how=how, scope=scope)  # type: ignore[arg-type]
    if isinstance(spec, AddEffect):
        spec = dataclasses.replace(spec, on_cleanup=has("on_cleanup") and choose(3) == 1,
                                   current=has("current_effect") and choose(3) == 1)
    return spec


def draw_op(choose: Choose, s: Session) -> Step:
    """One of the operations beyond reads and writes the target has: scopes, flush order, track, flush."""
    has = s.target.supports
    specs = s.specs
    effects = [i for i, n in enumerate(specs) if isinstance(n, AddEffect)]
    live = [i for i in effects if i not in s.model.disposed and s.handles[i] is not None]
    readable = [i for i, n in enumerate(specs) if not isinstance(n, AddEffect)]
    signals = [i for i, n in enumerate(specs) if isinstance(n, AddSignal)]
    # Weighted so that scope disposals (which take a third of the nodes with them) stay rare.
    kinds = (["dispose_scope", "scope_cleanup"] if has("scope") and has("on_cleanup") else
             ["dispose_scope"] if has("scope") else [])
    kinds += ["flush_order"] * 3 if effects and has("flush_order") else []
    kinds += ["track", "track", "flush"] if live and has("track") else []
    kinds += ["foreign_write"] if signals and has("threads") else []
    kinds += ["misuse"] if s.named and signals else []  # held to glitchless's own messages (runner.misuse_message)
    kinds += ["set"] * max(0, 6 - len(kinds))
    kind = kinds[choose(len(kinds))]
    if kind == "set":
        return draw_set(choose, s, signals)
    if kind == "dispose_scope":
        # A scope that owns two things or more: the order it disposes them in shows.
        owned = s.model.scope_owned
        full = [k for k in range(SCOPES) if len(owned.get(k, ())) >= 2]
        if full or choose(4) == 1:
            disposal = DisposeScope(full[choose(len(full))] if full else choose(SCOPES))
            if signals and choose(3) == 1:  # inside a batch, then a transient change the batch must hold back
                x = recent(choose, signals)
                now = s.model.value[x]
                back = int(now) if isinstance(now, int) and not isinstance(now, IntCopy) else 0
                return Batch((disposal, Set(x, (back + 1) % s.domain), Set(x, back)))
            return disposal
        return ScopeCleanup(choose(SCOPES), choose(3) == 1) if has("on_cleanup") else draw_set(choose, s, signals)
    if kind == "scope_cleanup":
        return ScopeCleanup(choose(SCOPES), choose(3) == 1)
    if kind == "flush_order":
        e = recent(choose, effects)
        return FlushOrder(e, -1 - e - 16 * choose(4))  # never equal to another effect's order
    if kind == "flush":
        return Flush()
    if kind == "misuse":
        return Misuse(MISUSES[choose(len(MISUSES))], recent(choose, signals))  # type: ignore[arg-type]
    if kind == "foreign_write":
        signal, value = recent(choose, signals), choose(s.domain)
        return Set(signal, value, "thread_update" if has("update") and choose(2) else "thread")
    write = recent(choose, signals) if choose(2) else None
    return Track(recent(choose, live), recent(choose, readable), write, choose(s.domain) if write is not None else 0)


def recent(choose: Choose, pool: list[int]) -> int:
    """A node of `pool`, the newest most often: deep chains and diamonds are common."""
    back = 0 if choose(2) else choose(8)
    return pool[-1 - back % len(pool)]


def draw_set(choose: Choose, s: Session, signals: list[int]) -> Set:
    modes = ["new", "new", "same", "copy", "float"] + (["update"] if "update" not in s.target.unsupported else [])
    return Set(recent(choose, signals), choose(s.domain), modes[choose(len(modes))])  # type: ignore[arg-type]


def draw_inner(choose: Choose, s: Session, opts: Options, signals: list[int], readable: list[int],
               disposable: list[int], depth: int) -> Step:
    kinds = ["set", "set", "read"] + (["dispose"] if disposable else []) + (["flip"] if opts.transient else [])
    kinds += ["batch"] if depth else []
    kinds += ["walk"] if opts.errors else []
    kinds += ["flush"] if opts.ops and s.target.supports("track") else []
    kind = kinds[choose(len(kinds))]
    if kind == "flush":
        return Flush()
    if kind == "read":
        return Read(recent(choose, readable))
    if kind == "dispose":
        return Dispose(recent(choose, disposable))
    if kind == "batch":
        return Batch(tuple(draw_inner(choose, s, opts, signals, readable, disposable, depth - 1)
                           for _ in range(1 + choose(3))))
    one = draw_set(choose, s, signals)
    if kind == "flip":  # change it and change it back: a transient change
        back = s.model.value[one.signal]
        back = int(back) if isinstance(back, int) and not isinstance(back, IntCopy) else 0
        return Batch((Set(one.signal, (back + 1) % s.domain), Set(one.signal, back)))
    if kind == "walk":  # mostly on a signal whose equals may raise: that is what the walk is for
        picky = [i for i in signals if getattr(s.specs[i], "equals", None) in ("picky", "halting")]
        return walk(s, recent(choose, picky) if picky and choose(4) else one.signal)
    return one


def walk(s: Session, signal: int) -> Batch:
    """Two writes that move a signal two apart through the middle value (0 -> 1 -> 2, 2 -> 1 -> 0):
    each write passes a "picky" equals, but the flush compares the two ends, and that raises."""
    now = s.model.value[signal]
    now = int(now) if isinstance(now, int) and not isinstance(now, IntCopy) else 0
    far = s.domain - 1 - now if now in (0, s.domain - 1) else 0
    return Batch((Set(signal, (now + far) // 2), Set(signal, far)))


def chooser(values: bytes) -> Choose:
    """Choices from bytes Hypothesis drew (one choice per step: cheap; shrinks towards zeros)."""
    it = iter(values)
    return lambda n: next(it, 0) % n


CHOICES = st.binary(min_size=32, max_size=32)


def _once(batch: Batch, written: set[int]) -> Batch:
    """The batch without second writes to a signal (no transient changes)."""
    out: list[Step] = []
    for step in batch.steps:
        if isinstance(step, Batch):
            out.append(_once(step, written))
        elif not isinstance(step, Set) or step.signal not in written:
            out.append(step)
            written |= {step.signal} if isinstance(step, Set) else set()
    return Batch(tuple(out))


class PropertyFailure(AssertionError):
    def __init__(self, violation: Violation, program: Program, target: str) -> None:
        self.violation, self.program, self.target = violation, program, target
        super().__init__(Failure(violation, program, target).render())


class KernelMachine(RuleBasedStateMachine):
    """Random programs on one target; configure with `make_machine`."""

    target: ClassVar[Target]
    checks: ClassVar[frozenset[str] | None] = None
    ignore: ClassVar[frozenset[str]] = frozenset()
    domain: ClassVar[int] = DOMAIN
    max_nodes: ClassVar[int] = MAX_NODES
    options: ClassVar[Options] = ALL
    on_example: ClassVar[Callable[[], None] | None] = None

    def __init__(self) -> None:
        super().__init__()
        if type(self).on_example is not None:
            type(self).on_example()  # type: ignore[misc]
        self.session = Session(self.target, self.domain, self.checks)

    @rule(choices=CHOICES)
    def step(self, choices: bytes) -> None:
        found = self.session.apply(draw_step(chooser(choices), self.session, self.options, self.max_nodes))
        if found and found[0].label not in self.ignore:
            raise PropertyFailure(found[0], self.session.program, self.target.name)

    def teardown(self) -> None:
        self.session.close()


def make_machine(target: Target | str, checks: Iterable[str] | None = None, *, domain: int = DOMAIN,
                 max_nodes: int = MAX_NODES, exclude: Iterable[str] = (), options: Options = ALL) -> type[KernelMachine]:
    """A machine class for one target, checking `checks` (None: all) and ignoring `exclude` labels."""
    t = target if isinstance(target, Target) else load_target(target)
    chosen = None if checks is None else frozenset(checks)
    cls = type("KernelMachine_" + re.sub(r"\W+", "_", t.name), (KernelMachine,), {
        "target": t, "checks": chosen, "ignore": frozenset(exclude), "domain": domain, "max_nodes": max_nodes,
        "options": options, "__module__": __name__})
    # Stable across processes: workers fuzzing one target share example-database entries.
    digest = f"glitchless-machine-2|{t.name}|{sorted(chosen or [])}|{domain}|{max_nodes}|{options}|{sorted(exclude)}"
    cls._hypothesis_internal_add_digest = digest.encode()  # type: ignore[attr-defined]
    return cls


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
        return (f"{self.violation.label} on {self.target}, at step {self.violation.step}:\n"
                f"  {self.violation.message}\nscript ({len(self.program.steps)} steps):\n{self.program.describe()}\n"
                f"reproduce: {self.reproduce}")

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


class ScriptedFailure(AssertionError):
    """What an own machine's Hypothesis test raises: the violation and the script that shows it."""

    def __init__(self, violation: Violation, script: tuple[str, ...]) -> None:
        self.violation, self.script = violation, script
        super().__init__(f"{violation.label} at step {violation.step}: {violation.message}\n"
                         + Script(script).describe())


def quiet_settings(examples: int, *, shrink: bool, **more: Any) -> settings:
    """An own machine's Hypothesis settings: no deadline, no database, no output; the first failure only."""
    return settings(max_examples=examples, deadline=None, database=None, verbosity=Verbosity.quiet,
                    suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False,
                    phases=[p for p in Phase if shrink or p is not Phase.shrink], **more)


def run_own_machine(target: Target, *, examples: int, seed: int, steps: int, again: str,
                    run: Callable[[FuzzReport], None]) -> FuzzReport:
    """Run an own machine's Hypothesis test (`run`, which counts its examples in the report): the
    ScriptedFailure it raises becomes a ScriptFailure reproduced by the command `again`, anything else an error."""
    report = FuzzReport(target.name, examples, seed, steps)
    start = time.perf_counter()
    try:
        run(report)
    except Exception as exc:
        failure = _scripted(exc)
        if failure is None:
            report.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        else:
            script = failure.script
            if failure is not exc:  # found once, then not on Hypothesis's replay: nondeterminism itself
                script = (*script, "(this failure did not reproduce when Hypothesis replayed it)")
            report.failures.append(ScriptFailure(failure.violation, Script(script), target.name, again))
    report.seconds = time.perf_counter() - start
    return report


def _scripted(exc: BaseException) -> ScriptedFailure | None:
    if isinstance(exc, ScriptedFailure):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for sub in exc.exceptions:
            found = _scripted(sub)
            if found is not None:
                return found
    return None


def database_at(path: str | Path | None) -> ExampleDatabase | None:
    return None if path is None else DirectoryBasedExampleDatabase(str(path))


class MachineRunner(Protocol):
    def __call__(self, target: Target, *, examples: int, seed: int, steps: int) -> FuzzReport: ...


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
    options: Options = ALL,
) -> FuzzReport:
    """Run the machine on `target`: `examples` programs of up to `steps` steps, deterministic per seed.

    With `shrink`, Hypothesis shrinks each failure; with `reduce`, `runner.shrink` then drops nodes
    and steps while the same property still fails first. With `report_multiple`, the search goes on
    with the labels found so far ignored, so one frequent bug cannot hide the others; failures are
    grouped by their shrunk program (one bug, one failure).
    """
    t = target if isinstance(target, Target) else load_target(target)
    report = FuzzReport(t.name, examples, seed, steps)
    start = time.perf_counter()
    own = _own_machines(checks)
    if own:
        for info, runner in own:
            if not t.supports(info.needs):
                report.errors.append(f"{info.name} is not applicable to {t.name}: it needs {info.needs}")
                continue
            part = runner(t, examples=examples, seed=seed, steps=steps)
            report.runs += part.runs
            report.failures.extend(part.failures)
            report.errors.extend(part.errors)
        names = {info.name for info, _ in own}
        rest = [c for c in checks or () if c.split("/", 1)[0] not in names]
        if rest:
            graph = fuzz(t, examples=examples, seed=seed, steps=steps, checks=rest, ignore=ignore, database=database,
                         progress=progress, report_multiple=report_multiple, shrink=shrink, reduce=reduce,
                         replay_only=replay_only, domain=domain, max_nodes=max_nodes, options=options)
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

    found: dict[str, Failure] = {}
    ignored = set(ignore)
    for _ in range(8 if report_multiple else 1):
        cls = make_machine(t, checks, domain=domain, max_nodes=max_nodes, exclude=ignored, options=options)
        cls.on_example = count
        hypothesis.seed(seed)(cls)
        phases = [Phase.explicit, Phase.reuse] + ([] if replay_only else [Phase.generate]) + (
            [Phase.shrink] if shrink else [])
        config = settings(max_examples=examples, stateful_step_count=steps, deadline=None, database=db,
                          verbosity=Verbosity.quiet, report_multiple_bugs=False, phases=phases,
                          suppress_health_check=list(HealthCheck), print_blob=False)
        try:
            run_state_machine_as_test(cls, settings=config)
            break
        except PropertyFailure as exc:
            failure = Failure(exc.violation, exc.program, t.name)
            if reduce:
                v, program = shrink_failure(failure, t, checks)
                failure = Failure(v, program, t.name)
            found.setdefault(failure.program.to_json(), failure)
            ignored.add(exc.violation.label)
        except BaseException as exc:
            if type(exc).__name__ in ("SkipTest", "Skipped"):
                break  # replay_only with an empty database
            if not isinstance(exc, Exception):
                raise
            report.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            break
    report.failures.extend(found.values())
    report.seconds = time.perf_counter() - start
    return report


def shrink_failure(failure: Failure, t: Target, checks: Iterable[str] | None = None) -> tuple[Violation, Program]:
    try:
        return shrink_program(failure.program, t, failure.label, checks=checks)
    except AssertionError:  # did not reproduce on a fresh runtime: keep what Hypothesis found
        return failure.violation, failure.program


def _own_machines(checks: Iterable[str] | None) -> list[tuple[PropertyInfo, MachineRunner]]:
    """The own-machine properties `checks` selects explicitly (None selects the graph machine's only)."""
    if checks is None:
        return []
    wanted = {c.split("/", 1)[0] for c in checks}
    return [(info, getattr(importlib.import_module(where.partition(":")[0]), where.partition(":")[2]))
            for info, where in machine_properties() if info.name in wanted]
