#!/usr/bin/env python3
"""Instruction counts (callgrind) of the benchmark's workloads: one kernel source against another.

    python benchmarks/instructions.py --base REV [--head REV] [--workloads a,b,...] [--jobs N]

On a shared machine the timing benchmark (bench.py) moves by 10-20% between
runs, which hides a change worth 3%. Instructions counted by valgrind move by
well under 1% when the hash seed is fixed, so a kernel change is judged here
first and kept only if it pays; bench.py then gives the ratios the goals speak of.

How it is counted:
- `--base` (and `--head`, by default the working tree) are git revisions; the
  `glitchless` package of each is unpacked into a temporary directory;
- every workload runs build, first evaluation and updates once, at the sizes
  below (smaller than bench.py's: callgrind runs about 50x slower), in a fresh
  `python -S` (no site-packages, so the unpacked tree is the kernel that
  loads) under `valgrind --tool=callgrind` with PYTHONHASHSEED=0;
- the garbage collector is off during the run: when it collects depends on
  every allocation before, so its share would move with any change;
- the count of a bare run (imports, a runtime, no graph) is subtracted;
- it prints both counts per workload, head/base, and their geometric mean.
Cache misses and the garbage collector's walks are not counted: what they
cost, and growth with graph size, are bench.py's to measure.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES: dict[str, dict[str, int]] = {
    "avoidable": {"iters": 400, "work": 100},
    "broad": {"width": 50, "iters": 20},
    "deep": {"depth": 50, "iters": 40},
    "diamond": {"width": 5, "iters": 200},
    "mux": {"heads": 100, "rounds": 2},
    "repeated": {"size": 30, "iters": 200},
    "triangle": {"width": 10, "iters": 100},
    "unstable": {"size": 20, "iters": 100},
    "cellx1k": {"layers": 1000},
    "signals100k": {"signals": 10000, "group": 100, "writes": 100},
    "fanout10k": {"width": 2000, "iters": 4},
}
BARE = "-"  # the workload name of the bare run
COLLECTED = re.compile(r"Collected : (\d+)")


def worker(workload: str) -> None:
    """One run, inside callgrind: the unpacked tree is first on sys.path (python -S)."""
    sys.path.insert(0, str(HERE))
    sys.setrecursionlimit(100_000)
    import bench

    k = bench.make_kernel("glitchless")
    # Off: when a collection falls depends on every allocation before it, so it would move with
    # any change and blur the comparison; what the collector costs, bench.py measures.
    gc.collect()
    gc.disable()
    if workload != BARE:
        graph = bench.BY_NAME[workload].build(k, **SIZES[workload])
        graph.first()
        graph.update()


def unpack(rev: str, into: Path) -> Path:
    """The glitchless package of revision `rev`, alone, under `into`."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "glitchless"], capture_output=True)
    if archive.returncode:
        raise SystemExit(f"instructions.py: git archive {rev}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def count(python: str, tree: Path, workload: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-S", __file__, "--worker", workload],
        capture_output=True, text=True, env=env,
    )
    found = COLLECTED.search(run.stderr)
    if run.returncode or not found:
        tail = "\n".join(run.stderr.strip().splitlines()[-5:])
        raise SystemExit(f"instructions.py: {workload} failed under callgrind (tree {tree}):\n{tail}")
    return int(found.group(1))


def geomean(xs: Sequence[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        worker(argv[1])
        return 0
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--base", required=True, help="git revision to compare against")
    p.add_argument("--head", default=None, help="git revision to measure (default: the working tree)")
    p.add_argument("--workloads", default=",".join(SIZES), help="comma-separated (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runs at once (default: one per CPU)")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in SIZES]
    if unknown:
        p.error(f"unknown workload(s): {', '.join(unknown)} (known: {', '.join(SIZES)})")
    if args.jobs < 1:
        p.error("--jobs must be at least 1")
    if shutil.which("valgrind") is None:
        p.error("valgrind is not installed (Debian: apt install valgrind); bench.py times without it")
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="glitchless-instructions-") as tmp:
        head = Path(tmp) / "head"
        if args.head:
            unpack(args.head, head)
        else:  # copied too, so both trees load from paths of the same length and compile alike
            shutil.copytree(ROOT / "glitchless", head / "glitchless", ignore=shutil.ignore_patterns("__pycache__"))
        trees = {"base": unpack(args.base, Path(tmp) / "base"), "head": head}
        jobs = [(side, w) for w in [BARE, *names] for side in trees]
        with ThreadPoolExecutor(args.jobs) as pool:
            counts = dict(zip(jobs, pool.map(lambda job: count(python, trees[job[0]], job[1]), jobs)))
    head_name = args.head or "working tree"
    print(f"instructions (callgrind, PYTHONHASHSEED=0), bare run subtracted; head = {head_name}, base = {args.base}")
    print(f"{'workload':<12} {'base':>12} {'head':>12} {'head/base':>10}")
    ratios = []
    for w in names:
        base = counts[("base", w)] - counts[("base", BARE)]
        head = counts[("head", w)] - counts[("head", BARE)]
        ratios.append(head / base)
        print(f"{w:<12} {base:>12,} {head:>12,} {head / base:>10.3f}")
    print(f"{'geomean':<12} {'':>12} {'':>12} {geomean(ratios):>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
