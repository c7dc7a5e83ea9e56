"""`glitchless coverage`: a project's tests (and its registered scenarios) under pytest-cov.

Measures the packages `[tool.glitchless] source` names (see glitchless.reports.project), records
reactive-graph coverage alongside (glitchless.reports.pytest_graph), and writes under the
project's reports/: coverage/ (HTML, XML, JSON, summary.json) and graph-coverage.json. The child
run writes into a scratch directory that replaces the previous results only when it finishes,
so an interrupted run leaves the last complete results in place.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from glitchless.reports.project import Floor, Project, append_history, stamp


@dataclass(frozen=True)
class Figures:
    statements: int
    covered_lines: int
    branches: int
    covered_branches: int

    @property
    def line_percent(self) -> float:
        return 100.0 * self.covered_lines / self.statements if self.statements else 100.0

    @property
    def branch_percent(self) -> float:
        return 100.0 * self.covered_branches / self.branches if self.branches else 100.0


@dataclass(frozen=True)
class CoverageSummary:
    total: Figures
    packages: dict[str, Figures]
    tests: dict[str, Any] = field(default_factory=dict)  # the test run's outcome: a failing run is shown
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def fig(f: Figures) -> dict[str, Any]:
            return {**asdict(f), "line_percent": round(f.line_percent, 2), "branch_percent": round(f.branch_percent, 2)}

        return {"total": fig(self.total), "packages": {k: fig(v) for k, v in self.packages.items()},
                "tests": self.tests, **self.info}


def package_of(path: str) -> str:
    """`myteam/core/x.py` -> `myteam.core`, `myteam/x.py` -> `myteam`, `src/myteam/x.py` -> `myteam`."""
    parts = Path(path).parts
    if len(parts) > 1 and parts[0] in ("src", "lib"):
        parts = parts[1:]
    return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


def summarise(coverage_json: dict[str, Any]) -> CoverageSummary:
    """Group coverage.py's per-file JSON by package (myteam, myteam.core, ...)."""
    sums: dict[str, list[int]] = {}
    for path, data in coverage_json["files"].items():
        s = data["summary"]
        acc = sums.setdefault(package_of(path), [0, 0, 0, 0])
        acc[0] += s["num_statements"]
        acc[1] += s["covered_lines"]
        acc[2] += s.get("num_branches", 0)
        acc[3] += s.get("covered_branches", 0)
    t = coverage_json["totals"]
    total = Figures(t["num_statements"], t["covered_lines"], t.get("num_branches", 0), t.get("covered_branches", 0))
    return CoverageSummary(total, {k: Figures(*v) for k, v in sorted(sums.items())})


def below_floors(summary: CoverageSummary, floors: dict[str, Floor]) -> list[str]:
    """Each floor the figures miss, as one line; a floor naming no measured package is one too."""
    short = []
    for key, floor in floors.items():
        figures = summary.total if key == "total" else summary.packages.get(key)
        if figures is None:
            known = ", ".join(["total", *summary.packages])
            short.append(f"[tool.glitchless] floors.{key}: no such measured package (measured: {known})")
            continue
        if floor.lines is not None and figures.line_percent < floor.lines:
            short.append(f"{key} line coverage {figures.line_percent:.1f}% < {floor.lines:g}%")
        if floor.branches is not None and figures.branch_percent < floor.branches:
            short.append(f"{key} branch coverage {figures.branch_percent:.1f}% < {floor.branches:g}%")
    return short


def pytest_command(project: Project, out: Path, extra: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-p", "glitchless.reports.pytest_graph",
        f"--glitchless-packages={','.join(project.source)}",
        f"--glitchless-graph-out={out / 'graph-coverage.json'}",
        f"--glitchless-tests-out={out / 'tests.json'}",
        *(f"--cov={pkg}" for pkg in project.source),
        "--cov-branch",
        f"--cov-report=html:{out / 'html'}",
        f"--cov-report=xml:{out / 'coverage.xml'}",
        f"--cov-report=json:{out / 'coverage.json'}",
        *project.tests,
        *extra,
    ]


@dataclass
class CoverageRun:
    status: int
    summary: CoverageSummary | None
    graph: dict[str, Any] | None
    below: list[str]


