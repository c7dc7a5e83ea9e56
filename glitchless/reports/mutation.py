"""`glitchless mutate`: mutmut on the kernel, turned into reports/mutation.json and a readable summary.

Survivors are either killed by new tests or listed, with a reason, in
`mutation-equivalents.toml`: a reviewed list of mutants that change no
behaviour. An entry names the function and the line before and after the
mutation, so it survives mutmut renumbering its mutants.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPORT_PATH = Path("reports/mutation.json")
SUMMARY_PATH = Path("reports/mutation.md")
EQUIVALENTS_PATH = Path("mutation-equivalents.toml")
_RESULT_LINE = re.compile(r"^\s*(\S+): (.+)$")
_HUNK = re.compile(r"^@@ -(\d+)")


@dataclass
class Mutant:
    name: str
    status: str
    file: str = ""
    line: int = 0
    diff: str = ""
    equivalent_reason: str = ""


@dataclass
class MutationReport:
    mutants: list[Mutant]
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        counts: dict[str, int] = {}
        for m in self.mutants:
            counts[m.status] = counts.get(m.status, 0) + 1
        self.counts = dict(sorted(counts.items()))

    @property
    def survivors(self) -> list[Mutant]:
        return [m for m in self.mutants if m.status in ("survived", "no tests") and not m.equivalent_reason]

    @property
    def equivalents(self) -> list[Mutant]:
        return [m for m in self.mutants if m.equivalent_reason]

    @property
    def scored(self) -> int:
        """Mutants that count: all of them but the reviewed equivalents and those mutmut skipped."""
        return len(self.mutants) - len(self.equivalents) - self.counts.get("skipped", 0)

    @property
    def killed_percent(self) -> float:
        return 100.0 * self.counts.get("killed", 0) / self.scored if self.scored else 100.0

    @property
    def detected_percent(self) -> float:
        """Killed or timed out: a timeout is a mutant that made the tests hang, which they noticed."""
        detected = self.counts.get("killed", 0) + self.counts.get("timeout", 0)
        return 100.0 * detected / self.scored if self.scored else 100.0

    def to_json(self) -> dict[str, Any]:
        return {
            "total": len(self.mutants),
            "counts": self.counts,
            "equivalent": len(self.equivalents),
            "scored": self.scored,
            "killed_percent": round(self.killed_percent, 2),
            "detected_percent": round(self.detected_percent, 2),
            "seconds": round(self.seconds, 1),
            "survivors": [asdict(m) for m in self.survivors],
            "equivalents": [asdict(m) for m in self.equivalents],
        }


def load_equivalents(path: Path = EQUIVALENTS_PATH) -> list[dict[str, str]]:
    if not path.exists():
        return []
    entries = tomllib.loads(path.read_text()).get("equivalent", [])
    for e in entries:
        missing = {"function", "before", "after", "reason"} - set(e)
        if missing:
            raise ValueError(f"{path}: an equivalent-mutant entry lacks {', '.join(sorted(missing))}: {e}")
    return list(entries)


def changed_lines(diff: str) -> tuple[str, str]:
    before = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    after = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    return "\n".join(before), "\n".join(after)


def function_of(name: str) -> str:
    """`glitchless.kernel.reactive.xǁRuntimeǁ_refresh__mutmut_12` -> `Runtime._refresh`."""
    stem = name.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[-1]
    if stem.startswith("xǁ"):
        return ".".join(stem[2:].split("ǁ"))
    return stem[2:] if stem.startswith("x_") else stem


def locate(name: str, diff: str) -> tuple[str, int]:
    """The file and line a mutant changed: mutmut's hunks count from the function's first line."""
    module = name.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[0]
    path = Path(*module.split(".")).with_suffix(".py")
    func = function_of(name)
    offset = 0
    for i, ln in enumerate(diff.splitlines()):
        m = _HUNK.match(ln)
        if m:
            start = int(m.group(1))
            body = diff.splitlines()[i + 1 :]
            for j, b in enumerate(x for x in body if not x.startswith("+")):
                if b.startswith("-"):
                    offset = start + j
                    break
            break
    try:
        tree = ast.parse(path.read_text())
    except OSError:
        return str(path), 0
    parts = func.split(".")
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == parts[-1]:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            return str(path), first + max(offset - 1, 0)
    return str(path), 0


def _mutmut(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("mutmut")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd)


def collect_statuses(cwd: Path | None = None) -> list[Mutant]:
    """Every mutant mutmut knows of (in `cwd`) and its status, without the diffs."""
    listing = _mutmut("results", "--all", "true", cwd=cwd).stdout
    mutants: list[Mutant] = []
    for line in listing.splitlines():
        m = _RESULT_LINE.match(line)
        if m:
            mutants.append(Mutant(m.group(1), m.group(2).strip()))
    return mutants


def collect(
    seconds: float, equivalents: list[dict[str, str]], cwd: Path | None = None, names: set[str] | None = None
) -> MutationReport:
    """Read mutmut's results (from the run made in `cwd`, default the current directory; only `names` if given)."""
    mutants = [m for m in collect_statuses(cwd) if names is None or m.name in names]
    open_ones = [m for m in mutants if m.status in ("survived", "no tests")]
    # One `mutmut show` process per mutant, mostly start-up time: a few at once.
    with ThreadPoolExecutor(max_workers=4) as pool:
        diffs = list(pool.map(lambda m: _mutmut("show", m.name, cwd=cwd).stdout.strip(), open_ones))
    for mutant, diff in zip(open_ones, diffs):
        mutant.diff = diff
        mutant.file, mutant.line = locate(mutant.name, mutant.diff)
        before, after = changed_lines(mutant.diff)
        for e in equivalents:
            if e["function"] == function_of(mutant.name) and e["before"].strip() == before and e["after"].strip() == after:
                mutant.equivalent_reason = e["reason"]
                break
    return MutationReport(mutants, seconds)


