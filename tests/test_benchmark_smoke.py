"""Smoke test for benchmarks/bench.py: every workload still runs and checks out.

Nothing here asserts a speed. The point is that a broken workload, expectation,
hand-called limit or adapter fails CI instead of producing a misleading table.
Workloads run in-process at their --quick sizes; one test drives the real
command line (subprocess per run) on a single small workload.
"""

from __future__ import annotations

import gc
import re
from typing import Any

import pytest

import benchmark_scripts

bench = benchmark_scripts.load("bench")
WORKLOAD_NAMES = [w.name for w in bench.WORKLOADS]


def test_covers_the_workloads_the_issue_names() -> None:
    assert WORKLOAD_NAMES == [
        "avoidable", "broad", "deep", "diamond", "mux", "repeated", "triangle", "unstable",
        "cellx1k", "cellx5k", "cellx10k", "cellx50k", "signals100k", "fanout10k",
    ]
    assert bench.BY_NAME["cellx50k"].full == {"layers": 50_000}
    assert bench.BY_NAME["signals100k"].full["signals"] == 100_000
    assert bench.BY_NAME["fanout10k"].full["width"] == 10_000


@pytest.mark.parametrize("name", WORKLOAD_NAMES)
@pytest.mark.parametrize("kernel", ["glitchless", "limit"])
def test_workload_is_correct_on_glitchless_and_on_the_hand_called_limit(kernel: str, name: str) -> None:
    out = bench.run_workload(kernel, name, "quick")
    assert out.get("error") is None
    assert out["verdict"] == "ok"
    assert {"build", "first", "update"} <= out.keys()


def test_cellx_expectation_matches_the_published_1000_layer_values() -> None:
    # The reference benchmark lists these first/last values for 1,000 layers.
    expected = bench.expect_cellx(1000)
    assert expected["before"] == [-3, -6, -2, 2]
    assert expected["after"] == [-2, -4, 2, 3]


class _NoMemo(bench.Kernel):  # type: ignore[misc, name-defined]
    """Computeds that are plain functions: right values, wasted evaluations."""

    def computed(self, fn: Any) -> Any:
        return fn


def test_the_checker_flags_a_kernel_that_does_avoidable_work_as_wrong() -> None:
    from glitchless.kernel.reactive import Runtime

    for name in ("avoidable", "diamond"):
        out = bench.run_workload("no-memo", name, "quick", k=_NoMemo(Runtime()))
        assert out["verdict"].startswith("WRONG"), out


def test_without_cut_off_extra_evaluations_are_marked_but_wrong_values_are_not_excused() -> None:
    expected = {"effect_runs": 0, "reads": [6, 6]}
    assert bench.compare(expected, {"effect_runs": 2, "reads": [6, 6]}, cutoff=False).startswith("nc (")
    assert bench.compare(expected, {"effect_runs": 2, "reads": [6, 6]}, cutoff=True).startswith("WRONG")
    assert bench.compare(expected, {"effect_runs": 0, "reads": [6, 7]}, cutoff=False).startswith("WRONG")


def test_errors_are_reported_not_raised() -> None:
    from glitchless.kernel.reactive import Runtime

    class Broken(bench.Kernel):  # type: ignore[misc, name-defined]
        def batch(self) -> Any:
            raise RuntimeError("no batches here")

    out = bench.run_workload("broken", "deep", "quick", k=Broken(Runtime()))
    assert out["error"].startswith("RuntimeError in update")


def test_memory_figures_are_positive_for_every_kind() -> None:
    out = bench.measure_memory("glitchless", 50)
    assert set(out) == {"signal", "computed", "effect"}
    assert all(v > 0 for v in out.values()), out


def test_the_command_line_runs_a_workload_in_fresh_interpreters(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--quick", "--kernels", "limit,glitchless", "--workloads", "deep",
                       "--memory-nodes", "20"]) == 0
    out = capsys.readouterr().out
    assert "deep" in out and "glitchless" in out
    assert re.search(r"^glitchless\s+limit\s+[0-9.]+", out, re.M)  # the ratio row against the limit
    assert "MET     glitchless correct on every workload" in out


def test_no_gc_turns_the_collector_off_in_the_timed_phases_and_judges_no_goal(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[bool] = []
    deep = bench.BY_NAME["deep"]

    def build(k: Any, **params: int) -> Any:
        seen.append(gc.isenabled())
        return deep.build(k, **params)

    monkeypatch.setitem(bench.BY_NAME, "deep", bench.Workload("deep", build, deep.expect, deep.full, deep.quick))
    assert bench.run_workload("glitchless", "deep", "quick")["verdict"] == "ok"
    monkeypatch.setenv(bench.GC_SWITCH, "off")
    try:
        assert bench.run_workload("glitchless", "deep", "quick")["verdict"] == "ok"
    finally:
        gc.enable()
    assert seen == [True, False]
    monkeypatch.delenv(bench.GC_SWITCH)
    assert bench.main(["--quick", "--no-gc", "--kernels", "glitchless", "--workloads", "deep",
                       "--memory-nodes", "20"]) == 0
    out = capsys.readouterr().out
    assert "garbage collector OFF" in out and "goals: not judged" in out and "MET" not in out


def test_bad_arguments_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench.main(["--kernels", "nope"])
    assert exc.value.code == 2
    assert "unknown kernel(s): nope" in capsys.readouterr().err
