"""The harness: applies program steps to a kernel, instruments it, and checks every step.

`Session` builds the graph on a runtime-like target with instrumented bodies
(every read, write, run and cleanup is logged), applies operations, and hands
each operation's trace to the checker. It also resolves the machines'
abstract choices ("the 3rd readable node") into concrete steps, so that the
program it records can be printed and replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from glitchless.properties.checker import Begin, CleanupRan, End, Event, Mark, Monitor, ReadBegin, ReadEnd, Write
from glitchless.properties.hooks import StepContext, Violation, extra_checks
from glitchless.properties.model import (
    AddComputed,
    AddEffect,
    AddSignal,
    Copy,
    EffectWrite,
    ReferenceModel,
    apply,
    arity_range,
    same,
)
from glitchless.properties.program import Batch, Dispose, Program, Read, Set, Step, describe_step, node_names
from glitchless.properties.targets import RuntimeLike

# Abstract batch operations, as the machines draw them (indices are resolved modulo the
# number of candidates when the batch is applied):
#   ("set", signal_pick, value)  ("same", signal_pick)  ("copy", signal_pick)
#   ("read", node_pick, how)     ("dispose", effect_pick)  ("batch", [ops...])
AbstractOp = tuple[Any, ...]

HOWS: tuple[Literal["get", "peek", "untracked"], ...] = ("get", "peek", "untracked")


class InvalidStep(ValueError):
    """A step that does not fit the graph built so far (only replayed programs can contain one)."""


class Session:
    """One kernel runtime driven step by step and checked against the reference model."""

    def __init__(
        self,
        runtime: RuntimeLike,
        domain: int = 3,
        checks: Iterable[str] | None = None,
        unsupported: frozenset[str] = frozenset(),
        exclude: Iterable[str] = (),
    ) -> None:
        self.rt = runtime
        self.exclude = frozenset(exclude)  # property/kind labels to ignore
        self.domain = domain
        self.checks = None if checks is None else frozenset(checks)
        self.unsupported = unsupported
        self.model = ReferenceModel(domain)
        self.monitor = Monitor(self.model)
        self.steps: list[Step] = []
        self.handles: list[Any] = []
        self.kinds: list[str] = []
        self.specs: list[AddSignal | AddComputed | AddEffect] = []
        self.live: set[int] = set()
        self.current: dict[int, int] = {}  # what each signal holds, as written (same objects)
        self.writer: dict[int, int] = {}  # signal -> the live effect that writes it
        self.events: list[Event] = []
        self.broken: str | None = None
        self.runs: dict[int, int] = {}
        self.violations: list[Violation] = []

    # -- program ----------------------------------------------------------

    @property
    def program(self) -> Program:
        return Program(self.domain, tuple(self.steps))

    def enabled(self, v: Violation) -> bool:
        if v.label in self.exclude:
            return False
        return self.checks is None or v.property in self.checks or v.label in self.checks

    def run(self, steps: Iterable[Step]) -> list[Violation]:
        """Apply every step; return every enabled violation (the session goes on after one)."""
        found: list[Violation] = []
        for step in steps:
            found.extend(self.apply(step))
        return found

    def apply(self, step: Step) -> list[Violation]:
        """Apply one concrete step, check it, and return the enabled violations it caused."""
        index = len(self.steps) + 1
        if self.broken is not None:
            self.steps.append(step)
            return []
        self.events = []
        phase = "batch" if isinstance(step, Batch) else "idle"
        try:
            executed = self._execute(step, top=True)
        except InvalidStep:
            raise
        except Exception as exc:
            self.steps.append(step)
            names = node_names(self.steps)
            what = " ".join(line.strip() for line in describe_step(step, names, len(self.kinds) - 1))
            self.broken = f"{type(exc).__name__}: {exc}"
            found = [Violation("no_errors", "kernel-raised", f"`{what}` raised {self.broken}", index)]
            found = [v for v in found if self.enabled(v)]
            self.violations.extend(found)
            return found
        self.steps.append(executed)
        found = self.monitor.process(index, self.events, phase)
        if extra_checks():
            ctx = StepContext(self.rt, self.handles, self.model, self.steps, index)
            for info, check in extra_checks():
                if self.checks is None or info.name in self.checks:
                    found.extend(check(ctx))
        found = [v for v in found if self.enabled(v)]
        self.violations.extend(found)
        self.events = []
        return found

    # -- what the machines may pick from -----------------------------------

    def _of_kind(self, kind: str) -> list[int]:
        return [n for n in sorted(self.live) if self.kinds[n] == kind]

    def readable(self) -> list[int]:
        return [n for n in sorted(self.live) if self.kinds[n] != "effect"]

    def signals(self) -> list[int]:
        return self._of_kind("signal")

    def effects(self) -> list[int]:
        return self._of_kind("effect")

    def free_signals(self) -> list[int]:
        """Signals no live effect writes (each signal has at most one effect writing it)."""
        return [s for s in self.signals() if s not in self.writer]

    def disposable_computeds(self) -> list[int]:
        """Live computeds no live node may read."""
        needed: set[int] = set()
        for n in self.live:
            spec = self.specs[n]
            if isinstance(spec, AddComputed | AddEffect):
                needed.update(spec.inputs)
            if isinstance(spec, AddEffect) and spec.untracked is not None:
                needed.add(spec.untracked)
        return [c for c in self._of_kind("computed") if c not in needed]

    @property
    def node_count(self) -> int:
        return len(self.kinds)

    # -- resolving abstract choices into steps -----------------------------

    def _inputs(self, fn: str, picks: Sequence[int]) -> tuple[int, ...]:
        pool = self.readable()
        lo, hi = arity_range(fn)
        chosen = [pool[p % len(pool)] for p in picks[:hi]]
        while len(chosen) < lo:
            chosen.append(chosen[len(chosen) % max(1, len(picks))])
        return tuple(chosen)

    def computed_step(self, fn: str, picks: Sequence[int]) -> AddComputed:
        return AddComputed(fn, self._inputs(fn, picks))

    def effect_step(
        self,
        fn: str,
        picks: Sequence[int],
        cleanup: bool,
        write: tuple[Literal["const", "clamp"], int, int] | None,
        untracked: int | None,
    ) -> AddEffect:
        w = None
        if write is not None and self.free_signals():
            kind, pick, value = write
            free = self.free_signals()
            w = EffectWrite(free[pick % len(free)], kind, value)
        pool = self.readable()
        u = None if untracked is None else pool[untracked % len(pool)]
        return AddEffect(fn, self._inputs(fn, picks), cleanup and "cleanups" not in self.unsupported, w, u)

    def batch_step(self, ops: Sequence[AbstractOp]) -> Batch:
        live_effects = self.effects()
        return self._resolve_batch(ops, live_effects)

    def _resolve_batch(self, ops: Sequence[AbstractOp], live_effects: list[int]) -> Batch:
        out: list[Step] = []
        sigs = self.signals()
        pool = self.readable()
        for op in ops:
            kind = op[0]
            if kind == "set" and sigs:
                out.append(Set(sigs[op[1] % len(sigs)], op[2]))
            elif kind in ("same", "copy") and sigs:
                out.append(Set(sigs[op[1] % len(sigs)], 0, kind))
            elif kind == "read" and pool:
                out.append(Read(pool[op[1] % len(pool)], op[2]))
            elif kind == "dispose" and live_effects:
                out.append(Dispose(live_effects.pop(op[1] % len(live_effects))))
            elif kind == "batch":
                out.append(self._resolve_batch(op[1], live_effects))
        return Batch(tuple(out))

    # -- executing ----------------------------------------------------------

    def _log(self, ev: Event) -> None:
        self.events.append(ev)

    def _execute(self, step: Step, top: bool) -> Step:
        if isinstance(step, AddSignal | AddComputed | AddEffect):
            self._check_spec(step)
            node = self.monitor.add_node(step)
            self.specs.append(step)
            self.live.add(node)
            self.handles.append(None)
            if isinstance(step, AddSignal):
                self.kinds.append("signal")
                self.current[node] = step.init
                self.handles[node] = self.rt.signal(step.init)
            elif isinstance(step, AddComputed):
                self.kinds.append("computed")
                self.handles[node] = self.rt.computed(self._computed_body(node, step))
            else:
                self.kinds.append("effect")
                if step.write is not None:
                    self.writer[step.write.target] = node
                self._log(Mark("create", node))
                self.handles[node] = self.rt.effect(self._effect_body(node, step))
            return step
        if isinstance(step, Set):
            self._check_node(step.signal, "signal")
            old = self.current[step.signal]
            if step.mode == "same":
                value, recorded = old, Set(step.signal, int(old), "same")
            elif step.mode == "copy":
                value = Copy(old)
                recorded = Set(step.signal, int(old), "copy")
            else:
                value, recorded = step.value, step
            self._write(step.signal, value, None, flush=top)
            return recorded
        if isinstance(step, Read):
            self._check_node(step.node, "readable")
            self._read(None, step.node, step.how)
            return step
        if isinstance(step, Dispose):
            self._check_node(step.node, "effect" if not top else "disposable")
            node = step.node
            self._log(Mark("dispose", node))
            self.live.discard(node)
            spec = self.specs[node]
            if isinstance(spec, AddEffect) and spec.write is not None and self.writer.get(spec.write.target) == node:
                del self.writer[spec.write.target]
            self.handles[node].dispose()
            self._log(Mark("disposed", node))
            return step
        inner: list[Step] = []
        with self.rt.batch():
            for s in step.steps:
                if isinstance(s, AddSignal | AddComputed | AddEffect):
                    raise InvalidStep("nodes are created outside batches")
                inner.append(self._execute(s, top=False))
            if top:
                self._log(Mark("flush"))
        return Batch(tuple(inner))

    def _check_spec(self, spec: AddSignal | AddComputed | AddEffect) -> None:
        """Refuse replayed programs that build what the machines never would."""
        if isinstance(spec, AddSignal):
            return
        lo, hi = arity_range(spec.fn)
        if not lo <= len(spec.inputs) <= hi:
            raise InvalidStep(f"{spec.fn} takes {lo}..{hi} inputs, got {len(spec.inputs)}")
        for i in spec.inputs:
            self._check_node(i, "readable")
        if isinstance(spec, AddEffect):
            if spec.untracked is not None:
                self._check_node(spec.untracked, "readable")
            if spec.write is not None:
                self._check_node(spec.write.target, "signal")
                if spec.write.target in self.writer:
                    raise InvalidStep(f"signal {spec.write.target} already has a live writing effect")
            if spec.cleanup and "cleanups" in self.unsupported:
                raise InvalidStep("this target does not support cleanups")

    def _check_node(self, node: int, what: str) -> None:
        ok = 0 <= node < len(self.kinds) and node in self.live
        if ok and what == "signal":
            ok = self.kinds[node] == "signal"
        elif ok and what == "readable":
            ok = self.kinds[node] != "effect"
        elif ok and what == "effect":
            ok = self.kinds[node] == "effect"
        elif ok and what == "disposable":
            ok = self.kinds[node] == "effect" or (
                node in self.disposable_computeds() and "dispose_computed" not in self.unsupported
            )
        if not ok:
            raise InvalidStep(f"node {node} is not a live {what} node here")

    def _write(self, signal: int, value: int, by: int | None, flush: bool = False) -> None:
        self._log(Write(signal, value, by))
        if flush:
            self._log(Mark("flush"))
        if not same(self.current[signal], value):
            self.current[signal] = value
        self.handles[signal].set(value)

    def _read(self, by: int | None, node: int, how: Literal["get", "peek", "untracked"]) -> int:
        self._log(ReadBegin(node, by))
        h = self.handles[node]
        v = h.get() if how == "get" else h.peek() if how == "peek" else self.rt.untracked(h.get)
        self._log(ReadEnd(node, v, by, how))
        return v if isinstance(v, int) else 0

    def _computed_body(self, node: int, spec: AddComputed) -> Callable[[], int]:
        inputs, fn, modulus = spec.inputs, spec.fn, self.domain

        def body() -> int:
            self._log(Begin(node))
            result = apply(fn, len(inputs), lambda i: self._read(node, inputs[i], "get"), modulus)
            self._log(End(node, result))
            return result

        return body

    def _effect_body(self, node: int, spec: AddEffect) -> Callable[[], Callable[[], None] | None]:
        inputs, fn, modulus = spec.inputs, spec.fn, self.domain

        def body() -> Callable[[], None] | None:
            self._log(Begin(node))
            apply(fn, len(inputs), lambda i: self._read(node, inputs[i], "get"), modulus)
            if spec.untracked is not None:
                self._read(node, spec.untracked, "untracked")
            w = spec.write
            if w is not None:
                value = w.value
                if w.kind == "clamp":
                    value = min(self._read(node, w.target, "get"), w.value)
                self._write(w.target, value, node)
            run = self.runs[node] = self.runs.get(node, 0) + 1
            self._log(End(node, None))
            if not spec.cleanup:
                return None

            def cleanup() -> None:
                self._log(CleanupRan(node, run))

            return cleanup

        return body

    def close(self) -> None:
        """Dispose every live effect (unchecked), so peers with global state let go of them."""
        for e in self.effects():
            try:
                self.handles[e].dispose()
            except Exception:
                pass
        self.live -= set(self.effects())
