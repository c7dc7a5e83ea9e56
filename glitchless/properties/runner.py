"""The runner: one program, driven on a target and on the model side by side, step by step.

For every step the model says which events a correct kernel logs (effect
runs and their reads, writes, disposals, cleanups, errors, the caller's reads)
and what the step raises; the target, running the same node bodies, logs what
it does. The first event where the two logs differ is the bug: `classify`
names the first property it breaks. Computed runs are a kernel's own business
(S6 lets them recompute whenever a source was written), so they are checked
apart: each must read values of one settled assignment (glitch freedom), run
only when something reads (laziness) and never with unchanged inputs.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import sys
import threading
from contextlib import AbstractContextManager, nullcontext
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from glitchless.properties.hooks import StepContext, Violation, extra_checks
from glitchless.properties.model import (
    CALLER,
    Boom,
    EQUALS,
    Event,
    Halt,
    STRICT_REFUSAL,
    IntCopy,
    Key,
    Model,
    computed_body,
    effect_body,
    leaf_keys,
    read_key,
    try_read,
    unchecked_read,
    value_key,
)
from glitchless.properties.program import (
    NODE_TYPES,
    AddComputed,
    AddEffect,
    AddSignal,
    Batch,
    Dispose,
    DisposeScope,
    Flush,
    FlushOrder,
    Misuse,
    NodeSpec,
    Program,
    Read,
    ScopeCleanup,
    Set,
    Step,
    Track,
    arity_range,
    describe_step,
    node_names,
)
from glitchless.properties.targets import Target, load_target


CYCLE_KEY = ("!", "CycleError", "")
NOT_COMPARED = ("?",)  # read_key's value for a foreign read it does not compare


class UnnamedError(Exception):
    """A kernel error that does not name the node it is about, although the node has a name."""


class InvalidStep(ValueError):
    """A step that does not fit the graph built so far, or needs a feature the target lacks."""


def features_of(step: Step) -> set[str]:
    """The optional target features a step uses (see targets.FEATURES)."""
    if isinstance(step, Batch):
        return set().union(*(features_of(s) for s in step.steps)) | {"batch"}
    if isinstance(step, AddSignal):
        return {"equals"} if step.equals else set()
    if isinstance(step, AddComputed):
        return ({"equals"} if step.equals else set()) | _op_features(step)
    if isinstance(step, AddEffect):
        return ({"cleanups"} if step.cleanup else set()) | ({"untracked"} if step.untracked is not None else set()) | (
            _op_features(step))
    if isinstance(step, Set):
        return {"update"} if step.mode == "update" else {"threads", "update"} if step.mode == "thread_update" else (
            {"threads"} if step.mode == "thread" else set())
    if isinstance(step, Read):
        return {"peek"} if step.how == "peek" else {"untracked"} if step.how == "untracked" else _HOW_FEATURE.get(
            step.how, set())
    if isinstance(step, Misuse):
        return {"on_cleanup"} if step.kind.startswith("cleanup") else {"dispose_computed"} if step.kind.startswith(
            "dispose") else set()
    return {DisposeScope: {"scope"}, ScopeCleanup: {"scope", "on_cleanup"}, FlushOrder: {"flush_order"},
            Track: {"track"}, Flush: {"track"}}.get(type(step), set())


_HOW_FEATURE = {"peek": {"peek"}, "untracked": {"untracked"}, "block": {"untracked_block"}, "thread": {"threads"}}


def _op_features(step: AddComputed | AddEffect) -> set[str]:
    """The features of the operations a node body does besides its reads (see targets.FEATURES)."""
    found = set(_HOW_FEATURE[step.hidden_how]) if step.hidden is not None else set()
    found |= {"scope"} if step.scope is not None else set()
    if isinstance(step, AddEffect):
        found |= ({"on_cleanup"} if step.on_cleanup else set()) | ({"current_effect"} if step.current else set())
    return found


def refs(step: Step) -> list[tuple[int, str]]:
    """The nodes a step refers to, with the kind each must be ("readable", "signal", "disposable")."""
    if isinstance(step, AddComputed):
        return [(i, "readable") for i in step.inputs] + ([(step.hidden, "readable")] if step.hidden is not None else [])
    if isinstance(step, AddEffect):
        out = [(i, "readable") for i in step.inputs]
        out += [(step.hidden, "readable")] if step.hidden is not None else []
        out += [(step.untracked, "readable")] if step.untracked is not None else []
        out += [(step.write.target, "signal")] if step.write is not None else []
        return out + [(n, "disposable") for n in (step.disposes, step.cleanup_disposes) if n is not None]
    if isinstance(step, Set):
        return [(step.signal, "signal")]
    if isinstance(step, Read):
        return [(step.node, "readable")]
    if isinstance(step, Dispose):
        return [(step.node, "disposable")]
    if isinstance(step, Batch):
        return [r for s in step.steps for r in refs(s)]
    if isinstance(step, FlushOrder):
        return [(step.effect, "effect")]
    if isinstance(step, Track):
        return [(step.effect, "effect"), (step.node, "readable")] + (
            [(step.sets, "signal")] if step.sets is not None else [])
    if isinstance(step, Misuse) and step.kind == "write_in_computed":
        return [(step.signal, "signal")]
    return []


class Session:
    """A target runtime and the model, driven by the same steps; `apply` checks each."""

    def __init__(self, target: Target | str, domain: int = 3, checks: Iterable[str] | None = None) -> None:
        self.target = target if isinstance(target, Target) else load_target(target)
        self.rt = self.target.make()
        self.domain = domain
        self.checks = None if checks is None else frozenset(checks)
        self.model = Model(domain, self.target.max_rounds)
        self.steps: list[Step] = []
        self.handles: list[Any] = []
        self.specs: list[NodeSpec] = []
        self.events: list[Event] = []
        self.side: list[Event] = []  # computed runs and their reads
        self.active = 0  # caller reads, effect runs and computed runs in progress
        self.in_batch = False
        self.last_run: dict[int, tuple[int, tuple[int, ...]]] = {}  # computed -> (step, upstream changes) of its last run
        self.before: tuple[list[int], set[int]] = ([], set())  # the model's change counts before this step
        self.broken = False  # target and model diverged: later steps are not checked
        self.scopes: dict[int, Any] = {}  # rt.scope() objects, made when first used
        self.scope_cleanups = 0  # rt.on_cleanup fns registered on scopes so far (each logs its number)
        self.foreign = 0  # reads from a foreign thread in progress: their computed runs are not checked
        self.first_current: dict[int, Any] = {}  # effect -> rt.current_effect() during its first run
        self.violations: list[Violation] = []
        # A glitchless Runtime (it has the layers built on one): its nodes get names, which its error
        # messages and reprs must show (the contract: "each message names the node when it has a name").
        self.named = self.model.named = bool(self.target.layers) or _glitchless_copy(self.rt)
        self.kernel_errors: list[BaseException] = []  # what reads and the step raised, for name_checks

    @property
    def program(self) -> Program:
        return Program(self.domain, tuple(self.steps))

    # -- the Api the node bodies use, on the target ---------------------------------

    def log(self, event: Event) -> None:
        if self.foreign and (event[0] == "crun" or (event[0] == "read" and event[1] != CALLER)):
            return  # a foreign thread's evaluation caches nothing (rule 9): not a run to check
        if event[0] == "crun":  # who else is running, and are we inside a batch's body
            self.side.append(("crun", event[1], self.active - 1, self.in_batch))
        elif (event[0] == "read" and event[1] != CALLER
                                  and isinstance(self.specs[event[1]], AddComputed)):
            self.side.append(event)
        else:
            self.events.append(event)

    def read(self, by: int, node: int, how: str = "get") -> Any:
        h = self.handles[node]
        try:
            v = h.get() if how == "get" else h.peek() if how == "peek" else self.rt.untracked(h.get) if (
                how == "untracked") else self.read_block(h) if how == "block" else self.read_foreign(h)
        except Exception as exc:
            self.log(("read", by, node, read_key(self.specs, node, exc, how)))
            if self.named:
                self.kernel_errors.append(exc)
            raise
        self.log(("read", by, node, read_key(self.specs, node, v, how)))
        return v

    def read_block(self, h: Any) -> Any:
        with self.rt.untracked():  # type: ignore[call-arg]
            return h.get()

    def read_foreign(self, h: Any) -> Any:
        """h.get() on a new thread, joined at once (rule 9: isolated, never subscribes or caches). Inside
        a foreign evaluation it is on a foreign thread already: read there, where a cycle is caught, not
        on yet another thread for every turn of it."""
        return h.get() if self.foreign else self.on_thread(h.get)

    def on_thread(self, fn: Callable[[], Any]) -> Any:
        """fn() on a new thread, joined at once; its result or exception, here."""
        out: list[tuple[bool, Any]] = []

        def run() -> None:
            try:
                out.append((True, fn()))
            except BaseException as exc:  # an interrupt (Halt) too: raised again on the caller's thread
                out.append((False, exc))

        thread = threading.Thread(target=run, name="glitchless-foreign-read")
        self.foreign += 1
        try:
            thread.start()
            thread.join()
        finally:
            self.foreign -= 1
        ok, v = out[0]
        if not ok:
            raise v
        return v

    def on_cleanup(self, node: int, fn: Callable[[], None]) -> None:
        self.rt.on_cleanup(fn)  # type: ignore[attr-defined]

    def current(self, node: int) -> bool:
        """Is rt.current_effect() the running effect? In its first run (no handle yet): an effect, no other's."""
        cur = self.rt.current_effect()  # type: ignore[attr-defined]
        if node not in self.first_current:
            self.first_current[node] = cur
            return cur is not None and all(cur is not h for i, h in enumerate(self.handles) if i != node)
        return cur is self.handles[node]

    def scope(self, k: int | None) -> AbstractContextManager[Any]:
        if k is None:
            return nullcontext()
        if k not in self.scopes:
            try:
                self.scopes[k] = self.rt.scope(name=f"x{k}")  # type: ignore[attr-defined]
            except TypeError:  # a scope without names
                self.scopes[k] = self.rt.scope()  # type: ignore[attr-defined]
        return self.scopes[k]  # type: ignore[no-any-return]

    def named_scope_errors(self, k: int, fn: Callable[[], None]) -> None:
        """fn(); the contract's errors name their node when it has one: the ReactiveError of entering a
        disposed scope must name the scope, or this raises UnnamedError instead. (Not a group raised
        by its dispose(): that may be a flush's group, about effects.)"""
        try:
            fn()
        except Exception as exc:
            name = getattr(self.scopes.get(k), "name", None)
            if name and type(exc).__name__ == "ReactiveError" and f"'{name}'" not in str(exc):
                raise UnnamedError(f"the error does not name scope {name!r}: {exc}") from exc
            raise

    def write(self, signal: int, value: Any) -> None:
        self.handles[signal].set(value)

    def dispose(self, node: int) -> None:
        if self.handles[node] is not None:  # None: an effect whose creation raised (no handle)
            self.handles[node].dispose()

    def _own_handle(self, node: int, fn: Callable[[], Any]) -> Callable[[], Any]:
        """During its creation an effect has no handle yet; a kernel that gives an effect its own
        (`current_effect`) lets a cleanup of that first run dispose it, as the model does."""
        current = getattr(self.rt, "current_effect", None)
        if current is None:
            return fn

        def run() -> Any:
            if self.handles[node] is None:
                self.handles[node] = current()
            return fn()
        return run

    def _counted(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            self.active += 1
            try:
                return fn()
            finally:
                self.active -= 1

        return run

    # -- steps ----------------------------------------------------------------------

    def run(self, steps: Iterable[Step]) -> list[Violation]:
        found: list[Violation] = []
        for step in steps:
            found.extend(self.apply(step))
        return found

    def validate(self, step: Step) -> None:
        n = len(self.specs)
        for node, kind in refs(step):
            own = isinstance(step, AddEffect) and node == n and kind == "disposable"
            if not (0 <= node < n or own):
                raise InvalidStep(f"node {node} does not exist yet")
            spec = step if own else self.specs[node]
            ok = {"readable": not isinstance(spec, AddEffect), "signal": isinstance(spec, AddSignal),
                  "disposable": not isinstance(spec, AddSignal), "effect": isinstance(spec, AddEffect)}[kind]
            if not ok:
                raise InvalidStep(f"node {node} is not a {kind} node")
            if kind == "disposable" and isinstance(spec, AddComputed) and "dispose_computed" in self.target.unsupported:
                raise InvalidStep(f"{self.target.name} cannot dispose computeds")
        if isinstance(step, AddComputed | AddEffect):
            lo, hi = arity_range(step.fn)
            if not lo <= len(step.inputs) <= hi:
                raise InvalidStep(f"{step.fn} takes {lo}..{hi} inputs, got {len(step.inputs)}")
        if isinstance(step, Batch) and any(isinstance(s, NODE_TYPES) for s in step.steps):
            raise InvalidStep("nodes are created outside batches")
        lacking = features_of(step) & self.target.unsupported
        if lacking:
            raise InvalidStep(f"{self.target.name} does not support {', '.join(sorted(lacking))}")
        self.validate_op(step)

    def validate_op(self, step: Step) -> None:
        """The operations' own conditions: a live scope to create in, distinct negative orders, a live
        effect to track."""
        if isinstance(step, Batch):
            for inner in step.steps:
                self.validate_op(inner)
        if isinstance(step, AddComputed | AddEffect) and step.scope in self.model.scopes_disposed:
            raise InvalidStep(f"scope{step.scope} is disposed: nothing is created in it")
        if isinstance(step, FlushOrder) and (step.order >= 0 or step.order in [
                o for e, o in self.model.order.items() if e != step.effect]):
            raise InvalidStep(f"flush order {step.order}: orders are negative and differ between effects")
        if isinstance(step, Track) and (step.effect in self.model.disposed or self.handles[step.effect] is None):
            raise InvalidStep(f"effect {step.effect} is disposed: rt.track needs a live effect")
        if isinstance(step, Batch) and any(isinstance(s, Track) for s in step.steps):
            raise InvalidStep("rt.track is called outside batches")
        if isinstance(step, Misuse) and not self.named:
            raise InvalidStep("misuse is checked against glitchless's own errors, and this target is not glitchless")

    def apply(self, step: Step) -> list[Violation]:
        """Apply one step to both; return the enabled violations it shows (at most one)."""
        self.validate(step)
        self.steps.append(step)
        index = len(self.steps)
        if self.broken:
            return []
        self.before = (list(self.model.changes), set(self.model.disposed))
        expected, raised = self.model.step(step)
        self.events, self.side = [], []
        self.kernel_errors = []
        try:
            self.execute(step)
            got: tuple[Key, ...] = ()
        except Exception as exc:
            got = leaf_keys(exc)
            self.kernel_errors.append(exc)
        except BaseException as exc:  # a generated interrupt (S3), maybe in a group; anything else goes on
            if not generated_interrupt(exc):
                raise
            got = leaf_keys(exc)
        found = []
        want = expected + [("op", raised)]
        have = self.events + [("op", got)]
        if want != have:
            self.broken = True
            found.append(classify(want, have, self, index))
        else:
            found.extend(self.computed_checks(index))
            if self.named:
                found.extend(self.name_checks(index, step))
                found.extend(self.subscription_checks(index))
            if extra_checks():
                ctx = StepContext(self.rt, self.handles, self.model, self.steps, index)
                for info, check in extra_checks():
                    found.extend(check(ctx))
        found = [v for v in found if self.enabled(v)][:1]
        self.violations.extend(found)
        return found

    def enabled(self, v: Violation) -> bool:
        return self.checks is None or v.property in self.checks or v.label in self.checks

    def execute(self, step: Step) -> None:
        if isinstance(step, NODE_TYPES):
            node = len(self.specs)
            self.specs.append(step)
            self.handles.append(None)
            kw = {"equals": EQUALS[step.equals]} if not isinstance(step, AddEffect) and step.equals else {}
            if self.named:
                kw["name"] = f"{type(step).__name__[3].lower()}{node}"  # type: ignore[assignment]
            if isinstance(step, AddSignal):
                self.handles[node] = self.rt.signal(step.init, **kw)
            elif isinstance(step, AddComputed):
                with self.scope(step.scope):
                    self.handles[node] = self.rt.computed(self._counted(computed_body(self, node, step)), **kw)
            else:
                with self.scope(step.scope):
                    self.handles[node] = self.rt.effect(
                        self._counted(self._own_handle(node, effect_body(self, node, step))), **kw)
                first = self.first_current.get(node)
                if step.current and first is not None and first is not self.handles[node]:
                    self.log(("current", node, False))  # its first run saw another object than rt.effect returned
        elif isinstance(step, DisposeScope | ScopeCleanup | FlushOrder | Track | Flush):
            self.execute_op(step)
        elif isinstance(step, Set) and step.mode in ("thread", "thread_update"):
            h = self.handles[step.signal]
            new = step.value
            self.on_thread(lambda: h.update(lambda _: new) if step.mode == "thread_update" else h.set(new))
        elif isinstance(step, Set):
            h = self.handles[step.signal]
            if step.mode == "update":
                h.update(lambda _: step.value)
            else:
                value = {"copy": IntCopy(step.value), "float": float(step.value)}.get(step.mode, step.value)
                h.set(self.rt.untracked(h.get) if step.mode == "same" else value)
        elif isinstance(step, Read) and unchecked_read(self.specs, step):
            try_read(lambda: self.read(CALLER, step.node, step.how))
        elif isinstance(step, Read):
            self._counted(lambda: self.read(CALLER, step.node, step.how))()
        elif isinstance(step, Dispose):
            self.dispose(step.node)
        elif isinstance(step, Misuse):
            self.misuse(step)
        else:
            outer = self.in_batch
            with self.rt.batch():
                self.in_batch = True
                try:
                    for inner in step.steps:
                        self.execute(inner)
                finally:
                    self.in_batch = outer

    def misuse(self, step: Misuse) -> None:
        rt: Any = self.rt
        if step.kind == "cleanup_outside":
            rt.on_cleanup(lambda: None)
        elif step.kind == "cleanup_not_callable":
            rt.on_cleanup(3)
        elif step.kind == "cancel_sync":
            rt.effect(lambda: None, cancel_on_supersede=True)
        elif step.kind == "write_in_computed":
            h = self.handles[step.signal]
            rt.computed(lambda: h.set(0), name="m0").get()
        else:
            box: list[Any] = []
            box.append(rt.computed(lambda: box[0].dispose(), name="m0"))
            box[0].get()

    # -- names in messages -------------------------------------------------------------

    def name_checks(self, index: int, step: Step) -> list[Violation]:
        """A new node's repr names it; every kernel error seen names its node (DisposedError: a
        disposed computed; RunawayEffectError: an effect); a computed's error keeps the traceback
        of the fn that raised it (rule 6: errors lose nothing)."""
        names = node_names(self.steps)
        found: list[Violation] = []

        def v(message: str, kind: str = "unnamed-node") -> None:
            found.append(Violation("errors", kind, message, index))

        if isinstance(step, NODE_TYPES) and self.handles[-1] is not None:
            node, h = len(self.handles) - 1, self.handles[-1]
            want = (f"Signal({names[node]}={step.init!r})" if isinstance(step, AddSignal)
                    else f"{type(step).__name__[3:]}({names[node]})")
            if repr(h) != want:
                v(f"repr({names[node]}) is {repr(h)!r}, not {want!r}")
        for exc in self.kernel_errors:
            for err in _all_errors(exc):
                forms = KERNEL_MESSAGES.get(type(err).__name__)
                text = err.message if isinstance(err, BaseExceptionGroup) else str(err)
                listed = forms is not None and any(re.fullmatch(form, text) for form in forms)
                if isinstance(err, RecursionError):  # no generated graph is deep: a cycle went undetected
                    v(f"a read recursed until Python's limit instead of raising CycleError: {str(err)!r}", "recursion")
                elif _kernel_crash(err, self.rt) and not listed:
                    v(f"the kernel's own code raised {type(err).__name__}: {str(err)!r}", "kernel-crash")
                if forms is not None and not listed:
                    v(f"{type(err).__name__} reads {text!r}, none of the contract's messages for it", "wrong-message")
            if isinstance(step, Misuse):  # the one message it must raise (its computed "m0" is no node of the program)
                want = misuse_message(step, names)
                if str(exc) != want:
                    v(f"{type(exc).__name__} reads {str(exc)!r}, not the contract's {want!r}", "wrong-message")
                continue
            for leaf in _leaves(exc):
                what = type(leaf).__name__
                if what == "Boom" and re.fullmatch(r"c\d+ failed", str(leaf)) and not _raised_in_body(leaf):
                    v(f"the error of {str(leaf).split()[0]} lost the traceback of the fn that raised it", "lost-traceback")
                kind = {"DisposedError": "computed", "RunawayEffectError": "effect", "CycleError": "computed"}.get(what)
                if kind is None:
                    continue
                named = re.findall(kind + r" '([a-z]\d+)'", str(leaf))
                if not named or not set(named) <= set(names):
                    v(f"{what} names no {kind} of the program: {str(leaf)!r}")
                elif what == "DisposedError" and not any(names.index(n) in self.model.disposed for n in named):
                    v(f"DisposedError names no disposed computed: {str(leaf)!r}")
        return found

    def subscription_checks(self, index: int) -> list[Violation]:
        """Rule 2 and 7, on glitchless and its copies: a node's subscribers are exactly the live effects and
        observed computeds whose last run read it; nothing unobserved or disposed stays subscribed (a leak),
        nothing observed is missing (it would miss changes)."""
        names = node_names(self.steps)
        model = self.model
        at = {id(h): k for k, h in enumerate(self.handles) if h is not None}
        readers: dict[int, set[int]] = {}  # node -> the live nodes whose last run read it
        for m, deps in enumerate(model.deps):
            if m not in model.disposed:
                for d, _ in deps:
                    readers.setdefault(d, set()).add(m)
        # The observed nodes: upstream of a live effect through live readers (one pass, not one per node).
        todo = [m for m, spec in enumerate(self.specs) if isinstance(spec, AddEffect) and m not in model.disposed]
        observed = set(todo)
        while todo:
            for d, _ in model.deps[todo.pop()]:
                if d not in observed and d not in model.disposed:
                    observed.add(d)
                    todo.append(d)
        for node, h in enumerate(self.handles):
            subs = getattr(h, "_subs", None)
            if h is None or node in model.disposed or isinstance(self.specs[node], AddEffect):
                continue
            have = {at.get(id(m), -1) for m in subs or ()}
            want = readers.get(node, set()) & observed
            if have != want:
                shown = ["{" + ", ".join(names[k] if k >= 0 else "?" for k in sorted(ks)) + "}" for ks in (have, want)]
                return [Violation("laziness", "subscriptions", f"{names[node]} has subscribers {shown[0]}, "
                                  f"but {shown[1]} observe it", index)]
        return []

    def execute_op(self, step: DisposeScope | ScopeCleanup | FlushOrder | Track | Flush) -> None:
        rt: Any = self.rt
        if isinstance(step, FlushOrder):
            rt.set_flush_order(self.handles[step.effect], step.order)
        elif isinstance(step, Flush):
            rt.flush()
        elif isinstance(step, Track):
            def tracked() -> Any:
                v = self.read(step.effect, step.node)
                if step.sets is not None:
                    self.write(step.sets, step.value)
                return v
            v = rt.track(self.handles[step.effect], tracked)
            self.log(("tracked", step.effect, value_key(self.specs[step.node], v)))
        elif isinstance(step, ScopeCleanup):
            k, i = step.scope, self.scope_cleanups
            self.scope_cleanups += 1
            raises = step.raises

            def cleanup() -> None:
                self.log(("scope-cleanup", k, i))
                if raises:
                    raise Boom(f"cleanup #{i} failed")

            def register() -> None:
                with self.scope(k):
                    rt.on_cleanup(cleanup)

            self.named_scope_errors(k, register)
        else:
            self.scope(step.scope)  # made if never used: disposing it disposes nothing
            self.named_scope_errors(step.scope, self.scopes[step.scope].dispose)

    # -- computed runs ---------------------------------------------------------------

    def upstream(self, node: int) -> set[int]:
        spec = self.specs[node]
        ins = spec.inputs if isinstance(spec, AddComputed) else ()
        return {node}.union(*(self.upstream(i) for i in ins))

    def computed_checks(self, index: int) -> list[Violation]:
        if not self.side:
            return []
        names = node_names(self.steps)
        runs: dict[int, list[Event]] = {}
        order: list[tuple[int, list[Event]]] = []
        found: list[Violation] = []
        for ev in self.side:
            if ev[0] == "crun":
                runs[ev[1]] = []
                order.append((ev[1], runs[ev[1]]))
                c = ev[1]
                up = sorted(self.upstream(c) - {c})
                sig = tuple(self.model.changes[u] + (u in self.model.disposed) for u in up)
                changes, disposed = self.before
                start = tuple((changes[u] if u < len(changes) else 0) + (u in disposed) for u in up)
                last = self.last_run.get(c)  # (step, upstream changes before that step)
                # (a computed whose read of an interrupted one was interrupted is left dirty too, S5)
                if last is not None and not self.upstream(c) & self.model.halted and not self.history_dependent(c) and (last[1] == sig if last[0] < index else start == sig):
                    found.append(Violation("laziness", "unchanged-inputs", f"{names[c]} recomputed although "
                                           "nothing it depends on changed since its last run", index))
                self.last_run[c] = (index, start)
                if ev[2] == 0 and ev[3]:
                    found.append(Violation("laziness", "eager-run", f"{names[c]} ran inside a batch with "
                                           "nobody reading it", index))
            elif ev[1] in runs:
                runs[ev[1]].append(ev)
        # Rule 1 and 2 by count: no computed runs more often in a step than the model runs it (the model
        # recomputes exactly what changed by value, when read); this also sees a run for nothing that
        # leaves every value right.
        for c, n in Counter(c for c, _ in order).items():
            ideal = self.model.runs.get(c, 0)
            if n > ideal and not self.upstream(c) & self.model.halted and not self.history_dependent(c):
                found.append(Violation("laziness", "extra-recompute", f"{names[c]} ran {n} time{'s' * (n > 1)} in "
                                       f"this step; a lazy kernel with cut-off runs it {ideal} time{'s' * (ideal != 1)}",
                                       index))
        for c, reads in order:
            # (a read that met a cycle read a running computed: no state has a value for that; nor for
            # a foreign read that is not compared)
            reads = [r for r in reads if not self.behind_parity(r[2]) and not self.history_dependent(r[2])
                     and r[3] not in (CYCLE_KEY, NOT_COMPARED)]
            if not any(all(value_key(self.specs[n], self.model.pure(n, state)) == key
                           for _, _, n, key in reads)
                       for state in self.model.states):
                seen = ", ".join(f"{names[n]}={_show(k)}" for _, _, n, k in reads)
                found.append(Violation("glitch_freedom", "inconsistent-read", f"{names[c]} ran reading {seen}: "
                                       "no state of this step has all those values", index))
        return found

    def history_dependent(self, node: int) -> bool:
        """Does a computed at or above `node` read a node created after it (maybe a cycle)? Then its
        value depends on the order of reads, not only on the state."""
        return any(isinstance(self.specs[u], AddComputed) and self.specs[u].later is not None  # type: ignore[union-attr]
                   for u in self.upstream(node))

    def behind_parity(self, node: int) -> bool:
        """Is a parity computed upstream? (Its cached value is only known up to parity.) Or a computed
        whose equals may raise, at or above `node`? (Whether it holds an error depends on its history.)"""
        return any(isinstance(self.specs[u], AddComputed) and self.specs[u].equals == "parity"  # type: ignore[union-attr]
                   for u in self.upstream(node) - {node}) or any(
            isinstance(self.specs[u], AddComputed) and self.specs[u].equals in RAISING_EQUALS  # type: ignore[union-attr, operator]
            for u in self.upstream(node))

    def close(self) -> None:
        """Dispose every effect (unchecked), so peers with global state let go of them."""
        for spec, h in zip(self.specs, self.handles):
            if isinstance(spec, AddEffect) and h is not None:
                try:
                    h.dispose()
                except (Exception, Halt):
                    pass


RAISING_EQUALS = ("picky", "halting")


def _glitchless_copy(rt: Any) -> bool:
    """Is `rt` a Runtime of a copy of glitchless's reactive module (a planted bug)? Its messages and
    reprs are glitchless's."""
    module = sys.modules.get(type(rt).__module__)
    return type(rt).__name__ == "Runtime" and callable(getattr(module, "_describe", None))


_NAME = r"'[a-z]+\d+'"
# The kernel's messages, from the table in docs/kernel-contract.md ("Messages"); the program names every node.
KERNEL_MESSAGES: dict[str, tuple[str, ...]] = {
    "CycleError": (rf"computed {_NAME} depends on itself",),
    "DisposedError": (rf"computed {_NAME} was read after dispose\(\)", rf"computed {_NAME} was disposed while it ran"),
    "WriteInComputedError": (rf"signal {_NAME} written while a computed was running; computeds must be pure",),
    "RunawayEffectError": (rf"effects still re-triggering after \d+ rounds: effect {_NAME}(, effect {_NAME})*",),
    "ReactiveError": (
        rf"signal {_NAME} written from a foreign thread, but its runtime has no scheduler to hand the write to",
        rf"scope {_NAME} was entered after dispose\(\)",
        r"on_cleanup\(\) called inside a computed; only effects and scopes have cleanups",
        r"on_cleanup\(\) called outside an effect's run and outside a scope",
    ),
    "ExceptionGroup": (
        rf"effect {_NAME}: its cleanups failed", rf"effect {_NAME}: its cleanup and its run failed",
        rf"effect {_NAME}: creating it failed \(its run, its cleanups, the flush after it\)",
        r"([2-9]|[1-9]\d+) effects failed in one flush", rf"scope {_NAME}: disposing failed",
    ),
    # A misuse refused before it touches the graph, and the generated "strict" equals' own refusal.
    "TypeError": (r"on_cleanup needs a callable, got \w+", r"cancel_on_supersede applies to async effects only",
                  re.escape(STRICT_REFUSAL)),
}


def misuse_message(step: Misuse, names: list[str]) -> str:
    """What a misuse step must raise, to the letter (the contract's table, with the names filled in)."""
    return {"cleanup_outside": "on_cleanup() called outside an effect's run and outside a scope",
            "cleanup_not_callable": "on_cleanup needs a callable, got int",
            "cancel_sync": "cancel_on_supersede applies to async effects only",
            "write_in_computed": f"signal {names[step.signal]!r} written while a computed was running; "
                                 "computeds must be pure",
            "dispose_while_running": "computed 'm0' was disposed while it ran"}[step.kind]


def _kernel_crash(exc: BaseException, rt: Any) -> bool:
    """Did the module that defines `rt`'s class raise `exc` itself (not a user fn it called), though `exc`
    is none of its errors (a ReactiveError, or a group of the errors of one call)?"""
    tb = exc.__traceback__
    module = sys.modules.get(type(rt).__module__)
    if tb is None or module is None or isinstance(exc, (getattr(module, "ReactiveError", ()), BaseExceptionGroup)):
        return False
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    # Innermost first, the first frame of either side decides (frames of neither, such as a wrapper that
    # calls kernel functions, say nothing).
    for frame in reversed(frames):
        if frame.f_globals is vars(module):
            return True
        if str(frame.f_globals.get("__name__", "")).startswith("glitchless.properties"):
            return False
    return False


def _all_errors(exc: BaseException) -> list[BaseException]:
    """`exc` and, for a group, every exception inside it, groups too."""
    if isinstance(exc, BaseExceptionGroup):
        return [exc] + [e for inner in exc.exceptions for e in _all_errors(inner)]
    return [exc]


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]


