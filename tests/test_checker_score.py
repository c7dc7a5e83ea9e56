"""`glitchless checker-score`: its scratch copy, its test command and its report (mutmut itself is not run here)."""

import tomllib
from pathlib import Path

import pytest

import glitchless.properties.targets as targets
from glitchless.cli import main
from glitchless.reports import checker_score
from glitchless.reports import report as report_mod
from glitchless.reports.mutation import Mutant, MutationReport

import planted

PYPROJECT = """[project]
name = "x"

[tool.mutmut]
source_paths = ["glitchless/kernel/"]
pytest_add_cli_args_test_selection = ["tests/test_a.py"]

[tool.pytest.ini_options]
addopts = "-q"
"""


def test_the_scratch_pyproject_swaps_only_the_mutmut_table() -> None:
    data = tomllib.loads(checker_score.scratch_pyproject(PYPROJECT))
    assert data["project"] == {"name": "x"}
    assert data["tool"]["pytest"]["ini_options"] == {"addopts": "-q"}
    mutmut = data["tool"]["mutmut"]
    assert mutmut["pytest_add_cli_args_test_selection"] == ["tests/checker_score_selection.py"]
    assert mutmut["only_mutate"] == ["*glitchless/kernel/reactive.py"]
    assert mutmut["source_paths"] == ["glitchless/kernel/"]
    assert mutmut["timeout_multiplier"] == checker_score.TIMEOUT_MULTIPLIER


def test_prepare_copies_the_package_the_test_command_and_the_settings(tmp_path: Path) -> None:
    (tmp_path / "glitchless" / "__pycache__").mkdir(parents=True)
    (tmp_path / "glitchless" / "__init__.py").write_text("X = 1\n")
    (tmp_path / "glitchless" / "__pycache__" / "junk.pyc").write_text("")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text("")
    (tmp_path / "tests" / "checker_score_selection.py").write_text("def test_x(): pass\n")
    (tmp_path / "tests" / "test_other.py").write_text("")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    scratch = checker_score.prepare(tmp_path)
    assert scratch == tmp_path / ".checker-score"
    assert (scratch / "glitchless" / "__init__.py").read_text() == "X = 1\n"
    assert not (scratch / "glitchless" / "__pycache__").exists()
    assert sorted(p.name for p in (scratch / "tests").iterdir()) == ["checker_score_selection.py", "conftest.py"]
    assert "checker_score_selection" in (scratch / "pyproject.toml").read_text()
    (tmp_path / "glitchless" / "__init__.py").write_text("X = 2\n")
    checker_score.prepare(tmp_path)  # a second run refreshes the copy
    assert (scratch / "glitchless" / "__init__.py").read_text() == "X = 2\n"


def test_prepare_outside_a_project_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run checker-score from the project's root directory"):
        checker_score.prepare(tmp_path)


def test_the_test_command_fails_on_a_kernel_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test command reaches the kernel only through the "glitchless" target, as mutmut's mutants do.
    monkeypatch.setattr(targets, "glitchless", planted.REALISTIC["nested-batch-flushes-early"]().Runtime)
    assert checker_score.fuzz_failures() != []
    monkeypatch.setattr(targets, "glitchless", planted.REALISTIC["cleanup-after-run"]().Runtime)
    assert checker_score.exhaustive_failures() != []


def sample_report() -> MutationReport:
    return MutationReport([
        Mutant("m.x_f__mutmut_1", "killed"), Mutant("m.x_f__mutmut_2", "killed"), Mutant("m.x_f__mutmut_3", "killed"),
        Mutant("m.x_f__mutmut_4", "survived", diff="-a\n+b"),
        Mutant("m.x_f__mutmut_5", "survived", equivalent_reason="changes nothing"),
    ], 12.0)


def test_the_figures_leave_out_equivalents_and_name_a_partial_run(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    checker_score.write(sample_report(), not_checked=7, sample=5)
    data = checker_score.to_json(sample_report(), 7, 5)
    assert (data["killed"], data["total"], data["equivalent"], data["scored"]) == (3, 5, 1, 4)
    assert data["killed_percent"] == 75.0
    assert (data["not_checked"], data["sample_every"], data["goal_percent"]) == (7, 5, 90.0)
    summary = (tmp_path / "reports" / "checker-score.md").read_text()
    assert summary.startswith("# Checker strength: the property machines against mutants of "
                              "glitchless/kernel/reactive.py\n")
    assert "Sample: every 5th mutant" in summary
    assert "Partial run: 5 of 12 mutants checked" in summary
    assert "- score (killed / scored): 75.0%" in summary


def test_the_report_shows_the_checker_score_in_its_slot() -> None:
    unit = sample_report().to_json()
    checker = checker_score.to_json(sample_report(), not_checked=7, sample=5)
    inp = report_mod.Inputs([], None, None, unit, checker=checker)
    line = ("75.0% of the scored mutants of glitchless/kernel/reactive.py killed by the property machines alone "
            "(goal 90%): 3 killed of 4 scored, 1 reviewed equivalent (a sample: every 5th mutant; 7 not checked yet)")
    assert line in report_mod.to_markdown(inp)
    assert line in report_mod.to_html(inp)
    assert "Checker score" not in report_mod.to_markdown(report_mod.Inputs([], None, None, unit))
    second = checker_score.to_json(sample_report(), not_checked=7, sample=5, offset=2)
    assert "(a sample: every 5th mutant from #2; 7 not checked yet)" in report_mod.to_markdown(
        report_mod.Inputs([], None, None, unit, checker=second))


@pytest.mark.parametrize("argv, message", [
    (["--sample", "0"], "--sample must be at least 1, got 0"),
    (["--sample", "8", "--offset", "8"], "--offset must be below --sample (8), got 8"),
    (["--sample", "8", "--offset", "-1"], "--offset must be non-negative, got -1"),
    (["--max-children", "0"], "--max-children must be at least 1, got 0"),
    (["--fail-under", "150"], "--fail-under must be a number from 0 to 100, got '150'"),
])
def test_bad_flags_are_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checker-score", *argv]) == 2
    assert capsys.readouterr().err == f"glitchless: error: {message}\n"


def test_report_only_before_any_run_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["checker-score", "--report-only"]) == 2
    assert "no checker-score run in .checker-score/ yet" in capsys.readouterr().err
