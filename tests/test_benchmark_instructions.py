"""benchmarks/instructions.py: its workload sizes are real workloads, and bad input is refused by name.

Counting needs valgrind and takes minutes; what runs here is the part that must not
rot when bench.py changes: each size set builds, evaluates and updates its workload.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import benchmark_scripts

instructions = benchmark_scripts.load("instructions")
bench = benchmark_scripts.load("bench")
PATH = benchmark_scripts.BENCHMARKS / "instructions.py"


@pytest.mark.parametrize("workload", sorted(instructions.SIZES))
def test_each_counted_workload_runs_and_checks_out_at_its_size(workload: str) -> None:
    w = bench.BY_NAME[workload]
    k = bench.make_kernel("glitchless")
    graph = w.build(k, **instructions.SIZES[workload])
    graph.first()
    assert bench.compare(w.expect(**instructions.SIZES[workload]), graph.update()) == "ok"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(PATH), *args], capture_output=True, text=True)


def test_an_unknown_workload_is_refused_by_name() -> None:
    run = _cli("--base", "HEAD", "--workloads", "cellx1k,nosuch")
    assert run.returncode == 2
    assert "unknown workload(s): nosuch" in run.stderr


def test_a_base_is_required() -> None:
    run = _cli()
    assert run.returncode == 2
    assert "--base" in run.stderr
