"""Programs: the operations the machines apply, as data.

A program is a list of steps. `AddSignal`/`AddComputed`/`AddEffect` build the
graph (node ids are creation indices); `Set`, `Read`, `Dispose` and `Batch`
operate on it. The same program can be printed as readable steps, saved as
JSON and replayed on any target.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast

from glitchless.properties.model import AddComputed, AddEffect, AddSignal, EffectWrite, NodeSpec


@dataclass(frozen=True)
class Set:
    """`signal.set(...)`. mode "new" writes `value`; "same" writes the signal's current value
    object back; "copy" writes an equal but distinct object (`value` then records what it was)."""

    signal: int
    value: int = 0
    mode: Literal["new", "same", "copy"] = "new"


@dataclass(frozen=True)
class Read:
    """A caller's read: `node.get()` outside any reactive run, `node.peek()`, or `rt.untracked(node.get)`."""

    node: int
    how: Literal["get", "peek", "untracked"] = "get"


@dataclass(frozen=True)
class Dispose:
    node: int


@dataclass(frozen=True)
class Batch:
    """`with rt.batch():` around the inner steps (Set, Read, Dispose of an effect, nested Batch)."""

    steps: tuple[Step, ...]


Step: TypeAlias = AddSignal | AddComputed | AddEffect | Set | Read | Dispose | Batch


def node_names(steps: Iterable[Step]) -> list[str]:
    """s0, c1, e2, ...: the name of each node, by kind and creation index."""
    names: list[str] = []
    for step in steps:
        if isinstance(step, AddSignal):
            names.append(f"s{len(names)}")
        elif isinstance(step, AddComputed):
            names.append(f"c{len(names)}")
        elif isinstance(step, AddEffect):
            names.append(f"e{len(names)}")
    return names


def _call(fn: str, inputs: tuple[int, ...], names: list[str]) -> str:
    return f"{fn}({', '.join(names[i] for i in inputs)})"


def describe_step(step: Step, names: list[str], index: int | None = None) -> list[str]:
    """One step as readable lines (a batch spans several)."""
    if isinstance(step, AddSignal):
        return [f"{names[index or 0]} = signal({step.init})"]
    if isinstance(step, AddComputed):
        return [f"{names[index or 0]} = computed({_call(step.fn, step.inputs, names)})"]
    if isinstance(step, AddEffect):
        parts = [f"reads {_call(step.fn, step.inputs, names)}"]
        if step.untracked is not None:
            parts.append(f"untracked read of {names[step.untracked]}")
        if step.write is not None:
            t = names[step.write.target]
            rhs = f"min({t}, {step.write.value})" if step.write.kind == "clamp" else str(step.write.value)
            parts.append(f"then writes {t} := {rhs}")
        if step.cleanup:
            parts.append("returns a cleanup")
        return [f"{names[index or 0]} = effect({'; '.join(parts)})"]
    if isinstance(step, Set):
        s = names[step.signal]
        if step.mode == "same":
            return [f"{s}.set({s}.peek())   # the same object ({step.value}): an equal write"]
        if step.mode == "copy":
            return [f"{s}.set(copy({step.value}))   # equal to, not the same object as, {s}'s value"]
        return [f"{s}.set({step.value})"]
    if isinstance(step, Read):
        n = names[step.node]
        return [{"get": f"{n}.get()", "peek": f"{n}.peek()", "untracked": f"rt.untracked({n}.get)"}[step.how]]
    if isinstance(step, Dispose):
        return [f"{names[step.node]}.dispose()"]
    lines = ["with rt.batch():"]
    for inner in step.steps:
        lines.extend("    " + line for line in describe_step(inner, names))
    if not step.steps:
        lines.append("    pass")
    return lines


@dataclass(frozen=True)
class Program:
    domain: int
    steps: tuple[Step, ...]

    def nodes(self) -> list[NodeSpec]:
        return [s for s in self.steps if isinstance(s, AddSignal | AddComputed | AddEffect)]

    def describe(self, numbered: bool = True) -> str:
        names = node_names(self.steps)
        out: list[str] = []
        node = 0
        for i, step in enumerate(self.steps, 1):
            index = None
            if isinstance(step, AddSignal | AddComputed | AddEffect):
                index = node
                node += 1
            lines = describe_step(step, names, index)
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
        except (KeyError, TypeError, IndexError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a program: {exc}") from exc
        if domain < 2:
            raise ValueError("domain must be at least 2")
        return cls(domain, steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)


def _encode(step: Step) -> list[Any]:
    if isinstance(step, AddSignal):
        return ["signal", step.init]
    if isinstance(step, AddComputed):
        return ["computed", step.fn, list(step.inputs)]
    if isinstance(step, AddEffect):
        opts: dict[str, Any] = {}
        if step.cleanup:
            opts["cleanup"] = True
        if step.write is not None:
            opts["write"] = [step.write.target, step.write.kind, step.write.value]
        if step.untracked is not None:
            opts["untracked"] = step.untracked
        return ["effect", step.fn, list(step.inputs), opts]
    if isinstance(step, Set):
        return ["set", step.signal, int(step.value), step.mode]
    if isinstance(step, Read):
        return ["read", step.node, step.how]
    if isinstance(step, Dispose):
        return ["dispose", step.node]
    return ["batch", [_encode(s) for s in step.steps]]


def _decode(item: Any) -> Step:
    if not isinstance(item, list) or not item:
        raise ValueError(f"not a step: {item!r}")
    kind = item[0]
    if kind == "signal":
        return AddSignal(int(item[1]))
    if kind == "computed":
        return AddComputed(str(item[1]), tuple(int(i) for i in item[2]))
    if kind == "effect":
        opts = item[3] if len(item) > 3 else {}
        w = opts.get("write")
        write = None
        if w is not None:
            if w[1] not in ("const", "clamp"):
                raise ValueError(f"unknown write kind {w[1]!r}")
            write = EffectWrite(int(w[0]), w[1], int(w[2]))
        untracked = opts.get("untracked")
        return AddEffect(
            str(item[1]),
            tuple(int(i) for i in item[2]),
            bool(opts.get("cleanup", False)),
            write,
            None if untracked is None else int(untracked),
        )
    if kind == "set":
        mode = item[3] if len(item) > 3 else "new"
        if mode not in ("new", "same", "copy"):
            raise ValueError(f"unknown write mode {mode!r}")
        return Set(int(item[1]), int(item[2]), cast(Literal["new", "same", "copy"], mode))
    if kind == "read":
        how = item[2] if len(item) > 2 else "get"
        if how not in ("get", "peek", "untracked"):
            raise ValueError(f"unknown read {how!r}")
        return Read(int(item[1]), cast(Literal["get", "peek", "untracked"], how))
    if kind == "dispose":
        return Dispose(int(item[1]))
    if kind == "batch":
        return Batch(tuple(_decode(s) for s in item[1]))
    raise ValueError(f"unknown step kind {kind!r}")