def run_coverage(project: Project, extra_pytest_args: list[str] | None = None, *, quiet: bool = False) -> CoverageRun:
    """Run the project's tests and scenarios with line, branch and graph coverage; keep the results."""
    from glitchless.cli_support import progress, shows_progress

    reports = project.root / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".coverage-run-", dir=reports))
    progress_file = scratch / "progress"
    env = {**os.environ, "GLITCHLESS_PROGRESS_FILE": str(progress_file)}
    log = scratch / "pytest.log"
    showing = shows_progress(quiet)  # then pytest's own output goes to the log, not under the bar
    try:
        with progress("coverage: running the tests", total=None, unit="tests", quiet=quiet) as bar:
            command = pytest_command(project, scratch, extra_pytest_args or [])
            with log.open("w") as log_fp:
                # pytest's output names the scratch directory; say where its files end up instead.
                child = subprocess.Popen(command, cwd=project.root, env=env, stdout=log_fp if showing else subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
                try:
                    if child.stdout is not None:  # no bar: pytest's output as it comes
                        for line in child.stdout:
                            print(line.replace(str(scratch), str(Path("reports") / "coverage")), end="", flush=True)
                            _show_progress(progress_file, bar)  # counted for "interrupted after N of M"
                    while True:
                        try:
                            status = child.wait(timeout=0.25)  # polls the child's progress for the bar
                            break
                        except subprocess.TimeoutExpired:
                            _show_progress(progress_file, bar)
                except BaseException:
                    child.wait()  # Ctrl-C reached the child too; let it end before cleaning up
                    raise
            _show_progress(progress_file, bar)
        if showing:
            _print_tail(log, scratch)
        json_path = scratch / "coverage.json"
        if not json_path.exists():
            return CoverageRun(status or 1, None, None, [])
        summary = summarise(json.loads(json_path.read_text()))
        tests = _load(scratch / "tests.json") or {"exit_status": status}
        summary = CoverageSummary(summary.total, summary.packages, tests,
                                  {**stamp(project), "source": list(project.source)})
        below = below_floors(summary, project.floors)
        (scratch / "summary.json").write_text(
            json.dumps({**summary.to_json(), "below_floors": below}, indent=2, sort_keys=True) + "\n")
        graph = _load(scratch / "graph-coverage.json")
        _replace(scratch, reports)
        append_history(project, {
            "kind": "coverage", **{k: summary.info[k] for k in ("generated_at", "commit", "glitchless")},
            "line_percent": round(summary.total.line_percent, 2),
            "branch_percent": round(summary.total.branch_percent, 2),
            "tests_failed": int(tests.get("failed", 0)) + int(tests.get("errors", 0)),
            "graph": {k: [len(v["covered"]), len(v["covered"]) + len(v["missed"])] for k, v in (graph or {}).items()},
        })
        return CoverageRun(status, summary, graph, below)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _show_progress(path: Path, bar: Any) -> None:
    try:
        lines = path.read_text().split()
    except OSError:
        return
    totals = [int(x[6:]) for x in lines if x.startswith("total=")]
    if totals and bar.total != totals[-1]:
        bar.set_total(totals[-1])
    done = lines.count("done")
    if done > bar.done:
        bar.advance(done - bar.done)


def _print_tail(log: Path, scratch: Path) -> None:
    """pytest's own summary (failures and the closing line) after the bar has gone."""
    text = log.read_text(errors="replace").replace(str(scratch), str(Path("reports") / "coverage")).splitlines()
    start = next((i for i, ln in enumerate(text) if ln.startswith(("=", "FAILED", "ERROR"))), max(len(text) - 3, 0))
    print("\n".join(ln for ln in text[start:] if not ln.startswith(("-" * 10, "Name ", "TOTAL"))))


def _replace(scratch: Path, reports: Path) -> None:
    target = reports / "coverage"
    fresh = scratch / "coverage"
    fresh.mkdir()
    for name in ("html", "coverage.xml", "coverage.json", "summary.json", "tests.json", "pytest.log"):
        if (scratch / name).exists():
            shutil.move(str(scratch / name), fresh / name)
    if target.exists():
        shutil.rmtree(target)
    shutil.move(str(fresh), target)
    if (scratch / "graph-coverage.json").exists():
        os.replace(scratch / "graph-coverage.json", reports / "graph-coverage.json")


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def format_summary(summary: CoverageSummary) -> str:
    rows = [f"{'package':<24} {'lines':>14} {'line %':>7} {'branches':>12} {'branch %':>8}"]
    for name, f in [*summary.packages.items(), ("total", summary.total)]:
        rows.append(
            f"{name:<24} {f.covered_lines:>6}/{f.statements:<7} {f.line_percent:>6.1f}% "
            f"{f.covered_branches:>5}/{f.branches:<6} {f.branch_percent:>7.1f}%"
        )
    t = summary.tests
    if t:
        rows.append(f"tests: {t.get('passed', 0)} passed, {t.get('failed', 0)} failed, {t.get('errors', 0)} errors, "
                    f"{t.get('skipped', 0)} skipped")
    return "\n".join(rows)
