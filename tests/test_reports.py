"""The reports: coverage grouping, mutation bookkeeping, and the combined report files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glitchless.cli import main
from glitchless.reports import report as report_mod
from glitchless.reports.coverage import below_floors, package_of, summarise
from glitchless.reports.project import Floor
from glitchless.reports.mutation import (
    Mutant,
    MutationReport,
    changed_lines,
    format_summary,
    function_of,
    load_equivalents,
    locate,
)


def _file(statements: int, covered: int, branches: int, covered_branches: int) -> dict[str, object]:
    return {"summary": {"num_statements": statements, "covered_lines": covered,
                        "num_branches": branches, "covered_branches": covered_branches}}


def test_coverage_is_grouped_per_package_with_percentages() -> None:
    data = {
        "files": {
            "glitchless/kernel/reactive.py": _file(100, 99, 40, 38),
            "glitchless/kernel/bus.py": _file(100, 97, 10, 10),
            "glitchless/cli.py": _file(10, 5, 2, 1),
        },
        "totals": {"num_statements": 210, "covered_lines": 201, "num_branches": 52, "covered_branches": 49},
    }
    summary = summarise(data)
    assert set(summary.packages) == {"glitchless.kernel", "glitchless"}
    assert summary.packages["glitchless.kernel"].line_percent == pytest.approx(98.0)
    assert summary.packages["glitchless.kernel"].branch_percent == pytest.approx(96.0)
    assert summary.packages["glitchless"].line_percent == pytest.approx(50.0)
    assert summary.total.covered_lines == 201


DIFF = """--- glitchless/kernel/reactive.py
+++ glitchless/kernel/reactive.py
@@ -3,4 +3,4 @@
     stack = [target]
     positions = [0]