def run_mutmut(max_children: int | None = None, cwd: Path | None = None, names: list[str] | None = None) -> float:
    """`mutmut run` in `cwd` (its [tool.mutmut] decides what is mutated and tested); the seconds it took.

    With `names`, only those mutants are run.
    """
    children = max_children or os.cpu_count() or 2
    started = time.perf_counter()  # measuring the run itself; nothing under test reads this
    run = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "run", "--max-children", str(children),
                          *(names or [])], cwd=cwd)
    seconds = time.perf_counter() - started
    if run.returncode not in (0, 1):
        raise RuntimeError(f"mutmut run exited with status {run.returncode}")
    return seconds


def run_mutation(max_children: int | None = None) -> MutationReport:
    equivalents = load_equivalents()
    seconds = run_mutmut(max_children)
    report = collect(seconds, equivalents)
    write(report)
    return report


def write(report: MutationReport) -> None:
    REPORT_PATH.parent.mkdir(parents=True, exist_ok=True)
    REPORT_PATH.write_text(json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    SUMMARY_PATH.write_text(format_summary(report) + "\n")


def format_summary(report: MutationReport, title: str = "Mutation testing: glitchless/kernel") -> str:
    c = report.counts
    lines = [
        f"# {title}",
        "",
        f"- mutants: {len(report.mutants)} (reviewed equivalent: {len(report.equivalents)}, scored: {report.scored})",
        f"- killed: {c.get('killed', 0)}, survived: {c.get('survived', 0)}, timed out: {c.get('timeout', 0)}, "
        f"no tests: {c.get('no tests', 0)}, suspicious: {c.get('suspicious', 0)}",
        f"- score (killed / scored): {report.killed_percent:.1f}%; detected (killed or timed out): "
        f"{report.detected_percent:.1f}%",
        f"- run time: {report.seconds:.0f} s",
        "",
    ]
    if report.survivors:
        lines += ["## Survivors", ""]
        for m in report.survivors:
            lines += [f"### {m.file}:{m.line} `{function_of(m.name)}` ({m.status})", "", "```diff", m.diff, "```", ""]
    else:
        lines += ["No survivors outside the reviewed equivalents.", ""]
    if report.equivalents:
        lines += ["## Reviewed equivalent mutants", ""]
        for m in report.equivalents:
            lines.append(f"- {m.file}:{m.line} `{function_of(m.name)}`: {m.equivalent_reason}")
    return "\n".join(lines)
