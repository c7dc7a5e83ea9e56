"""`glitchless coverage`: the test suite under pytest-cov, summarised for the kernel and each package."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

COVERAGE_DIR = Path("reports/coverage")
KERNEL_PREFIX = "glitchless/kernel/"


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

    @property
    def kernel(self) -> Figures:
        return self.packages["glitchless.kernel"]

    def to_json(self) -> dict[str, Any]:
        def fig(f: Figures) -> dict[str, Any]:
            return {**asdict(f), "line_percent": round(f.line_percent, 2), "branch_percent": round(f.branch_percent, 2)}

        return {"total": fig(self.total), "packages": {k: fig(v) for k, v in self.packages.items()}}


def summarise(coverage_json: dict[str, Any]) -> CoverageSummary:
    """Group coverage.py's per-file JSON by package (glitchless.kernel, glitchless.fakes, ...)."""
    sums: dict[str, list[int]] = {}
    for path, data in coverage_json["files"].items():
        parts = Path(path).parts
        package = ".".join(parts[:2]) if len(parts) > 2 else parts[0]
        s = data["summary"]
        acc = sums.setdefault(package, [0, 0, 0, 0])
        acc[0] += s["num_statements"]
        acc[1] += s["covered_lines"]
        acc[2] += s.get("num_branches", 0)
        acc[3] += s.get("covered_branches", 0)
    t = coverage_json["totals"]
    total = Figures(t["num_statements"], t["covered_lines"], t.get("num_branches", 0), t.get("covered_branches", 0))
    return CoverageSummary(total, {k: Figures(*v) for k, v in sorted(sums.items())})


def run_coverage(extra_pytest_args: list[str] | None = None) -> tuple[int, CoverageSummary | None]:
    """Run the whole suite with line and branch coverage; write HTML, XML and JSON under reports/coverage/."""
    COVERAGE_DIR.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "--cov=glitchless", "--cov-branch",
        f"--cov-report=html:{COVERAGE_DIR / 'html'}",
        f"--cov-report=xml:{COVERAGE_DIR / 'coverage.xml'}",
        f"--cov-report=json:{COVERAGE_DIR / 'coverage.json'}",
        *(extra_pytest_args or []),
    ]
    status = subprocess.run(cmd).returncode
    json_path = COVERAGE_DIR / "coverage.json"
    if not json_path.exists():
        return status or 1, None
    summary = summarise(json.loads(json_path.read_text()))
    (COVERAGE_DIR / "summary.json").write_text(json.dumps(summary.to_json(), indent=2, sort_keys=True) + "\n")
    return status, summary


def format_summary(summary: CoverageSummary) -> str:
    rows = [f"{'package':<24} {'lines':>14} {'line %':>7} {'branches':>12} {'branch %':>8}"]
    for name, f in [*summary.packages.items(), ("total", summary.total)]:
        rows.append(
            f"{name:<24} {f.covered_lines:>6}/{f.statements:<7} {f.line_percent:>6.1f}% "
            f"{f.covered_branches:>5}/{f.branches:<6} {f.branch_percent:>7.1f}%"
        )
    return "\n".join(rows)