-    while stack:
+    while not stack:
         node = stack[-1]"""


def test_mutant_names_map_to_functions() -> None:
    assert function_of("glitchless.kernel.reactive.xǁRuntimeǁ_refresh__mutmut_12") == "Runtime._refresh"
    assert function_of("glitchless.kernel.reactive.x__describe__mutmut_3") == "_describe"


def test_changed_lines_are_the_removed_and_added_source() -> None:
    assert changed_lines(DIFF) == ("while stack:", "while not stack:")


def test_a_mutant_is_located_at_its_line_in_the_source_file() -> None:
    path, line = locate("glitchless.kernel.reactive.xǁRuntimeǁ_refresh__mutmut_1", DIFF)
    assert path == str(Path("glitchless/kernel/reactive.py"))
    source = Path(path).read_text().splitlines()
    assert source[line - 1].strip() == "while stack:"


def test_equivalent_entries_must_say_why(tmp_path: Path) -> None:
    bad = tmp_path / "eq.toml"
    bad.write_text('[[equivalent]]\nfunction = "f"\nbefore = "a"\nafter = "b"\n')
    with pytest.raises(ValueError, match="lacks reason"):
        load_equivalents(bad)
    good = tmp_path / "ok.toml"
    good.write_text('[[equivalent]]\nfunction = "f"\nbefore = "a"\nafter = "b"\nreason = "same"\n')
    assert load_equivalents(good)[0]["reason"] == "same"


def test_mutation_score_leaves_out_reviewed_equivalents() -> None:
    mutants = [Mutant(f"m{i}", "killed") for i in range(8)]
    mutants += [Mutant("s1", "survived"), Mutant("s2", "survived", equivalent_reason="dead default")]
    mutants += [Mutant("t1", "timeout")]
    rep = MutationReport(mutants, seconds=12.0)
    assert rep.scored == 10
    assert rep.killed_percent == pytest.approx(80.0)
    assert rep.detected_percent == pytest.approx(90.0)
    assert [m.name for m in rep.survivors] == ["s1"]
    text = format_summary(rep)
    assert "score (killed / scored): 80.0%" in text and "dead default" in text


def test_floors_name_the_package_that_misses_them() -> None:
    data = {
        "files": {"myteam/core/a.py": _file(100, 80, 10, 9), "src/myteam/b.py": _file(10, 10, 0, 0)},
        "totals": {"num_statements": 110, "covered_lines": 90, "num_branches": 10, "covered_branches": 9},
    }
    summary = summarise(data)
    assert set(summary.packages) == {"myteam.core", "myteam"}
    floors = {"myteam.core": Floor(lines=90, branches=80), "total": Floor(lines=50), "nope": Floor(lines=1)}
    assert below_floors(summary, floors) == [
        "myteam.core line coverage 80.0% < 90%",
        "[tool.glitchless] floors.nope: no such measured package (measured: total, myteam, myteam.core)",
    ]
    assert package_of("src/myteam/x.py") == "myteam"


def test_report_writes_both_files_and_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    # a project whose packages are glitchless's own, so the nine built-in scenarios are its scenarios
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n[tool.glitchless]\nsource = ["glitchless"]\n')
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "mutation.json").write_text(json.dumps({
        "total": 10, "counts": {"killed": 9, "survived": 1}, "equivalent": 0, "killed_percent": 90.0,
        "detected_percent": 90.0, "seconds": 3.0,
        "survivors": [{"file": "k.py", "line": 7, "status": "survived", "diff": "-a\n+b"}],
    }))
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert "not yet measured (see the report for the command): properties, coverage\n" in out
    page = (tmp_path / "reports" / "index.html").read_text()
    summary = (tmp_path / "reports" / "summary.md").read_text()
    assert "Scenarios: 9/9 pass" in summary and "| circuit-breaker | 15/15 | PASS |" in summary
    assert "score 90.0% killed" in summary
    assert "<svg" in page and "k.py:7" in page and "glitchless coverage" in page
    assert "<title>demo: glitchless report</title>" in page


def test_properties_section_renders_the_conformance_table() -> None:
    lines = report_mod._properties_md({
        "fuzz": {"glitchless": {"examples": 2000, "runs": 2448, "seed": 0, "seconds": 15.2, "passed": True,
                                "failures": []},
                 "signalpy": {"examples": 200, "runs": 90, "seed": 0, "seconds": 3.0, "passed": False,
                              "failures": ["ordering/missing-cutoff-computed"]}},
        "exhaustive": {"glitchless": {"cases": 1234, "seconds": 30.0, "passed": True, "failing": 0}},
        "conformance": {"glitchless": {"glitch": "pass", "cutoff": "pass"}, "peer": {"glitch": "pass", "cutoff": "FAIL"}},
    })
    assert "- fuzz on glitchless: 2000 examples (2448 machine runs, seed 0), 15.2 s: passed" in lines
    assert "- fuzz on signalpy: 200 examples (90 machine runs, seed 0), 3.0 s: FAILED (ordering/missing-cutoff-computed)" in lines
    assert "- exhaustive on glitchless: 1234 cases checked in 30.0 s: passed" in lines
    assert "| kernel | cutoff | glitch |" in lines and "| peer | FAIL | pass |" in lines
    page = report_mod.to_html(report_mod.Inputs([], {"conformance": {"peer": {"glitch": "pass", "cutoff": "FAIL"}}},
                                                None, None))
    assert '<td class="fail">FAIL</td>' in page and '<td class="pass">pass</td>' in page


def test_property_runs_are_recorded_for_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report_mod.record_properties("exhaustive", "glitchless", {"cases": 5})
    report_mod.record_properties("fuzz", "glitchless", {"examples": 10})
    report_mod.record_properties("exhaustive", "glitchless", {"cases": 7})
    data = json.loads((tmp_path / "reports" / "properties.json").read_text())
    assert data == {"exhaustive": {"glitchless": {"cases": 7}}, "fuzz": {"glitchless": {"examples": 10}}}
