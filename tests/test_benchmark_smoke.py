"""Smoke test for benchmarks/propagation.py: every workload still runs and checks out.

Runs each workload once, at a very small size, on the glitchless kernel only.
Nothing here is timed; the point is that a broken workload, expectation or
adapter fails CI instead of producing a misleading benchmark table.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "propagation.py"
MODULE_NAME = "_glitchless_bench_propagation"


def _load() -> ModuleType:
    if MODULE_NAME in sys.modules:
        return sys.modules[MODULE_NAME]
    spec = importlib.util.spec_from_file_location(MODULE_NAME, BENCH_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


bench = _load()
WORKLOAD_NAMES = [w.name for w in bench.WORKLOADS]


def test_covers_the_kairo_and_cellx_shapes() -> None:
    assert WORKLOAD_NAMES == [
        "deep", "broad", "diamond", "triangle", "mux", "repeated",
        "unstable", "avoidable", "cellx1000", "cellx5000",
    ]


@pytest.mark.parametrize("name", WORKLOAD_NAMES)
def test_workload_is_correct_on_glitchless(name: str) -> None:
    verdicts = bench.check_workloads(bench.GlitchlessKernel, "tiny", [name])
    assert verdicts == {name: "ok"}


def test_cellx_expectation_matches_the_published_1000_layer_values() -> None:
    # The reference benchmark lists these first/last values for 1,000 layers.
    expected = bench.expect_cellx(1000)
    assert expected["before"] == [-3, -6, -2, 2]
    assert expected["after"] == [-2, -4, 2, 3]


def test_the_checker_catches_a_kernel_that_does_avoidable_work() -> None:
    class NoMemo(bench.GlitchlessKernel):  # type: ignore[misc, name-defined]
        """Computeds that are plain functions: right values, wasted evaluations."""

        name = "no-memo"

        def computed(self, fn: Any) -> Any:
            return fn

    verdicts = bench.check_workloads(NoMemo, "tiny", ["avoidable", "diamond"])
    assert verdicts["avoidable"].startswith("WRONG (expected")
    assert verdicts["diamond"].startswith("WRONG (expected")


def test_errors_are_reported_not_raised() -> None:
    class Broken(bench.GlitchlessKernel):  # type: ignore[misc, name-defined]
        name = "broken"

        def batch(self) -> Any:
            raise RuntimeError("no batches here")

    verdicts = bench.check_workloads(Broken, "tiny", ["deep"])
    assert verdicts["deep"].startswith("error: RuntimeError")
