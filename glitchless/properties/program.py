"""Programs: the operations the machines apply, as plain data.

A program is a domain size and a list of steps. `AddSignal`/`AddComputed`/
`AddEffect` build the graph (node ids are creation indices); `Set`, `Read`,
`Dispose` and `Batch` operate on it. The same program is printed as readable
steps, saved as JSON, replayed on any target, enumerated by `exhaustive` and
drawn by the Hypothesis machine.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

FunctionName: TypeAlias = str
FUNCTIONS: tuple[str, ...] = ("sum", "max", "min", "parity", "if", "coalesce")
WRITE_KINDS = ("const", "clamp", "count")
SET_MODES = ("new", "same", "copy", "float", "update", "thread", "thread_update")
HOWS = ("get", "peek", "untracked", "block", "thread")
# How a node body reads its `hidden` node without subscribing: `peek()`, `rt.untracked(node.get)`, inside
# `with rt.untracked():`, or from a foreign thread started and joined at once (rule 9).
HIDDEN_HOWS = ("peek", "untracked", "block", "thread")
MISUSES = ("cleanup_outside", "cleanup_not_callable", "cancel_sync", "write_in_computed", "dispose_while_running")


def arity_range(fn: str) -> tuple[int, int]:
    """Smallest and largest number of inputs `fn` takes."""
    return (3, 3) if fn == "if" else (1, 3)


@dataclass(frozen=True)
class AddSignal:
    """`rt.signal(init, equals=...)`. equals: None (`is` or `==`), "parity" (same value mod 2),
    "strict" (raises TypeError when handed a float: the set raises and changes nothing), "picky"
    (raises ValueError comparing two values two apart, 0 and 2: a set from 0 to 2 fails, but 0 -> 1 -> 2
    in a batch passes and the flush's change check compares 0 with 2) or "halting" (the same, raising
    Halt, a BaseException that stands for KeyboardInterrupt)."""

    init: int
    equals: str | None = None


@dataclass(frozen=True)
class AddComputed:
    """`rt.computed(fn(inputs))`; with `fails`, the fn raises when its result equals `fails`; with
    `halts`, it raises Halt (a BaseException: S3, S5) when its result equals `halts`. equals: None,
    "parity", "picky" or "halting" (see AddSignal; a raising equals fails the computed, S4). With
    `later`, the fn then also reads node `later` (itself, or a node created after it) when that node
    exists and is readable: a cycle raises CycleError."""

    fn: str
    inputs: tuple[int, ...]
    equals: str | None = None
    fails: int | None = None
    halts: int | None = None
    later: int | None = None
    hidden: int | None = None
    hidden_how: Literal["peek", "untracked", "block", "thread"] = "peek"
    scope: int | None = None


@dataclass(frozen=True)
class EffectWrite:
    """What an effect writes after its reads. const: `value`; clamp: min(target, value);
    count: min(target + 1, value) (clamp and count read the target, tracked). count with a
    high `value` settles in many rounds; past the round bound it must raise RunawayEffectError."""

    target: int
    kind: Literal["const", "clamp", "count"]
    value: int


@dataclass(frozen=True)
class AddEffect:
    """`rt.effect(body)`. The body reads fn(inputs), then `untracked` (untracked), writes `write`,
    disposes `disposes`, then raises if `fails` equals fn's result. With `cleanup` it returns a
    cleanup that disposes `cleanup_disposes` and raises when `cleanup_raises` and fn's result of
    its run was odd (so does its `on_cleanup` fn: with both, two cleanups fail). `halts`: the body raises Halt (a BaseException, S3) where it would raise for
    `fails`; `cleanup_halts`: the cleanup raises Halt when fn's result of its run was even."""

    fn: str
    inputs: tuple[int, ...]
    cleanup: bool = False
    write: EffectWrite | None = None
    untracked: int | None = None
    fails: int | None = None
    disposes: int | None = None
    cleanup_disposes: int | None = None
    cleanup_raises: bool = False
    halts: int | None = None
    cleanup_halts: bool = False
    hidden: int | None = None
    hidden_how: Literal["peek", "untracked", "block", "thread"] = "peek"
    scope: int | None = None
    on_cleanup: bool = False
    current: bool = False


