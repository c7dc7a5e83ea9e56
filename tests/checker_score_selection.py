"""The test command of `glitchless checker-score`: the property machines alone, at a fixed budget.

mutmut runs this file against each mutant of the reactive core; a failing test
kills the mutant. Its name does not start with test_, so the normal test run
leaves it out (tests/test_checker_score.py covers the score's own code).
"""

from glitchless.reports.checker_score import exhaustive_failures, fuzz_failures, other_machine_failures


def test_the_fuzz_machines_find_no_failure() -> None:
    assert fuzz_failures() == []


def test_the_exhaustive_check_finds_no_failure() -> None:
    assert exhaustive_failures() == []


def test_the_scheduler_and_snapshot_machines_find_no_failure() -> None:
    assert other_machine_failures() == []
