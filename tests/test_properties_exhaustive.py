"""Bounded exhaustive checking: the case counts, glitchless passing, a planted bug caught and shrunk."""

from glitchless.properties.exhaustive import Bounds, cases, check_shard, count_cases, exhaustive_check
from glitchless.properties.targets import Target, load_target

import planted

SMALL = Bounds(max_nodes=3, max_ops=2, max_signals=2, effect_writes=True)
# Without the extra operations and the transient batch, today's kernel passes (S6 needs the hardened one).
KEPT = Bounds(max_nodes=3, max_ops=2, max_signals=2, effect_writes=True, extras=False)


def test_the_exhaustive_checker_reports_how_many_cases_it_checked():
    report = exhaustive_check("glitchless", SMALL, jobs=1)
    graphs, n_cases, runs = count_cases(SMALL)
    assert (report.graphs, report.cases, report.runs) == (graphs, n_cases, runs)
    assert report.cases > report.runs > 1000
    assert report.ok, [f.render() for f in report.failures[:1]]


def test_the_enumeration_is_deterministic_and_shards_cover_it_once():
    t = load_target("glitchless")
    everything = list(cases(KEPT, t))
    assert everything == list(cases(KEPT, t))
    parts = [check_shard(t, Bounds(2, 1, 2, True, False), i, 3) for i in range(3)]
    whole = check_shard(t, Bounds(2, 1, 2, True, False))
    assert sum(p.runs for p in parts) == whole.runs and sum(p.cases for p in parts) == whole.cases


def test_exhaustive_checking_catches_a_planted_bug_and_shrinks_it_to_one_failure():
    bug = Target.from_factory("planted:no-equality-cutoff", planted.no_equality_cutoff().Runtime)
    report = exhaustive_check(bug, KEPT, jobs=1)
    assert report.failing_cases > 0
    labels = {f.label for f in report.failures}
    assert labels == {"cutoff/spurious-run"}, [f.render() for f in report.failures]
    assert all(len(f.program.steps) <= 5 for f in report.failures)


def test_parallel_workers_check_the_same_cases():
    one = exhaustive_check("glitchless", Bounds(3, 1, 2, True, False), jobs=1)
    two = exhaustive_check("glitchless", Bounds(3, 1, 2, True, False), jobs=2)
    assert (one.graphs, one.cases, one.runs, one.steps) == (two.graphs, two.cases, two.runs, two.steps)