@dataclass(frozen=True)
class Set:
    """A caller's write. new: `value`; same: the current object back; copy: an equal int subclass
    object; float: float(value); update: `s.update(lambda v: value)`; thread, thread_update: set or
    update from a foreign thread, started and joined at once (without a scheduler: ReactiveError, rule 9)."""

    signal: int
    value: int = 0
    mode: Literal["new", "same", "copy", "float", "update", "thread", "thread_update"] = "new"


@dataclass(frozen=True)
class Read:
    """A caller's read: `node.get()`, `node.peek()`, `rt.untracked(node.get)`, `node.get()` inside
    `with rt.untracked():` (block) or from a foreign thread, started and joined at once (thread)."""

    node: int
    how: Literal["get", "peek", "untracked", "block", "thread"] = "get"


@dataclass(frozen=True)
class Dispose:
    node: int


@dataclass(frozen=True)
class Batch:
    """`with rt.batch():` around the inner steps (Set, Read, Dispose, nested Batch)."""

    steps: tuple[Step, ...]


@dataclass(frozen=True)
class DisposeScope:
    """`scopes[scope].dispose()`: the scope the nodes created with `scope=...` belong to (rule 7)."""

    scope: int


@dataclass(frozen=True)
class ScopeCleanup:
    """`with scopes[scope]: rt.on_cleanup(fn)`: fn runs when the scope is disposed, newest first; with
    `raises`, fn raises (the scope still disposes the rest, then the error propagates)."""

    scope: int
    raises: bool = False


@dataclass(frozen=True)
class FlushOrder:
    """`rt.set_flush_order(effect, order)`; order < 0, so it runs before every effect left at its default
    (creation order), and orders set on two effects differ."""

    effect: int
    order: int


@dataclass(frozen=True)
class Track:
    """`rt.track(effect, step)`: step reads `node` (it replaces the effect's dependencies), then writes
    `value` to signal `sets` if given; the write waits for the next flush."""

    effect: int
    node: int
    sets: int | None = None
    value: int = 0


@dataclass(frozen=True)
class Misuse:
    """A call the contract refuses: it raises the error its "Messages" table names, and changes nothing.
    cleanup_outside: `rt.on_cleanup(fn)` outside any effect's run and scope (ReactiveError);
    cleanup_not_callable: `rt.on_cleanup(3)` (TypeError); cancel_sync: a sync effect with
    `cancel_on_supersede=True` (TypeError); write_in_computed: a new computed whose fn writes signal
    `signal`, read (WriteInComputedError); dispose_while_running: a new computed whose fn disposes it,
    read (DisposedError)."""

    kind: Literal["cleanup_outside", "cleanup_not_callable", "cancel_sync", "write_in_computed",
                  "dispose_while_running"]
    signal: int = 0


@dataclass(frozen=True)
class Flush:
    """`rt.flush()`: runs pending effects, unless inside a batch."""


NodeSpec: TypeAlias = AddSignal | AddComputed | AddEffect
Step: TypeAlias = (AddSignal | AddComputed | AddEffect | Set | Read | Dispose | Batch | DisposeScope | ScopeCleanup
                   | FlushOrder | Track | Flush | Misuse)
NODE_TYPES = (AddSignal, AddComputed, AddEffect)
_KINDS: dict[str, type[Any]] = {"signal": AddSignal, "computed": AddComputed, "effect": AddEffect, "set": Set,
                                 "read": Read, "dispose": Dispose, "batch": Batch, "dispose_scope": DisposeScope,
                                 "scope_cleanup": ScopeCleanup, "flush_order": FlushOrder, "track": Track,
                                 "flush": Flush, "misuse": Misuse}


def node_names(steps: tuple[Step, ...] | list[Step]) -> list[str]:
    """s0, c1, e2, ...: each node's name, by kind and creation index."""
    names: list[str] = []
    for step in steps:
        if isinstance(step, NODE_TYPES):
            names.append(f"{type(step).__name__[3].lower()}{len(names)}")
    return names


