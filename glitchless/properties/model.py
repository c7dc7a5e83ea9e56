"""The reference model: a tiny evaluator of the same graph a kernel builds.

It keeps no cache and no marks. Every value is recomputed from the signals in
creation order (creation order is a topological order: a node only ever reads
nodes created before it). Everything a reactive kernel is supposed to do can
be stated in these terms:

* a computed's value is its function applied to its inputs' model values;
* an effect is *stale* when some value it read on its last run differs from
  that node's model value now, and a stale effect must run again;
* a flush runs rounds: each round takes the effects that are stale when it
  starts, in creation order, and runs each one that is still stale when its
  turn comes; writes made by those runs are seen by later effects of the same
  round and start the next round for effects that were not in this one
  (a kernel may also count into a round an effect that is not stale when the
  round starts but depends, through computeds, on a signal that changed - it
  cannot know before re-validating - and run it there if it is stale by its
  turn; the checker allows that);
* at quiescence (after every operation) no live effect is stale.

`ReferenceModel.flush` states that rule as code and returns the runs a
correct kernel makes, with the values each run reads. The checker uses the
same primitives (`value`, `observe`, `is_stale`, `round_members`) while it
follows a real kernel's trace event by event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

# ---------------------------------------------------------------------------
# Values


class Copy(int):
    """An int equal to another but a different object: the payload of an equal, non-identical write."""

    def __repr__(self) -> str:
        return f"copy({int(self)})"

    __str__ = __repr__


def same(a: int, b: int) -> bool:
    """The contract's equality: `a is b or a == b`."""
    return a is b or a == b


# ---------------------------------------------------------------------------
# The closed set of pure functions computeds and effects are built from.
#
# Each reads its inputs through `read(i)` and only as far as it needs, so the
# set of nodes a run depends on can change from run to run ("dynamic reads").

FunctionName: TypeAlias = Literal["sum", "max", "min", "parity", "if", "coalesce"]
FUNCTIONS: tuple[FunctionName, ...] = ("sum", "max", "min", "parity", "if", "coalesce")

FUNCTION_DOCS: dict[str, str] = {
    "sum": "sum of the inputs mod the domain size",
    "max": "largest input",
    "min": "smallest input",
    "parity": "sum of the inputs mod 2",
    "if": "inputs (a, b, c): reads a, then b if a else c",
    "coalesce": "first non-zero input, reading left to right; 0 if none",
}


def arity_range(fn: str) -> tuple[int, int]:
    """Smallest and largest number of inputs `fn` takes."""
    return (3, 3) if fn == "if" else (1, 3)


def apply(fn: str, arity: int, read: Callable[[int], int], modulus: int) -> int:
    """Evaluate `fn` over `arity` inputs, calling `read(i)` for each input it looks at."""
    if fn == "sum":
        return sum(read(i) for i in range(arity)) % modulus
    if fn == "parity":
        return sum(read(i) for i in range(arity)) % 2
    if fn == "max":
        return max(read(i) for i in range(arity))
    if fn == "min":
        return min(read(i) for i in range(arity))
    if fn == "if":
        return read(1) if read(0) else read(2)
    if fn == "coalesce":
        for i in range(arity):
            v = read(i)
            if v:
                return v
        return 0
    raise ValueError(f"unknown function {fn!r}")


# ---------------------------------------------------------------------------
# Graph nodes (they are also the steps that create them, see program.py)


@dataclass(frozen=True)
class AddSignal:
    init: int


@dataclass(frozen=True)
class AddComputed:
    fn: str
    inputs: tuple[int, ...]


@dataclass(frozen=True)
class EffectWrite:
    """What an effect writes after its reads: `const` writes `value`; `clamp` reads the target
    (tracked) and writes `min(target, value)`. Both are idempotent, so a flush always settles."""

    target: int
    kind: Literal["const", "clamp"]
    value: int


@dataclass(frozen=True)
class AddEffect:
    fn: str
    inputs: tuple[int, ...]
    cleanup: bool = False
    write: EffectWrite | None = None
    untracked: int | None = None  # a node read with rt.untracked inside the body


NodeSpec: TypeAlias = AddSignal | AddComputed | AddEffect
Observation: TypeAlias = list[tuple[int, int]]  # (node, value) pairs, in read order


# ---------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class Run:
    """One effect run a correct kernel makes: which effect, what it read, what it wrote."""

    effect: int
    reads: tuple[tuple[int, int], ...]
    untracked: tuple[tuple[int, int], ...]
    wrote: tuple[int, int] | None


