"""The ``snapshot_restore`` property: reinstalling components is invisible.

A Hypothesis stateful machine builds a few random components (made per
example with `@component`): their state lives in signals, a plain counter and
a plain inbox list; a `@computed` total over their own signals and, through
an optional requirement, their provider's total; one `@effect` that shows the
total on a display outside the kernel, and optionally one that keeps a
running peak in a signal (an effect writing state). Two kernels boot the same
components. Random operations go to both: writes through operations, counter
bumps, reads, publishes to subscribed topics. At random points only the
first kernel is checkpointed: ``restore(snapshot())`` (all, or one
component), ``hot_update`` to the same class, or ``shutdown`` then
``boot(state=snapshot)``. After every step the observable traces must be
equal: the sequence of values each effect put on the display (a re-render of
the same value is not a change), every operation's result, every instance's
snapshot and the live names. The order in which different components'
effects showed their values is compared too: a reinstalled instance's
effects keep their predecessor's place in the flush order.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import hypothesis
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from glitchless.kernel import Component, Kernel, Requires, Runtime, component, computed, effect, operation, subscribe
from glitchless.properties.hooks import Violation
from glitchless.properties.machine import FuzzReport, ScriptedFailure, quiet_settings, run_own_machine
from glitchless.properties.targets import Target, load_target

NAME = "snapshot_restore"
TOPICS = ("news.a", "news.b")
FNS = ("sum", "max", "first")
VALUES = st.integers(0, 3)


@dataclass(frozen=True)
class Spec:
    """One random component: its signals' initial values, provider, total function, peak effect, topic."""

    index: int
    inits: tuple[int, ...]
    up: int | None  # index of the component it requires (optionally), always an earlier one
    fn: str
    peak: bool
    topic: str | None

    @property
    def name(self) -> str:
        return f"c{self.index}"

    def describe(self) -> str:
        parts = [f"signals {list(self.inits)}", f"total = {self.fn}(signals"
                 + (f" + {f'c{self.up}'}.total)" if self.up is not None else ")")]
        if self.peak:
            parts.append("peak effect")
        if self.topic:
            parts.append(f"subscribes {self.topic}")
        return f"component {self.name}: " + ", ".join(parts)


SPECS = st.lists(
    st.tuples(st.lists(VALUES, min_size=1, max_size=2), st.none() | st.integers(0, 7), st.sampled_from(FNS),
              st.booleans(), st.none() | st.sampled_from(TOPICS)),
    min_size=1, max_size=3,
)


def _fold(fn: str, values: list[int]) -> int:
    if fn == "sum":
        return sum(values) % 7
    if fn == "max":
        return max(values)
    return values[0]


class Display:
    """The world outside the kernel: what the effects show. Showing what is shown already is no change."""

    def __init__(self) -> None:
        self.shown: dict[str, Any] = {}
        self.log: list[tuple[Any, ...]] = []

    def show(self, key: str, value: Any) -> None:
        if self.shown.get(key, ()) != value:
            self.shown[key] = value
            self.log.append(("show", key, value))