def _raised_in_body(exc: BaseException) -> bool:
    """Does the traceback reach the generated node body that raised `exc`?"""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is computed_body_code():
            return True
        tb = tb.tb_next
    return False


def computed_body_code() -> Any:
    return next(c for c in computed_body.__code__.co_consts if getattr(c, "co_name", None) == "body")


def generated_interrupt(exc: BaseException) -> bool:
    """Is `exc` a generated Halt (or a group of those and exceptions), not a real interrupt?"""
    if isinstance(exc, BaseExceptionGroup):
        return all(generated_interrupt(e) for e in exc.exceptions)
    return isinstance(exc, Exception | Halt)


def _eq(spec: NodeSpec) -> str | None:
    return None if isinstance(spec, AddEffect) else spec.equals


def _show(key: Key) -> str:
    if key[0] == "!":
        return f"raises {key[1]}" + (f"({key[2]!r})" if key[2] else "")
    if key[0] == "?":
        return "(not compared: behind a parity computed)"
    if key[0] == "~":
        return "even" if key[1] == 0 else "odd"
    return repr(key[1]) if key[0] in ("int", "=") else f"{key[0]}({key[1]})"


def _show_event(ev: Event, names: list[str]) -> str:
    kind = ev[0]
    if kind == "op":
        return "the step returns" if not ev[1] else "the step raises " + ", ".join(_show(k) for k in ev[1])
    if kind == "read":
        who = "the caller" if ev[1] == CALLER else names[ev[1]]
        return f"{who} reads {names[ev[2]]} = {_show(ev[3])}"
    if kind == "write":
        return f"{names[ev[1]]} writes {names[ev[2]]} := {ev[3]}"
    if kind == "dispose":
        return f"{names[ev[1]]} disposes {names[ev[2]]}"
    if kind in ("raised", "cleanup-raised"):
        what = "its cleanup" if kind == "cleanup-raised" else names[ev[1]]
        return f"{what} raises " + ", ".join(_show(k) for k in ev[2])
    if kind == "current":
        return f"rt.current_effect() in {names[ev[1]]} is " + ("itself" if ev[2] else "not itself")
    if kind == "tracked":
        return f"rt.track({names[ev[1]]}, ...) returns {_show(ev[2])}"
    if kind == "scope-cleanup":
        return f"cleanup #{ev[2]} of scope{ev[1]} runs"
    return {"run": f"{names[ev[1]]} runs", "end": f"{names[ev[1]]} returns",
            "cleanup": f"the cleanup of {names[ev[1]]} runs",
            "on-cleanup": f"the rt.on_cleanup fn of {names[ev[1]]} runs"}[kind]


