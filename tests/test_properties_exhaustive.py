"""Bounded exhaustive checking: the case counts, glitchless passing, a planted bug caught."""

from glitchless.properties.exhaustive import DEFAULT_TIERS, Bounds, count_cases, exhaustive_check
from glitchless.properties.targets import Target

import planted

SMALL = Bounds(max_nodes=3, max_ops=2, max_signals=2, effect_writes=True)


def test_the_exhaustive_checker_reports_how_many_cases_it_checked():
    report = exhaustive_check("glitchless", SMALL)
    graphs, cases, runs = count_cases(SMALL)
    assert (report.graphs, report.cases, report.runs) == (graphs, cases, runs)
    assert report.cases > report.runs > 1000
    assert report.ok, report.failures[:1]


def test_the_default_tiers_have_the_documented_sizes():
    assert [count_cases(b) for b in DEFAULT_TIERS] == [(668, 346275, 302463), (66, 24639, 21208)]


def test_exhaustive_checking_catches_a_planted_bug():
    bug = Target.from_factory("planted:no-equality-cutoff", planted.no_equality_cutoff().Runtime)
    report = exhaustive_check(bug, SMALL)
    assert report.failing_cases > 0
    violation, program = report.failures[0]
    assert violation.label in {"ordering/missing-cutoff-computed", "laziness/missing-cutoff-computed"}
    assert len(program.steps) <= 5


def test_parallel_workers_check_the_same_cases():
    one = exhaustive_check("glitchless", Bounds(3, 1, 2, True))
    two = exhaustive_check("glitchless", Bounds(3, 1, 2, True), jobs=2)
    assert (one.graphs, one.cases, one.runs, one.steps) == (two.graphs, two.cases, two.runs, two.steps)
