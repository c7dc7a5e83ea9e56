"""Fresh copies of the glitchless kernel with one bug planted in each, for the property tests.

Each copy is loaded from the kernel's source file under its own module name,
then patched; the real `glitchless.kernel.reactive` is never touched.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType
from typing import Any

import glitchless.kernel.reactive as real

_counter = itertools.count()


def fresh_kernel() -> ModuleType:
    """An independent copy of glitchless.kernel.reactive (its own classes and globals)."""
    name = f"_planted_reactive_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, Path(real.__file__).with_name("reactive.py"))  # the source, even when the .so is loaded
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def no_equality_cutoff() -> ModuleType:
    """A computed that recomputes to an equal value still counts as changed."""
    k = fresh_kernel()
    k.Computed._same = lambda self, old, new: False
    return k


def effect_runs_twice() -> ModuleType:
    """Every effect run is immediately repeated: twice per flush (and at creation)."""
    k = fresh_kernel()
    run_effect = k.Runtime._run_effect

    def twice(self: Any, e: Any) -> None:
        run_effect(self, e)
        if not e._disposed:
            run_effect(self, e)

    k.Runtime._run_effect = twice
    return k


def stale_computed() -> ModuleType:
    """A write marks only direct dependents: computeds further out keep a stale cached value."""
    k = fresh_kernel()

    def mark(self: Any, origin: Any) -> None:
        for node in origin._subs:
            state = node._state
            node._state = k.DIRTY
            if state == k.CLEAN and node._subs is None:
                self._pending.append(node)

    k.Runtime._mark = mark
    return k


PLANTED = {
    "no-equality-cutoff": no_equality_cutoff,
    "effect-runs-twice": effect_runs_twice,
    "stale-computed": stale_computed,
}