def _as_run(ev: Event, before: list[Event], after: list[Event]) -> Event:
    """A cleanup that starts a re-run (not called by a disposal): name the run, not the cleanup."""
    if ev[0] == "cleanup" and ("run", ev[1]) in after and not (
            before and before[-1][0] == "dispose" and before[-1][2] == ev[1]):
        return ("run", ev[1])
    return ev


def classify(want: list[Event], have: list[Event], session: Session, index: int) -> Violation:
    """Name the first property the first difference between the logs breaks."""
    names = node_names(session.steps)
    i = next(i for i, (a, b) in enumerate(zip(want, have)) if a != b)
    x, y = want[i], have[i]
    said = f"expected: {_show_event(x, names)}; got: {_show_event(y, names)}"

    def v(prop: str, kind: str) -> Violation:
        return Violation(prop, kind, said, index)

    if x[0] == "run" and i and want[i - 1][0] == "cleanup-raised" and want[i - 1][1] == x[1]:
        return v("errors", "run-skipped-after-cleanup-raised")
    if not isinstance(session.steps[-1], Dispose) and x[:2] != y[:2]:
        x, y = _as_run(x, want[:i], want[i:]), _as_run(y, have[:i], have[i:])
    if y[0] == "run" and (x[0] != "run" or y[1] not in [ev[1] for ev in want[i:] if ev[0] == "run"]):
        e = y[1]
        if e in session.model.disposed and ("run", e) not in want:
            return v("disposal", "run-after-dispose")
        last = max((j for j, ev in enumerate(have[:i]) if ev == ("run", e)), default=None)
        if last is not None and not any(ev[0] in ("write", "dispose") for ev in have[last:i]):
            return v("ordering", "repeated-run")
        return v("cutoff", "spurious-run")
    if x[0] == y[0] == "run":
        return v("ordering", "wrong-order")
    if x[0] == "run":
        return v("ordering", "missed-run")
    if "cleanup" in (x[0], y[0]):
        return v("disposal", "missed-cleanup" if x[0] == "cleanup" else "extra-cleanup")
    if {x[0], y[0]} & {"on-cleanup", "scope-cleanup"}:
        return v("disposal", "missed-cleanup" if x[0] in ("on-cleanup", "scope-cleanup") else "extra-cleanup")
    if x[0] == y[0] == "current":
        return v("consistency", "wrong-current-effect")
    if x[0] == y[0] == "tracked":
        return v("consistency", "stale-read")
    if x[0] == y[0] == "read":
        if x[1] == CALLER:
            return v("consistency", "stale-read")
        return v("glitch_freedom", "inconsistent-read")
    if x[0] == y[0] == "op":
        runaway = ("!", "RunawayEffectError", "")
        if (runaway in x[1]) != (runaway in y[1]):
            return v("round_bound", "missed-runaway" if runaway in x[1] else "spurious-runaway")
        return v("errors", "lost-error" if not y[1] else "unexpected-raise" if not x[1] else "wrong-error")
    if y[0] in ("raised", "cleanup-raised") or (y[0] == "read" and y[3][0] == "!"):
        return v("errors", "unexpected-raise")
    if x[0] in ("raised", "cleanup-raised") or (x[0] == "read" and x[3][0] == "!"):
        return v("errors", "lost-error")
    return v("ordering", "diverged")