def make_component(spec: Spec) -> type[Any]:
    """A fresh component class for `spec` (one per example; both kernels use the same classes)."""
    n = len(spec.inits)

    def activate(self: Any) -> None:
        for k, v in enumerate(spec.inits):
            setattr(self, f"s{k}", self.ctx.signal(v, name=f"s{k}"))
        self.count = 0
        self.inbox = []
        if spec.peak:
            self.peak = self.ctx.signal(0, name="peak")

    def total(self: Any) -> int:
        values = [getattr(self, f"s{k}").get() for k in range(n)]
        if spec.up is not None:
            up = self.ctx.use("up")
            if up is not None:
                values.append(up.total())
        return _fold(spec.fn, values)

    def show(self: Any) -> None:
        display: Display = self.ctx.properties["display"]
        display.show(self.ctx.name, (self.total(), self.peak.get() if spec.peak else None))

    def track_peak(self: Any) -> None:
        t = self.total()
        if t > self.peak.peek():  # idempotent: a re-run with the same total writes nothing
            self.peak.set(t)

    def set_(self: Any, params: dict[str, int]) -> None:
        getattr(self, f"s{params['k'] % n}").set(params["v"])

    def bump(self: Any, params: dict[str, Any]) -> int:
        self.count += 1
        return int(self.count)

    def read(self: Any, params: dict[str, Any]) -> tuple[Any, ...]:
        return (tuple(getattr(self, f"s{k}").peek() for k in range(n)), self.total(), self.count,
                self.peak.peek() if spec.peak else None, tuple(self.inbox))

    def on_topic(self: Any, topic: str, data: int) -> None:
        self.inbox.append(data)
        self.s0.set(data)

    ns: dict[str, Any] = {"activate": activate, "total": computed(total), "show": effect(show),
                          "set": operation(set_), "bump": operation(bump), "read": operation(read)}
    if spec.peak:
        ns["track_peak"] = effect(track_peak)
    if spec.topic is not None:
        ns["on_topic"] = subscribe(spec.topic)(on_topic)
    cls = type(f"C{spec.index}", (Component,), ns)
    requires = {"up": Requires.optional(f"I{spec.up}")} if spec.up is not None else None
    return component(spec.name, version="1", provides=[f"I{spec.index}"], requires=requires)(cls)