def describe_step(step: Step, names: list[str], index: int = 0) -> list[str]:
    """One step as readable lines (a batch spans several)."""
    def call(fn: str, inputs: tuple[int, ...]) -> str:
        return f"{fn}({', '.join(names[i] for i in inputs)})"

    if isinstance(step, AddSignal):
        return [f"{names[index]} = signal({step.init}" + (f", equals={step.equals})" if step.equals else ")")]
    if isinstance(step, AddComputed):
        extra = (f", equals={step.equals}" if step.equals else "") + (
            f"; raises when = {step.fails}" if step.fails is not None else "") + (
            f"; halts when = {step.halts}" if step.halts is not None else "") + (
            f"; then reads node {step.later} if it exists" if step.later is not None else "")
        return [_in_scope(step.scope, f"{names[index]} = computed({call(step.fn, step.inputs)}{extra}"
                          + _hidden(step, names) + ")")]
    if isinstance(step, AddEffect):
        parts = ([f"reads {names[step.hidden]} {_HIDDEN_TEXT[step.hidden_how]}"] if step.hidden is not None else [])
        parts += [("registers rt.on_cleanup(fn that raises after an odd result)" if step.cleanup_raises
                   else "registers rt.on_cleanup(...)")] if step.on_cleanup else []
        parts += ["checks rt.current_effect() is itself"] if step.current else []
        parts.append(f"reads {call(step.fn, step.inputs)}")
        if step.untracked is not None:
            parts.append(f"untracked read of {names[step.untracked]}")
        if step.write is not None:
            t, w = names[step.write.target], step.write
            parts.append("writes " + t + " := " + {"const": str(w.value), "clamp": f"min({t}, {w.value})",
                                                   "count": f"min({t} + 1, {w.value})"}[w.kind])
        if step.disposes is not None:
            parts.append(f"disposes {names[step.disposes]}")
        if step.fails is not None:
            parts.append(f"raises when the result = {step.fails}")
        if step.halts is not None:
            parts.append(f"halts (BaseException) when the result = {step.halts}")
        if step.cleanup:
            what = [f"disposes {names[step.cleanup_disposes]}"] if step.cleanup_disposes is not None else []
            what += ["raises after an odd result"] if step.cleanup_raises else []
            what += ["halts (BaseException) after an even result"] if step.cleanup_halts else []
            parts.append("returns a cleanup" + (f" that {' and '.join(what)}" if what else ""))
        return [_in_scope(step.scope, f"{names[index]} = effect({'; '.join(parts)})")]
    if isinstance(step, Set):
        s = names[step.signal]
        return [{"new": f"{s}.set({step.value})", "same": f"{s}.set({s}.peek())   # the same object",
                 "copy": f"{s}.set(IntCopy({step.value}))   # equal, not identical",
                 "float": f"{s}.set({float(step.value)})", "update": f"{s}.update(lambda _: {step.value})",
                 "thread": f"{s}.set({step.value})   # from a foreign thread",
                 "thread_update": f"{s}.update(lambda _: {step.value})   # from a foreign thread"}[step.mode]]
    if isinstance(step, Read):
        n = names[step.node]
        return [{"get": f"{n}.get()", "peek": f"{n}.peek()", "untracked": f"rt.untracked({n}.get)",
                 "block": f"with rt.untracked(): {n}.get()",
                 "thread": f"{n}.get()   # from a foreign thread"}[step.how]]
    if isinstance(step, Dispose):
        return [f"{names[step.node]}.dispose()"]
    if isinstance(step, DisposeScope):
        return [f"scope{step.scope}.dispose()"]
    if isinstance(step, ScopeCleanup):
        return [f"with scope{step.scope}: rt.on_cleanup(...)" + ("   # it raises" if step.raises else "")]
    if isinstance(step, FlushOrder):
        return [f"rt.set_flush_order({names[step.effect]}, {step.order})"]
    if isinstance(step, Track):
        wrote = f"; {names[step.sets]}.set({step.value})" if step.sets is not None else ""
        return [f"rt.track({names[step.effect]}, lambda: {names[step.node]}.get(){wrote})"]
    if isinstance(step, Flush):
        return ["rt.flush()"]
    if isinstance(step, Misuse):
        s = names[step.signal] if step.kind == "write_in_computed" else ""
        return [{"cleanup_outside": "rt.on_cleanup(fn)   # outside any effect's run and scope: ReactiveError",
                 "cleanup_not_callable": "rt.on_cleanup(3)   # not callable: TypeError",
                 "cancel_sync": "rt.effect(fn, cancel_on_supersede=True)   # fn is not async: TypeError",
                 "write_in_computed": f"rt.computed(lambda: {s}.set(0)).get()   # WriteInComputedError",
                 "dispose_while_running": "m = rt.computed(lambda: m.dispose()); m.get()   # DisposedError"}[step.kind]]
    lines = ["with rt.batch():"]
    for inner in step.steps:
        lines.extend("    " + line for line in describe_step(inner, names))
    return lines + (["    pass"] if not step.steps else [])