# -- failures, shrinking, replay ---------------------------------------------------------


def first_violation(program: Program, target: Target, checks: Iterable[str] | None = None) -> Violation | None:
    session = Session(target, program.domain, checks)
    try:
        for step in program.steps:
            found = session.apply(step)
            if found:
                return found[0]
        return None
    finally:
        session.close()


def replay_command(program: Program, target: str) -> str:
    return f"glitchless fuzz --target {shlex.quote(target)} --replay {shlex.quote(program.to_json())}"


@dataclass(frozen=True)
class Failure:
    """One bug: the first property broken, at the first diverging step, of a shrunk program."""

    violation: Violation
    program: Program
    target: str

    @property
    def label(self) -> str:
        return self.violation.label

    def render(self) -> str:
        return (f"{self.label} on {self.target}, at step {self.violation.step}:\n  {self.violation.message}\n"
                f"program ({len(self.program.steps)} steps):\n{self.program.describe()}\n"
                f"replay: {self.replay_command()}")

    def replay_command(self) -> str:
        return replay_command(self.program, self.target)


def _without(steps: tuple[Step, ...], node: int) -> tuple[Step, ...]:
    """The steps with `node` removed, along with every step that refers to it; later ids shift down."""
    gone = {node}
    kept: list[Step] = []
    idx = 0
    for step in steps:
        if isinstance(step, NODE_TYPES):
            if idx in gone or any(r in gone for r, _ in refs(step) if r != idx):
                gone.add(idx)
                idx += 1
                continue
            idx += 1
        kept.append(step)
    order = [i for i in range(idx) if i not in gone]
    new = {old: k for k, old in enumerate(order)}
    out: list[Step] = []
    for step in kept:
        s = _remap(step, new)
        if s is not None:
            out.append(s)
    return tuple(out)


