"""Scenario hot-update (pattern 8): the seed's numbers, and update-to-same-version as a no-op (property)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from glitchless.kernel import Kernel
from glitchless.scenarios import run_scenario
from glitchless.scenarios.hot_update import CounterV1, Probe, SearchV1


def test_hot_update_status_before_and_after_carry_docs_and_queries() -> None:
    r = run_scenario("hot-update")
    assert [c.name for c in r.checks if not c.passed] == []
    assert r.observations["status_before"] == {"version": "1.0", "engine": "keyword", "docs": 3, "queries": 1}
    assert r.observations["status_after"] == {"version": "2.0", "engine": "scored", "docs": 3, "queries": 1}


def test_hot_update_v2_returns_two_scored_hits_and_counts_both_queries() -> None:
    obs = run_scenario("hot-update").observations
    assert obs["scored_hits"] == [{"id": "1", "score": 1.5}, {"id": "2", "score": 1.5}]
    assert obs["total_queries"] == 2


def test_hot_update_component_without_hooks_keeps_its_plain_state() -> None:
    obs = run_scenario("hot-update").observations
    assert (obs["counter_before"], obs["counter_after"]) == (2, 12)


def test_hot_update_restores_before_effects_and_does_not_duplicate_subscriptions() -> None:
    obs = run_scenario("hot-update").observations
    assert obs["effect_first_run"] == [{"version": "2.0", "docs": 3}]
    assert obs["deliveries_per_publish"] == 1


def test_hot_update_failing_v2_rolls_back_to_v1_with_its_state() -> None:
    obs = run_scenario("hot-update").observations
    assert obs["status_after_failed_update"] == obs["status_before"]


Op = tuple[str, str]
OPS = st.one_of(
    st.tuples(st.just("index"), st.sampled_from(["python guide", "rust book", "Python", "go tour"])),
    st.tuples(st.just("search"), st.sampled_from(["python", "rust", "o"])),
    st.tuples(st.just("publish"), st.sampled_from(["python news", "java"])),
    st.tuples(st.just("inc"), st.just("")),
    st.tuples(st.just("status"), st.just("")),
)


def run_ops(ops: list[Op], update_at: set[int]) -> list[Any]:
    k = Kernel()
    k.instantiate(SearchV1, properties={"probe": Probe()})
    k.instantiate(CounterV1)
    k.boot()
    seen: list[Any] = []
    for i, (op, arg) in enumerate(ops):
        if i in update_at:
            k.hot_update(SearchV1)  # same code version: snapshot, teardown, replace, activate, restore
            k.hot_update(CounterV1)
        if op == "index":
            k.invoke("search.index_doc", {"id": str(i), "text": arg})
        elif op == "search":
            seen.append(k.invoke("search.search", {"query": arg}))
        elif op == "publish":
            k.publish("docs.added", {"id": f"p{i}", "text": arg})
        elif op == "inc":
            seen.append(k.invoke("counter.inc"))
        else:
            seen.append(k.invoke("search.status"))
    seen.append(k.invoke("search.status"))
    seen.append(k.instance("counter").count)
    return seen


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(OPS, max_size=12), update_at=st.sets(st.integers(0, 12), max_size=4))
def test_hot_update_to_the_same_version_is_observationally_a_no_op(ops: list[Op], update_at: set[int]) -> None:
    assert run_ops(ops, update_at) == run_ops(ops, set())
