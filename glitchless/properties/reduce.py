"""Structural reduction of a failing program, after Hypothesis has shrunk it.

Hypothesis shrinks the machine's choices, but the machines pick nodes by index
modulo the candidates, so deleting an unused signal shifts every later pick
and Hypothesis often keeps it. Here the program itself is reduced: delete
steps (renumbering node references), flatten batches, drop effect options and
inputs, lower values, and keep each change that still shows the same
property/kind on a fresh runtime. Greedy, to a fixed point.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from glitchless.properties.harness import InvalidStep, Session
from glitchless.properties.hooks import Violation
from glitchless.properties.model import AddComputed, AddEffect, AddSignal, EffectWrite, arity_range
from glitchless.properties.program import Batch, Dispose, Program, Read, Set, Step
from glitchless.properties.targets import Target


class _Referenced(Exception):
    pass


def shows(program: Program, target: Target, label: str) -> bool:
    """Does running `program` on a fresh runtime of `target` break `label` (property/kind)?"""
    return first_violation(program, target, label) is not None


def first_violation(program: Program, target: Target, label: str) -> tuple[Violation, Program] | None:
    """The first violation of `label` running `program` on a fresh runtime, with the program as
    executed (equal writes record the value they wrote then); None if it does not show."""
    session = Session(target.make(), program.domain, {label}, target.unsupported)
    try:
        found = session.run(program.steps)
    except InvalidStep:
        return None
    finally:
        session.close()
    first = next((v for v in found if v.label == label), None)
    return None if first is None else (first, session.program)


def reduce_program(program: Program, target: Target, label: str, max_attempts: int = 3000) -> Program:
    """The smallest program found, by greedy one-change steps, that still shows `label`."""
    if not shows(program, target, label):
        return program
    current = program
    attempts = 0
    improved = True
    while improved and attempts < max_attempts:
        improved = False
        for candidate in _candidates(current):
            attempts += 1
            if shows(candidate, target, label):
                current = candidate
                improved = True
                break
            if attempts >= max_attempts:
                break
    return current


def _candidates(p: Program) -> Iterator[Program]:
    steps = list(p.steps)
    # 1. delete a whole step, last first (everything after the failure goes at once)
    for i in range(len(steps) - 1, -1, -1):
        try:
            yield Program(p.domain, tuple(_delete(steps, i)))
        except _Referenced:
            continue
    # 2. a top-level batch becomes its steps, each flushed on its own
    for i, step in enumerate(steps):
        if isinstance(step, Batch) and step.steps:
            yield Program(p.domain, tuple(steps[:i] + list(step.steps) + steps[i + 1:]))
    # 3. simplify one step in place
    for i, step in enumerate(steps):
        for simpler in _simpler(step):
            yield Program(p.domain, tuple(steps[:i] + [simpler] + steps[i + 1:]))
    # 4. lower signal initial values
    for i, step in enumerate(steps):
        if isinstance(step, AddSignal) and step.init > 0:
            for v in range(step.init):
                yield Program(p.domain, tuple(steps[:i] + [AddSignal(v)] + steps[i + 1:]))


def _delete(steps: list[Step], i: int) -> list[Step]:
    step = steps[i]
    rest = steps[:i] + steps[i + 1:]
    if not isinstance(step, AddSignal | AddComputed | AddEffect):
        return rest
    node = sum(1 for s in steps[:i] if isinstance(s, AddSignal | AddComputed | AddEffect))
    return [_renumber(s, node) for s in rest]


def _renumber(step: Step, removed: int) -> Step:
    def r(n: int) -> int:
        if n == removed:
            raise _Referenced
        return n - 1 if n > removed else n

    if isinstance(step, AddSignal):
        return step
    if isinstance(step, AddComputed):
        return AddComputed(step.fn, tuple(r(n) for n in step.inputs))
    if isinstance(step, AddEffect):
        w = step.write
        return AddEffect(
            step.fn,
            tuple(r(n) for n in step.inputs),
            step.cleanup,
            None if w is None else EffectWrite(r(w.target), w.kind, w.value),
            None if step.untracked is None else r(step.untracked),
        )
    if isinstance(step, Set):
        return replace(step, signal=r(step.signal))
    if isinstance(step, Read):
        return replace(step, node=r(step.node))
    if isinstance(step, Dispose):
        return Dispose(r(step.node))
    return Batch(tuple(_renumber(s, removed) for s in step.steps))


def _simpler(step: Step) -> Iterator[Step]:
    if isinstance(step, AddComputed | AddEffect):
        lo, _ = arity_range(step.fn)
        if len(step.inputs) > lo:
            for j in range(len(step.inputs)):
                yield replace(step, inputs=step.inputs[:j] + step.inputs[j + 1:])
        if step.fn != "sum" and len(step.inputs) <= 3:
            yield replace(step, fn="sum")
    if isinstance(step, AddEffect):
        if step.write is not None:
            yield replace(step, write=None)
            if step.write.kind == "clamp":
                yield replace(step, write=replace(step.write, kind="const"))
        if step.untracked is not None:
            yield replace(step, untracked=None)
        if step.cleanup:
            yield replace(step, cleanup=False)
    if isinstance(step, Set):
        if step.mode != "new":
            yield Set(step.signal, step.value, "new")
        elif step.value > 0:
            for v in range(step.value):
                yield Set(step.signal, v)
    if isinstance(step, Read) and step.how != "get":
        yield Read(step.node, "get")
    if isinstance(step, Batch):
        inner = list(step.steps)
        for j in range(len(inner) - 1, -1, -1):
            yield Batch(tuple(inner[:j] + inner[j + 1:]))
        for j, s in enumerate(inner):
            if isinstance(s, Batch):  # unwrap a nested batch into this one
                yield Batch(tuple(inner[:j] + list(s.steps) + inner[j + 1:]))
            for simpler in _simpler(s):
                yield Batch(tuple(inner[:j] + [simpler] + inner[j + 1:]))