def _remap(step: Step, new: dict[int, int]) -> Step | None:
    if isinstance(step, Batch):
        return Batch(tuple(t for t in (_remap(s, new) for s in step.steps) if t is not None))
    if any(r not in new for r, _ in refs(step)):
        return None
    m = new.get
    if isinstance(step, AddComputed):
        return dataclasses.replace(step, inputs=tuple(new[i] for i in step.inputs),
                                   later=None if step.later is None else m(step.later),
                                   hidden=None if step.hidden is None else m(step.hidden))
    if isinstance(step, FlushOrder):
        return dataclasses.replace(step, effect=new[step.effect])
    if isinstance(step, Track):
        return dataclasses.replace(step, effect=new[step.effect], node=new[step.node],
                                   sets=None if step.sets is None else m(step.sets))
    if isinstance(step, AddEffect):
        w = step.write and dataclasses.replace(step.write, target=new[step.write.target])
        return dataclasses.replace(step, inputs=tuple(new[i] for i in step.inputs), write=w,
                                   hidden=None if step.hidden is None else m(step.hidden),
                                   untracked=None if step.untracked is None else m(step.untracked),
                                   disposes=None if step.disposes is None else m(step.disposes),
                                   cleanup_disposes=None if step.cleanup_disposes is None else m(step.cleanup_disposes))
    if isinstance(step, Set | Misuse):
        return dataclasses.replace(step, signal=new.get(step.signal, 0))
    if isinstance(step, Read | Dispose):
        return dataclasses.replace(step, node=new[step.node])
    return step


