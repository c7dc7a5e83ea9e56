"""The pytest side of `glitchless coverage` (loaded with `-p glitchless.reports.pytest_graph`).

With `--glitchless-packages=a,b` it records reactive-graph coverage of those packages across the
session (see glitchless.reports.graph), runs each registered scenario of those packages as one
more test item, and at the end writes `--glitchless-graph-out` and, with the tests' outcome,
`--glitchless-tests-out`. Without the option it does nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

# Nothing from glitchless.kernel at import time: this module loads before coverage starts.
if TYPE_CHECKING:
    from glitchless.reports.graph import GraphRecorder


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("glitchless-coverage", "glitchless coverage (set by `glitchless coverage`)")
    group.addoption("--glitchless-packages", default="", help="comma-separated packages whose reactive graph to record")
    group.addoption("--glitchless-graph-out", default="reports/graph-coverage.json", help="where to write graph coverage")
    group.addoption("--glitchless-tests-out", default="", help="where to write the tests' outcome (JSON)")
    group.addoption("--glitchless-no-scenarios", action="store_true", help="do not run the registered scenarios")


def _owner(packages: list[str]) -> Callable[[str], bool]:
    return lambda module: any(module == p or module.startswith(p + ".") for p in packages)


def pytest_configure(config: pytest.Config) -> None:
    packages = [p.strip() for p in str(config.getoption("--glitchless-packages")).split(",") if p.strip()]
    if packages:
        config.pluginmanager.register(_Session(config, packages), "glitchless-graph-session")


class ScenarioFailed(AssertionError):
    """A scenario's failed checks, reported as one line rather than pytest's own traceback."""


class ScenarioItem(pytest.Item):
    """One registered scenario run at seed 0; it fails with the checks that failed."""

    def runtest(self) -> None:
        from glitchless.scenarios import run_scenario

        result = run_scenario(self.name.removeprefix("scenario:"), 0)
        if not result.passed:
            failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.passed] or ["no checks"]
            raise ScenarioFailed("; ".join(failed))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, ScenarioFailed):
            return f"{self.nodeid}: failed checks: {excinfo.value} (replay: glitchless run {self.name[9:]})"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[str, int, str]:
        return "glitchless scenario", 0, self.name


class _Session:
    """Registered as a plugin for one session: records the graph and counts the outcomes."""

    def __init__(self, config: pytest.Config, packages: list[str]) -> None:
        from glitchless.reports.graph import GraphRecorder

        self.config = config
        self.packages = packages
        self.recorder: GraphRecorder = GraphRecorder(_owner(packages))
        self.recorder.activate()
        self.outcomes: dict[str, int] = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
        self.failing: list[str] = []

    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        if self.config.getoption("--glitchless-no-scenarios"):
            return
        from glitchless.scenarios import ordered_scenarios

        owns = _owner(self.packages)
        for sc in ordered_scenarios():
            if owns(getattr(sc.body, "__module__", "")):
                items.append(ScenarioItem.from_parent(session, name=f"scenario:{sc.name}",
                                                      nodeid=f"scenario {sc.name}"))

    def _progress(self, line: str) -> None:
        # `glitchless coverage` reads this file to draw its progress bar.
        path = os.environ.get("GLITCHLESS_PROGRESS_FILE")
        if path:
            with open(path, "a") as fp:
                fp.write(line + "\n")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._progress(f"total={len(session.items)}")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            self._progress("done")
        if report.outcome == "skipped":
            self.outcomes["skipped"] += 1
        elif report.outcome == "failed":
            self.outcomes["failed" if report.when == "call" else "errors"] += 1
            self.failing.append(report.nodeid)
        elif report.when == "call":
            self.outcomes["passed"] += 1

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from glitchless.reports.graph import declared_members, write

        self.recorder.deactivate()
        data = self.recorder.result(declared_members(self.packages))
        write(Path(str(self.config.getoption("--glitchless-graph-out"))), data)
        tests_out = str(self.config.getoption("--glitchless-tests-out"))
        if tests_out:
            Path(tests_out).parent.mkdir(parents=True, exist_ok=True)
            Path(tests_out).write_text(json.dumps(
                {"exit_status": int(exitstatus), **self.outcomes, "failing": self.failing}, indent=2) + "\n")
