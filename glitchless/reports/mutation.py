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

from glitchless.reports.project import Project, append_history, stamp

REPORT_PATH = Path("reports/mutation.json")  # relative to the project's root
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
    title: str = "glitchless/kernel"  # what was mutated, as the summary's heading says
    info: dict[str, Any] = field(default_factory=dict)  # the run's stamp: date, commit, versions

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
            "survivors": [{**asdict(m), "function": function_of(m.name)} for m in self.survivors],
            "equivalents": [{**asdict(m), "function": function_of(m.name)} for m in self.equivalents],
            "title": self.title,
            **self.info,
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


def locate(name: str, diff: str, root: Path = Path()) -> tuple[str, int]:
    """The file and line a mutant changed: mutmut's hunks count from the function's first line."""
    module = name.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[0]
    path = Path(*module.split(".")).with_suffix(".py")
    if not (root / path).exists() and (root / "src" / path).exists():
        path = Path("src") / path
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
        tree = ast.parse((root / path).read_text())
    except OSError:
        return str(path), 0
    parts = func.split(".")
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == parts[-1]:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            return str(path), first + max(offset - 1, 0)
    return str(path), 0


def _mutmut(project: Project, *args: str, capture: bool = True) -> subprocess.CompletedProcess[str]:
    """mutmut with the project's settings (its own [tool.mutmut], else made from [tool.glitchless])."""
    if project.mutmut is not None:
        # mutmut reads the project's own table itself. Run it directly: the launcher imports glitchless
        # first, and a mutated glitchless (checker-score's scratch copy) must be imported from mutants/.
        cmd = [str(Path(sys.executable).with_name("mutmut")), *args]
    else:
        cmd = [sys.executable, "-m", "glitchless.reports.mutmut_launch", json.dumps(project.mutmut_config()), *args]
    return subprocess.run(cmd, cwd=project.root, capture_output=capture, text=True)


def collect_statuses(project: Project) -> list[Mutant]:
    """Every mutant mutmut knows of in the project and its status, without the diffs."""
    listing = _mutmut(project, "results", "--all", "true").stdout
    mutants: list[Mutant] = []
    for line in listing.splitlines():
        m = _RESULT_LINE.match(line)
        if m:
            mutants.append(Mutant(m.group(1), m.group(2).strip()))
    return mutants


def collect(project: Project, seconds: float, equivalents: list[dict[str, str]], *, quiet: bool = False,
            names: set[str] | None = None) -> MutationReport:
    """Every mutant's status (only `names` if given), and each survivor's diff and place (with a progress bar)."""
    from glitchless.cli_support import progress

    mutants = [m for m in collect_statuses(project) if names is None or m.name in names]
    open_ones = [m for m in mutants if m.status in ("survived", "no tests")]
    with progress("mutate: collecting survivors", total=len(open_ones), unit="survivors", quiet=quiet) as bar:
        for mutant in open_ones:
            mutant.diff = _mutmut(project, "show", mutant.name).stdout.strip()
            mutant.file, mutant.line = locate(mutant.name, mutant.diff, project.root)
            before, after = changed_lines(mutant.diff)
            for e in equivalents:
                if e["function"] == function_of(mutant.name) and e["before"].strip() == before and e["after"].strip() == after:
                    mutant.equivalent_reason = e["reason"]
                    break
            bar.advance()
    return MutationReport(mutants, seconds, title=title_of(project), info=stamp(project))


def title_of(project: Project) -> str:
    paths = project.mutmut_config().get("source_paths") or project.source_dirs
    return f"{project.name} ({', '.join(str(p).rstrip('/') for p in paths)})"


def run_mutmut(project: Project, max_children: int | None = None, names: list[str] | None = None) -> float:
    """`mutmut run` on the project (only `names` if given); the seconds it took."""
    from glitchless.cli_support import progress

    children = max_children or os.cpu_count() or 2
    started = time.perf_counter()  # measuring the run itself; nothing under test reads this
    # mutmut draws its own running count of mutants; the block turns Ctrl-C into "interrupted".
    with progress("mutate: mutmut run", total=None, unit="mutants", quiet=True):
        run = _mutmut(project, "run", "--max-children", str(children), *(names or []), capture=False)
    seconds = time.perf_counter() - started
    if run.returncode not in (0, 1):
        raise RuntimeError(f"mutmut run exited with status {run.returncode}")
    return seconds


def run_mutation(project: Project, max_children: int | None = None, *, quiet: bool = False) -> MutationReport:
    """mutmut run on the project, then its results as reports/mutation.json and .md (written only at the end)."""
    equivalents = load_equivalents(project.root / EQUIVALENTS_PATH)
    seconds = run_mutmut(project, max_children)
    report = collect(project, seconds, equivalents, quiet=quiet)
    if not report.mutants:
        raise RuntimeError(f"mutmut produced no mutants of {title_of(project)} (see mutmut's output above)")
    write(report, project.root)
    append_history(project, {
        "kind": "mutation", **{k: report.info[k] for k in ("generated_at", "commit", "glitchless")},
        "killed_percent": round(report.killed_percent, 2), "survivors": len(report.survivors),
        "total": len(report.mutants),
    })
    return report


def write(report: MutationReport, root: Path = Path()) -> None:
    from glitchless.cli_support import write_atomic

    write_atomic(root / REPORT_PATH, json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    write_atomic(root / SUMMARY_PATH, format_summary(report) + "\n")


def format_summary(report: MutationReport, title: str = "") -> str:
    c = report.counts
    lines = [
        f"# {title or 'Mutation testing: ' + report.title}",
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