class ReferenceModel:
    """The graph, the signals' current values, and which nodes are disposed."""

    def __init__(self, modulus: int) -> None:
        self.modulus = modulus
        self.nodes: list[NodeSpec] = []
        self.signals: dict[int, int] = {}
        self.disposed: set[int] = set()
        self._effects: list[int] = []

    # -- building --------------------------------------------------------

    def add(self, spec: NodeSpec) -> int:
        node = len(self.nodes)
        for i in _reads_of(spec):
            if not 0 <= i < node or isinstance(self.nodes[i], AddEffect):
                raise ValueError(f"node {node} reads {i}, which is not an earlier signal or computed")
        if isinstance(spec, AddEffect) and spec.write is not None:
            t = spec.write.target
            if not 0 <= t < node or not isinstance(self.nodes[t], AddSignal):
                raise ValueError(f"effect {node} writes {t}, which is not an earlier signal")
        self.nodes.append(spec)
        if isinstance(spec, AddSignal):
            self.signals[node] = spec.init
        elif isinstance(spec, AddEffect):
            self._effects.append(node)
        return node

    def write(self, signal: int, value: int) -> bool:
        """Apply `signal.set(value)`; return whether the value changed."""
        if same(self.signals[signal], value):
            return False
        self.signals[signal] = value
        return True

    def dispose(self, node: int) -> None:
        self.disposed.add(node)
        if node in self._effects:
            self._effects.remove(node)

    # -- evaluation: no caching, everything from the signals ---------------

    def evaluate(self) -> list[int | None]:
        """Every node's value, recomputed from the signals in creation order (None for effects)."""
        values: list[int | None] = []
        for node, spec in enumerate(self.nodes):
            if isinstance(spec, AddSignal):
                values.append(self.signals[node])
            elif isinstance(spec, AddComputed):
                inputs = spec.inputs
                values.append(apply(spec.fn, len(inputs), lambda i: _known(values[inputs[i]]), self.modulus))
            else:
                values.append(None)
        return values

    def value(self, node: int) -> int:
        return _known(self.evaluate()[node])

    def observe(self, effect: int, values: Sequence[int | None] | None = None) -> Run:
        """What a run of `effect` reads (tracked and untracked) and writes, given the current values."""
        spec = self.nodes[effect]
        assert isinstance(spec, AddEffect)
        vals = self.evaluate() if values is None else values
        reads: list[tuple[int, int]] = []

        def read(i: int) -> int:
            node = spec.inputs[i]
            v = _known(vals[node])
            reads.append((node, v))
            return v

        apply(spec.fn, len(spec.inputs), read, self.modulus)
        untracked = () if spec.untracked is None else ((spec.untracked, _known(vals[spec.untracked])),)
        wrote: tuple[int, int] | None = None
        if spec.write is not None:
            w = spec.write
            if w.kind == "clamp":
                current = _known(vals[w.target])
                reads.append((w.target, current))
                wrote = (w.target, min(current, w.value))
            else:
                wrote = (w.target, w.value)
        return Run(effect, tuple(reads), untracked, wrote)

    def is_stale(self, observation: Sequence[tuple[int, int]] | None, values: Sequence[int | None] | None = None) -> bool:
        """Must an effect that last read `observation` run again? (None: it never ran.)"""
        if observation is None:
            return True
        vals = self.evaluate() if values is None else values
        return any(not same(_known(vals[n]), v) for n, v in observation)

    def live_effects(self) -> list[int]:
        """Effects not disposed, in creation order."""
        return list(self._effects)

    def round_members(self, observations: dict[int, Observation]) -> list[int]:
        """The effects a round starting now runs, in creation order."""
        values = self.evaluate()
        return [e for e in self.live_effects() if self.is_stale(observations.get(e), values)]

    # -- the rule, as code ---------------------------------------------------

    def flush(self, observations: dict[int, Observation], first: int | None = None, max_rounds: int = 1000) -> list[Run]:
        """Run a flush on the model: the effect runs a correct kernel makes, in order.

        `observations` (what each effect last read) is updated in place, and so
        are the signals (effects' writes). `first` is an effect being created:
        its initial run comes before any round.
        """
        runs: list[Run] = []

        def run(effect: int) -> None:
            r = self.observe(effect)
            runs.append(r)
            observations[effect] = list(r.reads)
            if r.wrote is not None:
                self.write(*r.wrote)

        if first is not None:
            run(first)
        for _ in range(max_rounds):
            members = self.round_members(observations)
            if not members:
                return runs
            for e in members:
                if e not in self.disposed and self.is_stale(observations.get(e)):
                    run(e)
        raise RuntimeError(f"the model did not settle within {max_rounds} rounds")


def _known(v: int | None) -> int:
    if v is None:
        raise ValueError("an effect has no value")
    return v


def _reads_of(spec: NodeSpec) -> tuple[int, ...]:
    if isinstance(spec, AddComputed):
        return spec.inputs
    if isinstance(spec, AddEffect):
        extra = () if spec.untracked is None else (spec.untracked,)
        return spec.inputs + extra
    return ()