def _candidates(steps: tuple[Step, ...]) -> Iterable[tuple[Step, ...]]:
    """Smaller programs: fewer nodes, fewer steps, flatter batches, plainer nodes."""
    nodes = [i for i, s in enumerate(steps) if isinstance(s, NODE_TYPES)]
    for k in range(len(nodes) - 1, -1, -1):
        yield _without(steps, k)
    for i in range(len(steps) - 1, -1, -1):
        if not isinstance(steps[i], NODE_TYPES):
            yield steps[:i] + steps[i + 1:]
        step = steps[i]
        if isinstance(step, Batch):
            yield steps[:i] + step.steps + steps[i + 1:]
            for j in range(len(step.steps)):
                yield steps[:i] + (Batch(step.steps[:j] + step.steps[j + 1:]),) + steps[i + 1:]
        if isinstance(step, AddComputed | AddEffect):
            specs = [t for t in steps if isinstance(t, NODE_TYPES)]
            lo = arity_range(step.fn)[0]
            variants = [step.inputs[:j] + step.inputs[j + 1:] for j in range(len(step.inputs))
                        if len(step.inputs) > lo]
            for j, k in enumerate(step.inputs):  # bypass a computed input: read what it reads
                inner = specs[k]
                if isinstance(inner, AddComputed):
                    variants += [step.inputs[:j] + (m,) + step.inputs[j + 1:] for m in inner.inputs]
            if step.fn != "sum" and len(step.inputs) <= 3:
                yield steps[:i] + (dataclasses.replace(step, fn="sum"),) + steps[i + 1:]
            for inputs in variants:
                yield steps[:i] + (dataclasses.replace(step, inputs=inputs),) + steps[i + 1:]
        if isinstance(step, AddComputed | AddEffect | AddSignal | Set):
            defaults = {f.name: f.default for f in dataclasses.fields(step) if f.default is not dataclasses.MISSING}
            for name, default in defaults.items():
                if getattr(step, name) != default and name not in ("value", "init"):
                    yield steps[:i] + (dataclasses.replace(step, **{name: default}),) + steps[i + 1:]


def shrink(program: Program, target: Target, label: str, budget: int = 400,
           checks: Iterable[str] | None = None) -> tuple[Violation, Program]:
    """Greedily drop nodes and steps while the program still fails first with `label`."""
    best = Program(program.domain, program.steps)
    found = first_violation(best, target, checks)
    assert found is not None and found.label == label, "shrink needs a failing program"
    shown = found
    improved = True
    while improved and budget > 0:
        improved = False
        for steps in _candidates(best.steps):
            budget -= 1
            if budget <= 0:
                break
            cand = Program(best.domain, steps)
            try:
                got = first_violation(cand, target, checks)
            except InvalidStep:
                continue
            if got is not None and got.label == label:
                best, shown = Program(cand.domain, cand.steps[: got.step]), got
                improved = True
                break
    return shown, best


def check_program(program: Program, target: str | Target = "glitchless", checks: Iterable[str] | None = None) -> list[Violation]:
    """Run `program` on a fresh runtime of `target`; return the rule it broke (empty: none)."""
    session = Session(target, program.domain, checks)
    try:
        return session.run(program.steps)
    finally:
        session.close()
