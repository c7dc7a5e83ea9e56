"""The test command of `glitchless checker-score`: the property machines alone, at a fixed budget.

mutmut runs this file against each mutant of the reactive core; a failing test
kills the mutant. Its name does not start with test_, so the normal test run
leaves it out (tests/test_checker_score.py covers the score's own code). One
test, so that its passes run cheapest first whatever order mutmut picks for tests.
"""

from glitchless.reports.checker_score import machine_failures


def test_the_property_machines_find_no_failure() -> None:
    assert machine_failures() == []
