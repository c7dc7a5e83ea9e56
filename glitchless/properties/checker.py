"""The checker: follows a kernel's trace of one operation, event by event, against the model.

The harness instruments every computed and effect body and every read, and
logs what happens while an operation runs: writes (before they reach the
kernel), body begins and ends, reads and the values they returned, cleanups,
and marks for where a flush starts and where disposals happen. After the
operation, `Monitor.process` walks that trace with the reference model.

Most of the time the model predicts one exact sequence of effect runs. The
one freedom a correct kernel has is a *transient* change: a dependency that
changed and changed back since the effect last ran (written 0 -> 1 -> 0 in a
batch, or a computed that some read recomputed to 1 and a later read back to
0). Version-based kernels (Preact, SolidJS, glitchless) re-run an effect for
that; value-based ones (alien-signals) do not. The checker accepts both: an
effect whose dependencies changed is *due* and must run; one with only
transient changes *may* run; any other run is spurious.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any, Literal, TypeAlias

from glitchless.properties.hooks import Violation
from glitchless.properties.model import AddComputed, AddEffect, AddSignal, NodeSpec, ReferenceModel, same

# -- trace events ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Write:
    signal: int
    value: int
    by: int | None  # the effect that wrote, or None for the caller


@dataclass(frozen=True, slots=True)
class Begin:
    node: int


@dataclass(frozen=True, slots=True)
class End:
    node: int
    result: int | None


@dataclass(frozen=True, slots=True)
class ReadBegin:
    node: int
    by: int | None


@dataclass(frozen=True, slots=True)
class ReadEnd:
    node: int
    value: object
    by: int | None  # the computed/effect whose body read, or None for the caller
    how: Literal["get", "peek", "untracked"]


@dataclass(frozen=True, slots=True)
class CleanupRan:
    effect: int
    run: int


@dataclass(frozen=True, slots=True)
class Mark:
    what: Literal["flush", "create", "dispose", "disposed"]
    node: int | None = None


Event: TypeAlias = Write | Begin | End | ReadBegin | ReadEnd | CleanupRan | Mark

MUST, MAY, NO = 2, 1, 0
Read_: TypeAlias = tuple[int, int, int]  # node, value, clock of the read


@dataclass
class _Run:
    node: int
    start: int
    prev: list[Read_] | None
    reads: list[Read_] = field(default_factory=list)
    justified: bool = True


class Monitor:
    """Checks traces against a `ReferenceModel`, one operation at a time."""

    def __init__(self, model: ReferenceModel) -> None:
        self.model = model
        self.names: list[str] = []
        self.upstream: list[frozenset[int]] = []  # each node and everything it may read, transitively
        self.upstream_signals: list[frozenset[int]] = []  # the signals among those
        self.clock = 0
        self.obs: dict[int, list[Read_]] = {}  # last run's tracked reads, per computed/effect
        self.results: dict[int, list[tuple[int, int]]] = {}  # computed -> (clock, result) of every run
        self.changes: dict[int, list[int]] = {}  # signal -> clocks of value-changing writes
        self.equal_writes: dict[int, list[int]] = {}
        self.runs: dict[int, int] = {}
        self.cleanup_due: dict[int, int] = {}  # effect -> run whose cleanup has not run yet
        self.awaiting: dict[int, int] = {}  # effect -> run whose cleanup ran; the effect must run next
        self._values: list[int | None] | None = None
        # per operation
        self._v: list[Violation] = []
        self._step = 0
        self._phase = "idle"
        self._round: list[int] = []
        self._due: set[int] = set()  # round members that were stale when the round started
        self._pos = 0
        self._open: list[_Run] = []
        self._demand: list[int] = []
        self._ran: list[int] = []
        self._missed: dict[int, str] = {}
        self._disposing: int | None = None
        self._events: list[Event] = []
        self._i = 0

    # -- graph ----------------------------------------------------------

    def add_node(self, spec: NodeSpec) -> int:
        node = self.model.add(spec)
        kind = "s" if isinstance(spec, AddSignal) else "c" if isinstance(spec, AddComputed) else "e"
        self.names.append(f"{kind}{node}")
        up = {node}
        if isinstance(spec, AddComputed | AddEffect):
            for i in spec.inputs:
                up |= self.upstream[i]
        if isinstance(spec, AddEffect):
            if spec.untracked is not None:
                up |= self.upstream[spec.untracked]
            if spec.write is not None and spec.write.kind == "clamp":
                up.add(spec.write.target)
        self.upstream.append(frozenset(up))
        self.upstream_signals.append(frozenset(n for n in up if isinstance(self.model.nodes[n], AddSignal)))
        self._values = None
        return node

    def values(self) -> list[int | None]:
        if self._values is None:
            self._values = self.model.evaluate()
        return self._values

    def _show(self, reads: list[Read_] | list[tuple[int, int]]) -> str:
        return ", ".join(f"{self.names[r[0]]}={r[1]!r}" for r in reads) or "nothing"

    def _signals(self) -> str:
        return ", ".join(f"{self.names[s]}={v!r}" for s, v in sorted(self.model.signals.items()))

    # -- staleness --------------------------------------------------------

    def _transient(self, node: int, value: int, since: int) -> bool:
        if isinstance(self.model.nodes[node], AddSignal):
            return any(t > since for t in self.changes.get(node, ()))
        return any(t > since and not same(r, value) for t, r in self.results.get(node, ()))

    def status(self, effect: int) -> int:
        """MUST (a dependency changed), MAY (only transient changes) or NO."""
        obs = self.obs.get(effect)
        if obs is None:
            return MUST
        vals = self.values()
        if any(not same(_int(vals[n]), v) for n, v, _ in obs):
            return MUST
        if any(self._transient(n, v, t) for n, v, t in obs):
            return MAY
        return NO

    def _touched(self, effect: int) -> bool:
        """Has a signal that something the effect read may depend on changed since it read it?

        A push-pull kernel queues such an effect when the round starts (it *may* need to run)
        and runs it in that round if it turns out stale by its turn - for instance because an
        earlier effect of the round wrote one of its signals. That is a legal round member.
        """
        obs = self.obs.get(effect)
        if obs is None:
            return True
        for n, _, t in obs:
            for sig in self.upstream_signals[n]:
                if any(ct > t for ct in self.changes.get(sig, ())):
                    return True
        return False

    def _why(self, effect: int) -> str:
        obs = self.obs.get(effect)
        if obs is None:
            return "it has never run"
        vals = self.values()
        changed = [f"{self.names[n]} {v!r} -> {vals[n]!r}" for n, v, _ in obs if not same(_int(vals[n]), v)]
        return "it read " + ", ".join(changed)

    # -- processing -------------------------------------------------------

    def process(self, step: int, events: list[Event], phase: str = "idle") -> list[Violation]:
        """Check the trace of one operation (step is its 1-based index); return what it broke."""
        self._v = []
        self._step = step
        self._phase = phase
        self._round = []
        self._due = set()
        self._pos = 0
        self._open = []
        self._demand = []
        self._ran = []
        self._missed = {}
        self._disposing = None
        self._events = events
        handlers = self._handlers
        for i, ev in enumerate(events):
            self._i = i
            self.clock += 1
            handlers[type(ev)](ev)
        self._end_of_operation()
        return self._v

    @property
    def _handlers(self) -> dict[type, Callable[[Any], None]]:
        return {
            ReadEnd: self._read_end,
            ReadBegin: self._read_begin,
            Begin: self._begin,
            End: self._end,
            Write: self._write,
            CleanupRan: self._cleanup,
            Mark: self._mark,
        }

    def _read_begin(self, ev: ReadBegin) -> None:
        self._demand.append(ev.node)

    def _fail(self, prop: str, kind: str, message: str) -> None:
        self._v.append(Violation(prop, kind, message, self._step))

    def _write(self, ev: Write) -> None:
        self._check_awaiting(f"{self.names[ev.signal]} was written")
        if self.model.write(ev.signal, ev.value):
            self.changes.setdefault(ev.signal, []).append(self.clock)
            self._values = None
        else:
            self.equal_writes.setdefault(ev.signal, []).append(self.clock)

    def _mark(self, ev: Mark) -> None:
        if ev.what == "flush":
            self._phase = "flush"
            self._round, self._pos, self._due = [], 0, set()
        elif ev.what == "create":
            assert ev.node is not None
            self._phase = "flush"
            self._round, self._pos, self._due = [ev.node], 0, {ev.node}
        elif ev.what == "dispose":
            assert ev.node is not None
            self.model.dispose(ev.node)
            self._disposing = ev.node
        else:
            assert ev.node is not None
            n = ev.node
            if n in self.cleanup_due:
                self._fail("cleanups", "missing-cleanup-on-dispose",
                           f"{self.names[n]}.dispose() returned without running the cleanup of its run #{self.cleanup_due[n]}")
                del self.cleanup_due[n]
            self.awaiting.pop(n, None)
            self._disposing = None

    def _read_end(self, ev: ReadEnd) -> None:
        if self._demand:
            self._demand.pop()
        expected = self.values()[ev.node]
        ok = isinstance(ev.value, int) and same(ev.value, _int(expected))
        name = self.names[ev.node]
        if not ok:
            if ev.by is None:
                call = {"get": f"{name}.get()", "peek": f"{name}.peek()", "untracked": f"rt.untracked({name}.get)"}[ev.how]
                where = " inside a batch" if self._phase == "batch" else ""
                self._fail("consistency", "stale-read",
                           f"{call}{where} returned {ev.value!r}; with {self._signals()} the model says {expected!r}")
            else:
                self._fail("glitch_freedom", "inconsistent-read",
                           f"a run of {self.names[ev.by]} read {name} = {ev.value!r}, but with the signals as they were "
                           f"({self._signals()}) {name} is {expected!r}")
        if ev.by is not None and ev.how == "get":
            for run in reversed(self._open):
                if run.node == ev.by:
                    seen = ev.value if isinstance(ev.value, int) else -1  # -1: never a model value
                    run.reads.append((ev.node, seen, self.clock))
                    break

    def _demanded(self, node: int) -> bool:
        if any(node in self.upstream[x] for x in self._demand):
            return True
        return any(node in self.upstream[e] for e in self.model.live_effects())

    def _begin(self, ev: Begin) -> None:
        node = ev.node
        spec = self.model.nodes[node]
        run = _Run(node, self.clock, self.obs.get(node))
        if isinstance(spec, AddComputed):
            if not self._demanded(node):
                self._fail("laziness", "unneeded-recompute",
                           f"{self.names[node]} was computed although nothing read it and no live effect depends on it")
        else:
            self._effect_begin(run)
        self._open.append(run)

    def _effect_begin(self, run: _Run) -> None:
        g = run.node
        name = self.names[g]
        self.awaiting.pop(g, None)
        self._check_awaiting(f"{name} ran")
        if g in self.cleanup_due:
            self._fail("cleanups", "missing-cleanup",
                       f"{name} ran again before the cleanup of its run #{self.cleanup_due[g]} ran")
            del self.cleanup_due[g]
        if g in self.model.disposed:
            self._fail("ordering", "run-after-dispose", f"{name} ran after it was disposed")
            return
        if self._open:
            self._fail("ordering", "nested-run",
                       f"{name} ran inside the body of {self.names[self._open[-1].node]} (a flush nested in a run)")
        if self._phase != "flush":
            where = ("inside a batch" if self._phase == "batch"
                     else "outside any flush (only writes, batches and effect creation may run effects)")
            self._fail("ordering", "run-in-batch" if self._phase == "batch" else "run-outside-flush",
                       f"{name} ran {where}")
            return
        status = self.status(g)
        self._place(g)
        run.justified = status != NO

    def _place(self, g: int) -> None:
        rest = self._round[self._pos:]
        if g not in rest:
            self._skip(rest, g)
            # The new round: effects stale now (due: they must run in it) and effects that may be
            # affected (a kernel may run them here if they are stale by their turn, or defer them).
            statuses = {e: self.status(e) for e in self.model.live_effects()}
            self._round = [e for e, st in statuses.items() if st != NO or self._touched(e)]
            self._due = {e for e, st in statuses.items() if st == MUST}
            self._pos = 0
            rest = self._round
            if g not in rest:
                return
        idx = rest.index(g)
        self._skip(rest[:idx], g)
        self._pos += idx + 1

    def _skip(self, effects: list[int], g: int) -> None:
        for e in effects:
            if e not in self._due or e in self.model.disposed or self.status(e) != MUST:
                continue
            if any(isinstance(ev, Begin) and ev.node == e for ev in self._events[self._i + 1:]):
                self._fail("ordering", "out-of-order",
                           f"{self.names[e]} had to run before {self.names[g]} ({self._why(e)}), but ran after it")
            else:
                self._missed.setdefault(e, f"{self.names[e]} had to run before {self.names[g]} ({self._why(e)})")

    def _end(self, ev: End) -> None:
        node = ev.node
        run: _Run | None = None
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].node == node:
                run = self._open.pop(i)
                break
        if run is None:
            return
        spec = self.model.nodes[node]
        name = self.names[node]
        reads = run.reads
        if isinstance(spec, AddComputed):
            prev = run.prev
            if (prev is not None and len(prev) == len(reads)
                    and all(p[0] == r[0] and same(p[1], r[1]) for p, r in zip(prev, reads))
                    and not any(self._transient(n, v, t) for n, v, t in prev)):
                base = f"{name} was recomputed with the same inputs as last time ({self._show(reads)})"
                kind, why = self._why_unchanged(prev)
                self._fail("laziness", kind or "redundant-recompute", f"{base}{why}")
            self.obs[node] = reads
            if ev.result is not None:
                self.results.setdefault(node, []).append((self.clock, ev.result))
            return
        assert isinstance(spec, AddEffect)
        if not run.justified:
            self._classify_spurious(run)
        self.obs[node] = reads
        self._ran.append(node)
        self.runs[node] = self.runs.get(node, 0) + 1
        if spec.cleanup:
            self.cleanup_due[node] = self.runs[node]

    def _why_unchanged(self, prev: list[Read_]) -> tuple[str | None, str]:
        """Name the equality cut-off a needless re-run skipped: a computed input recomputed to an
        equal value, or a signal input set to an equal value, since it was read."""
        for n, v, t in prev:
            if isinstance(self.model.nodes[n], AddComputed):
                later = [r for rt, r in self.results.get(n, ()) if rt > t]
                if later:
                    ident = "" if all(r is v for r in later) else " (equal but not the same object: an identity check?)"
                    return ("missing-cutoff-computed",
                            f": {self.names[n]} recomputed to an equal value{ident}, which must not re-run its dependents")
        for n, _, t in prev:
            for sig in sorted(self.upstream_signals[n]):
                if any(et > t for et in self.equal_writes.get(sig, ())):
                    return ("missing-cutoff-equal-write",
                            f": {self.names[sig]} was set to a value equal to its current one, which must change "
                            "nothing")
        return None, ""

    def _classify_spurious(self, run: _Run) -> None:
        prev = run.prev or []
        name = self.names[run.node]
        base = f"{name} ran although nothing it read had changed (it last read {self._show(prev)})"
        kind, why = self._why_unchanged(prev)
        if kind != "missing-cutoff-computed" and run.node in self._ran:
            kind, why = "repeated-run", ": it ran twice in one flush"
        self._fail("ordering", kind or "spurious-run", base + why)

    def _cleanup(self, ev: CleanupRan) -> None:
        e = ev.effect
        name = self.names[e]
        if self.cleanup_due.get(e) != ev.run:
            after = " after its disposal" if e in self.model.disposed and self._disposing != e else ""
            self._fail("cleanups", "double-cleanup", f"the cleanup of {name}'s run #{ev.run} ran again{after}")
            return
        del self.cleanup_due[e]
        if self._disposing != e:
            self.awaiting[e] = ev.run

    def _check_awaiting(self, what: str) -> None:
        if not self.awaiting:
            return
        for e, run in list(self.awaiting.items()):
            self._fail("cleanups", "cleanup-without-rerun",
                       f"the cleanup of {self.names[e]}'s run #{run} ran, but {what} before {self.names[e]} ran again")
        self.awaiting.clear()

    def _end_of_operation(self) -> None:
        self._check_awaiting("the operation ended")
        for e in self.model.live_effects():
            if self.status(e) != MUST:
                continue
            obs = self.obs.get(e)
            spec = self.model.nodes[e]
            assert isinstance(spec, AddEffect)
            vals = self.values()
            target = None if spec.write is None else spec.write.target
            self_written = obs is not None and target is not None and any(
                target in self.upstream[n] and not same(_int(vals[n]), v) for n, v, _ in obs
            )
            kind = "stale-self-writing-effect" if self_written else "stale-effect"
            self._fail("quiescence", kind,
                       f"after the operation {self.names[e]} is stale: {self._why(e)} and it did not run again")
        for e, why in self._missed.items():
            if e not in self.model.disposed and self.status(e) != MUST:
                self._fail("ordering", "missed-run", f"{why}, but it never ran")


def _int(v: int | None) -> int:
    assert v is not None
    return v