class Twins:
    """Two kernels over the same component classes; only `changed` is ever checkpointed."""

    def __init__(self, target: Target, specs: list[Spec]) -> None:
        self.classes = {s.name: make_component(s) for s in specs}
        self.changed, self.untouched = self._boot(target), self._boot(target)
        self.traces: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] = ([], [])

    def _boot(self, target: Target) -> Kernel:
        rt = target.make()
        assert isinstance(rt, Runtime)
        k = Kernel(runtime=rt)
        display = Display()
        for cls in self.classes.values():
            k.instantiate(cls, properties={"display": display})
        k.boot()
        return k

    def both(self, op: Callable[[Kernel], Any]) -> None:
        for k, trace in zip((self.changed, self.untouched), self.traces):
            try:
                trace.append(("result", op(k)))
            except Exception as exc:  # an error is part of the trace, as observable as a result
                trace.append(("raised", type(exc).__name__, str(exc)))

    def checkpoint(self, kind: str, name: str) -> None:
        k = self.changed
        if kind == "restore":
            k.restore(k.snapshot())
        elif kind == "restore_one":
            k.restore({name: k.snapshot()[name]})
        elif kind == "hot_update":
            k.hot_update(self.classes[name])  # the same class: the same version
        else:
            state = k.snapshot()
            k.shutdown()
            k.boot(state=state)

    def observe(self, k: Kernel, trace: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        display: Display = k._specs[next(iter(k._specs))].properties["display"]
        # Everything the effects showed, in the order they showed it, across components too.
        shown = [(key, v) for _, key, v in display.log]
        return [*trace, ("display", shown), ("names", *k.names()), ("snapshot", k.snapshot())]

    def differences(self) -> str | None:
        a = self.observe(self.changed, self.traces[0])
        b = self.observe(self.untouched, self.traces[1])
        if a == b:
            return None
        for x, y in zip(a, b):
            if x != y:
                return f"after the checkpoints {x!r}, never checkpointed {y!r}"
        return f"traces differ in length: {len(a)} vs {len(b)}"


class SnapshotMachine(RuleBasedStateMachine):
    target: ClassVar[Target]

    def __init__(self) -> None:
        super().__init__()
        self.twins: Twins | None = None
        self.script: list[str] = []
        self.names: list[str] = []

    @initialize(raw=SPECS)
    def build(self, raw: list[tuple[list[int], int | None, str, bool, str | None]]) -> None:
        specs = [Spec(i, tuple(inits), None if up is None or i == 0 else up % i, fn, peak, topic)
                 for i, (inits, up, fn, peak, topic) in enumerate(raw)]
        self.script.extend(s.describe() for s in specs)
        self.names = [s.name for s in specs]
        self.twins = Twins(type(self).target, specs)

    def _both(self, what: str, op: Callable[[Kernel], Any]) -> None:
        assert self.twins is not None
        self.script.append(what)
        self.twins.both(op)

    def _pick(self, i: int) -> str:
        return self.names[i % len(self.names)]

    @rule(i=st.integers(0, 7), k=st.integers(0, 1), v=VALUES)
    def write(self, i: int, k: int, v: int) -> None:
        name = self._pick(i)
        self._both(f"invoke {name}.set k={k} v={v}", lambda kn: kn.invoke(f"{name}.set", {"k": k, "v": v}))

    @rule(i=st.integers(0, 7))
    def bump(self, i: int) -> None:
        name = self._pick(i)
        self._both(f"invoke {name}.bump", lambda kn: kn.invoke(f"{name}.bump"))

    @rule(i=st.integers(0, 7))
    def read(self, i: int) -> None:
        name = self._pick(i)
        self._both(f"invoke {name}.read", lambda kn: kn.invoke(f"{name}.read"))

    @rule(topic=st.sampled_from(TOPICS), data=VALUES)
    def publish(self, topic: str, data: int) -> None:
        self._both(f"publish {topic} {data}", lambda kn: kn.publish(topic, data))

    @precondition(lambda self: self.twins is not None)
    @rule(kind=st.sampled_from(["restore", "restore_one", "hot_update", "reboot"]), i=st.integers(0, 7))
    def checkpoint(self, kind: str, i: int) -> None:
        assert self.twins is not None
        name = self._pick(i)
        what = {"restore": "restore(snapshot())", "restore_one": f"restore({{{name!r}: snapshot()[{name!r}]}})",
                "hot_update": f"hot_update({name} v1 -> same class)",
                "reboot": "state = snapshot(); shutdown(); boot(state=state)"}[kind]
        self.script.append(f"checkpoint (first kernel only): {what}")
        try:
            self.twins.checkpoint(kind, name)
        except Exception as exc:
            raise ScriptedFailure(Violation(NAME, "checkpoint-raised", f"{what} raised {exc!r}", len(self.script)),
                                  tuple(self.script)) from exc

    @invariant()
    def same_observable_trace(self) -> None:
        if self.twins is None:
            return
        diff = self.twins.differences()
        if diff is not None:
            raise ScriptedFailure(Violation(NAME, "trace-diverged", diff, len(self.script)), tuple(self.script))


def make_machine(target: Target | str = "glitchless") -> type[SnapshotMachine]:
    t = target if isinstance(target, Target) else load_target(target)
    cls = type("SnapshotMachine_" + "".join(c if c.isalnum() else "_" for c in t.name), (SnapshotMachine,),
               {"target": t, "__module__": __name__})
    return cls


def run_machine(target: Target, *, examples: int, seed: int, steps: int, shrink: bool = True) -> FuzzReport:
    """Run the snapshot machine on `target`; a failure comes back as a readable script, shrunk unless
    `shrink` is False."""
    cls = make_machine(target)
    hypothesis.seed(seed)(cls)
    original = cls.__init__

    def run(report: FuzzReport) -> None:
        def counted(self: SnapshotMachine) -> None:
            report.runs += 1
            original(self)

        cls.__init__ = counted  # type: ignore[method-assign]
        run_state_machine_as_test(cls, settings=quiet_settings(examples, shrink=shrink, stateful_step_count=steps))

    again = (f"glitchless fuzz --target {shlex.quote(target.name)} --checks {NAME} "
             f"--examples {examples} --seed {seed} --steps {steps}")
    return run_own_machine(target, examples=examples, seed=seed, steps=steps, again=again, run=run)