_HIDDEN_TEXT = {"peek": "with peek()", "untracked": "with rt.untracked(...)",
                "block": "inside `with rt.untracked():`", "thread": "from a foreign thread"}


def _hidden(step: AddComputed, names: list[str]) -> str:
    return f"; reads {names[step.hidden]} {_HIDDEN_TEXT[step.hidden_how]} first" if step.hidden is not None else ""


def _in_scope(scope: int | None, line: str) -> str:
    return line if scope is None else f"with scope{scope}: {line}"


@dataclass(frozen=True)
class Program:
    domain: int
    steps: tuple[Step, ...]

    def nodes(self) -> list[NodeSpec]:
        return [s for s in self.steps if isinstance(s, NODE_TYPES)]

    def describe(self, numbered: bool = True) -> str:
        names = node_names(self.steps)
        out: list[str] = []
        node = 0
        for i, step in enumerate(self.steps, 1):
            lines = describe_step(step, names, node)
            node += isinstance(step, NODE_TYPES)
            prefix = f"{i:3d}. " if numbered else ""
            out.append(prefix + lines[0])
            out.extend(" " * len(prefix) + line for line in lines[1:])
        return "\n".join(out)

    def to_json(self) -> str:
        return json.dumps({"domain": self.domain, "steps": [_encode(s) for s in self.steps]}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Program:
        """Parse `to_json` output; raises ValueError on anything malformed."""
        try:
            data = json.loads(text)
            domain = int(data["domain"])
            steps = tuple(_decode(s) for s in data["steps"])
        except (KeyError, TypeError, IndexError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a program: {exc}") from exc
        if domain < 2:
            raise ValueError("domain must be at least 2")
        return cls(domain, steps)


def _encode(step: Step) -> list[Any]:
    kind = next(k for k, t in _KINDS.items() if isinstance(step, t))
    if isinstance(step, Batch):
        return [kind, [_encode(s) for s in step.steps]]
    fields = {}
    for f in dataclasses.fields(step):
        v = getattr(step, f.name)
        if v != f.default:
            fields[f.name] = dataclasses.astuple(v) if isinstance(v, EffectWrite) else v
    return [kind, fields]


def _decode(item: Any) -> Step:
    if not isinstance(item, list) or len(item) != 2 or item[0] not in _KINDS:
        raise ValueError(f"not a step: {item!r}")
    kind, body = item
    if kind == "batch":
        return Batch(tuple(_decode(s) for s in body))
    if not isinstance(body, dict):
        raise ValueError(f"not a step: {item!r}")
    args = dict(body)
    if "inputs" in args:
        args["inputs"] = tuple(int(i) for i in args["inputs"])
    if args.get("write") is not None:
        t, k, v = args["write"]
        if k not in WRITE_KINDS:
            raise ValueError(f"unknown write kind {k!r}")
        args["write"] = EffectWrite(int(t), k, int(v))
    if args.get("mode", "new") not in SET_MODES or args.get("how", "get") not in HOWS:
        raise ValueError(f"unknown mode in {item!r}")
    if args.get("hidden_how", "peek") not in HIDDEN_HOWS:
        raise ValueError(f"unknown hidden_how in {item!r}")
    if args.get("kind", MISUSES[0]) not in MISUSES:
        raise ValueError(f"unknown misuse {args['kind']!r}")
    if args.get("fn", "sum") not in FUNCTIONS:
        raise ValueError(f"unknown function {args['fn']!r}")
    try:
        step: Step = _KINDS[kind](**args)
    except TypeError as exc:
        raise ValueError(f"bad {kind} step: {exc}") from None
    return step
