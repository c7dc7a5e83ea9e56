"""Which project the reports measure ([tool.glitchless] and its fall-backs), the graph-coverage
recorder, and what the report shows: a failing coverage run, ages, the trend, the checker slot."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from glitchless.kernel import Component, Kernel, Runtime, component, computed, effect, operation, subscribe
from glitchless.kernel.bus import Bus
from glitchless.reports import report as report_mod
from glitchless.reports.graph import GraphRecorder, declared_members
from glitchless.reports.project import ConfigError, Floor, load


def _project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(text)
    return tmp_path


def test_tool_glitchless_names_source_tests_and_floors(tmp_path: Path) -> None:
    p = load(_project(tmp_path, '[project]\nname = "shop"\n[tool.glitchless]\nsource = ["shop"]\ntests = ["t"]\n'
                                '[tool.glitchless.floors]\n"shop.core" = { lines = 90, branches = 80 }\n'))
    assert (p.name, p.source, p.tests) == ("shop", ("shop",), ("t",))
    assert p.floors == {"shop.core": Floor(90.0, 80.0)}
    assert p.mutmut_config()["pytest_add_cli_args_test_selection"] == ["t"]


def test_without_tool_glitchless_coverage_and_pytest_settings_are_used(tmp_path: Path) -> None:
    p = load(_project(tmp_path, '[tool.coverage.run]\nsource = ["src/shop"]\n'
                                '[tool.pytest.ini_options]\ntestpaths = ["checks"]\n'))
    assert (p.source, p.tests, p.floors, p.name) == (("shop",), ("checks",), {}, tmp_path.name)
    p = load(_project(tmp_path, '[tool.mutmut]\nsource_paths = ["shop/"]\n'))
    assert (p.source, p.tests) == (("shop",), ("tests",))
    assert p.mutmut_config() == {"source_paths": ["shop/"]}  # the project's own mutmut settings, as they are


def test_glitchless_own_floors_live_in_its_pyproject() -> None:
    p = load(Path(__file__).resolve().parent.parent)
    assert p.source == ("glitchless",)
    assert p.floors["glitchless.kernel"] == Floor(lines=98.0, branches=95.0)


@pytest.mark.parametrize(("text", "message"), [
    ("[tool.glitchless]\nsource = []\n", "[tool.glitchless] source must be a non-empty list of strings, got []"),
    ('[tool.glitchless]\nsource = ["a"]\ntests = 3\n', "[tool.glitchless] tests must be a non-empty list of strings"),
    ('[tool.glitchless]\nsource = ["a"]\nsorce = ["b"]\n', "[tool.glitchless] sorce is not a known key"),
    ('[tool.glitchless]\nsource = ["a-b"]\n', "[tool.glitchless] source entry 'a-b' is not an importable package"),
    ('[tool.glitchless]\nsource = ["a"]\nfloors = { a = { lines = 120 } }\n',
     "[tool.glitchless] floors.a.lines must be a number from 0 to 100, got 120"),
    ('[tool.glitchless]\nsource = ["a"]\nfloors = { a = { line = 90 } }\n',
     "[tool.glitchless] floors.a.line is not a known floor"),
    ("[project]\nname = 'x'\n", "[tool.glitchless] source is missing"),
    ("[tool.glitchless\n", "pyproject.toml is not valid TOML"),
])
def test_a_malformed_config_is_one_error_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(_project(tmp_path, text))
    assert message in str(err.value)


def test_a_directory_without_pyproject_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no pyproject.toml"):
        load(tmp_path)


# -- graph coverage ------------------------------------------------------------------------


@component("till")
class Till(Component):
    def activate(self) -> None:
        self.amount = self.ctx.signal(0, name="amount")
        self.seen: list[str] = []

    @computed
    def doubled(self) -> int:
        return self.amount.get() * 2

    @computed
    def never_read(self) -> int:
        return -1

    @effect
    def watch(self) -> None:
        self.seen.append(f"amount {self.doubled()}")

    @operation
    def ring(self, params: dict[str, int]) -> int:
        self.amount.set(params["n"])
        return self.doubled()

    @operation
    def void(self, params: dict[str, int]) -> None:
        self.amount.set(0)

    @subscribe("sale.*", "refund")
    def on_sale(self, topic: str, data: object) -> None:
        self.seen.append(topic)


def test_the_recorder_counts_what_ran_and_lists_what_did_not() -> None:
    original = (Runtime.computed, Runtime.effect, Bus.subscribe, Bus.add_routes)
    with GraphRecorder(lambda module: module == __name__) as rec:
        kernel = Kernel()
        kernel.instantiate(Till)
        kernel.boot()
        assert kernel.invoke("till.ring", {"n": 4}) == 8
        kernel.publish("sale.card")
        other = Runtime()
        other.effect(lambda: None, name="not-the-projects")  # a lambda of this module, but unnamed below
        other.effect(lambda: None)
    assert (Runtime.computed, Runtime.effect, Bus.subscribe, Bus.add_routes) == original
    result = rec.result(declared_members([__name__], import_all=False))
    assert result["operations"] == {"covered": ["till.ring"], "missed": ["till.void"]}
    assert result["subscriptions"] == {"covered": ["till.on_sale[sale.*]"], "missed": ["till.on_sale[refund]"]}
    assert result["effects"] == {"covered": ["not-the-projects", "till.watch"], "missed": []}
    assert result["computeds"] == {"covered": ["till.doubled"], "missed": ["till.never_read"]}
    assert kernel.instance("till").seen == ["amount 0", "amount 8", "sale.card"]  # behaviour unchanged


def test_the_recorder_ignores_components_of_other_packages() -> None:
    with GraphRecorder(lambda module: module.startswith("myteam")) as rec:
        kernel = Kernel()
        kernel.instantiate(Till)
        kernel.boot()
        kernel.invoke("till.ring", {"n": 1})
    assert rec.result({}) == {k: {"covered": [], "missed": []}
                              for k in ("operations", "subscriptions", "effects", "computeds")}


def test_a_recorder_cannot_be_activated_twice() -> None:
    rec = GraphRecorder(lambda module: True)
    with rec, pytest.raises(RuntimeError, match="already active"):
        rec.activate()
    assert Runtime.computed is vars(Runtime)["computed"]


# -- what the report shows ---------------------------------------------------------------------


def _inputs(**kw: object) -> report_mod.Inputs:
    base: dict[str, object] = {"scenarios": [], "properties": None, "coverage": None, "mutation": None,
                               "info": {"project": "shop", "generated_at": "2026-12-01T02:00:00+00:00",
                                        "commit": "abc1234", "glitchless": "0.1.0", "python": "3.11.7"}}
    base.update(kw)
    return report_mod.Inputs(**base)  # type: ignore[arg-type]


COVERAGE = {
    "total": {"statements": 10, "covered_lines": 9, "branches": 2, "covered_branches": 1,
              "line_percent": 90.0, "branch_percent": 50.0},
    "packages": {"shop": {"statements": 10, "covered_lines": 9, "branches": 2, "covered_branches": 1,
                          "line_percent": 90.0, "branch_percent": 50.0}},
}


def test_a_failing_coverage_run_is_shown_not_hidden() -> None:
    cov = {**COVERAGE, "tests": {"exit_status": 1, "passed": 2, "failed": 1, "errors": 0, "skipped": 0,
                                 "failing": ["tests/test_shop.py::test_total"]}}
    page = report_mod.to_html(_inputs(coverage=cov))
    assert "The coverage run had failing tests" in page and "tests/test_shop.py::test_total" in page
    assert "Tests FAILING: 2 passed, 1 failed" in report_mod.to_markdown(_inputs(coverage=cov))
    passing = {**COVERAGE, "tests": {"exit_status": 0, "passed": 3, "failed": 0, "errors": 0, "skipped": 0}}
    assert "All tests passed in the coverage run" in report_mod.to_html(_inputs(coverage=passing))


def test_the_header_names_date_commit_and_versions() -> None:
    page = report_mod.to_html(_inputs())
    assert "2026-12-01 02:00 UTC" in page and "abc1234" in page
    assert "glitchless 0.1.0" in page and "Python 3.11.7" in page


def test_results_of_other_ages_and_commits_are_labelled(tmp_path: Path) -> None:
    now = datetime(2026, 12, 1, 5, 0, tzinfo=timezone.utc)
    old = {"generated_at": "2026-12-01T02:00:00+00:00", "commit": "abc1234"}
    assert report_mod.age_label(old, tmp_path / "x.json", now, "def5678") == \
        "measured 3 h ago at commit abc1234 (now def5678)"
    assert report_mod.age_label(old, tmp_path / "x.json", now, "abc1234") == "measured 3 h ago at commit abc1234"
    fresh = {"generated_at": "2026-12-01T04:59:30+00:00"}
    assert report_mod.age_label(fresh, tmp_path / "x.json", now, "") == "measured just now"
    page = report_mod.to_html(_inputs(coverage=COVERAGE, ages={"coverage": "measured 3 h ago at commit abc1234"}))
    assert "measured 3 h ago at commit abc1234" in page


def test_a_trend_chart_is_drawn_only_when_it_says_something() -> None:
    assert report_mod.trend([("a", 90.0)], label="x") is None
    assert report_mod.trend([("a", 90.0), ("b", 90.0)], label="x") is None
    chart = report_mod.trend([("a", 80.0), ("b", 90.0)], label="x")
    assert chart is not None and chart.count("<circle") == 2
    history = [{"kind": "coverage", "generated_at": f"2026-12-01T0{i}:00:00+00:00", "commit": "c", "line_percent": 90.0,
                "branch_percent": 80.0 + i, "tests_failed": 0, "graph": {}} for i in range(3)]
    page = report_mod.to_html(_inputs(history=history))
    assert "total branch coverage %" in page and "total line coverage %" not in page  # lines never moved


def test_history_skips_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_text(json.dumps({"kind": "coverage", "line_percent": 1}) + "\n" + '{"kind": "cov')
    assert report_mod.load_history(path) == [{"kind": "coverage", "line_percent": 1}]


def test_the_checker_score_appears_when_its_file_exists() -> None:
    assert "Checker score" not in report_mod.to_html(_inputs())
    page = report_mod.to_html(_inputs(checker={"score": 0.93, "checks": 41}))
    assert "Checker score" in page and "score: 0.93, checks: 41" in page


def test_equivalents_show_their_reason_and_survivors_their_diff() -> None:
    mutation = {"total": 3, "counts": {"killed": 1, "survived": 2}, "equivalent": 1, "killed_percent": 50.0,
                "detected_percent": 50.0, "seconds": 3.0, "title": "shop (shop)",
                "survivors": [{"file": "shop/a.py", "line": 3, "status": "survived", "diff": "-x = 1\n+x = 2",
                               "function": "total"}],
                "equivalents": [{"file": "shop/b.py", "line": 9, "status": "survived", "diff": "-a\n+b",
                                 "function": "f", "equivalent_reason": "ids need only be distinct"}]}
    page = report_mod.to_html(_inputs(mutation=mutation))
    assert "Mutation testing: shop (shop)" in page and "+x = 2" in page
    assert "total (survived): <code>x = 1 → x = 2</code>" in page
    assert "ids need only be distinct" in page


def test_nested_recorders_each_count_only_their_own_packages() -> None:
    with GraphRecorder(lambda module: module.startswith("glitchless")) as outer:
        with GraphRecorder(lambda module: module == __name__) as inner:
            kernel = Kernel()
            kernel.instantiate(Till)
            kernel.boot()
            kernel.invoke("till.ring", {"n": 2})
    assert inner.covered["operations"] == {"till.ring"}
    assert not any(name.startswith("till.") for names in outer.created.values() for name in names)
