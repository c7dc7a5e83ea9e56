"""benchmarks/instructions.py: its workload sizes are real workloads, and bad input is refused by name.

Counting needs valgrind and takes minutes; what runs here is the part that must not
rot when bench.py changes: each size set builds, evaluates and updates its workload.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "instructions.py"


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


instructions = _load("_glitchless_instructions", PATH)
bench = _load("_glitchless_bench", PATH.with_name("bench.py"))  # the name tests/test_benchmark_smoke.py uses


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
