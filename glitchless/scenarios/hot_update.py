"""Pattern 8: hot code update. `search` v1 (keyword) is replaced by v2 (scored) while running.

State moves through snapshot/restore hooks; a component without hooks (`counter`) keeps its
plain attributes. Beyond the seed: the new version's effects first run after its restore;
subscriptions are not duplicated; a v2 that fails to activate leaves v1 running with its state.
"""

from __future__ import annotations

from typing import Any

from glitchless.kernel import ActivationError, Component, component, effect, operation, subscribe
from glitchless.scenarios.framework import Script, scenario

DOCS = [("1", "Python programming language"), ("2", "Python snake species"), ("3", "JavaScript framework")]


class Probe:
    """What the scenario watches from outside the components, and the faults it can inject."""

    def __init__(self) -> None:
        self.first_runs: list[dict[str, Any]] = []
        self.deliveries: list[str] = []
        self.fail_activation: set[str] = set()


@component("search", version="1.0", provides=["ISearch"])
class SearchV1(Component):
    engine = "keyword"

    def activate(self) -> None:
        self.probe: Probe = self.ctx.properties["probe"]
        if self.ctx.version in self.probe.fail_activation:
            raise RuntimeError(f"search {self.ctx.version} cannot start: index format unreadable")
        self.index: dict[str, str] = {}
        self.queries = 0

    def snapshot(self) -> dict[str, Any]:
        return {"index": self.index, "queries": self.queries}

    def restore(self, state: dict[str, Any]) -> None:
        self.index, self.queries = dict(state["index"]), int(state["queries"])

    @effect
    def announce(self) -> None:
        # An effect's first run must already see the restored state.
        self.probe.first_runs.append({"version": self.ctx.version, "docs": len(self.index)})

    @subscribe("docs.added")
    def on_doc(self, topic: str, data: Any) -> None:
        self.probe.deliveries.append(self.ctx.version)
        self.index[data["id"]] = data["text"]

    @operation
    def index_doc(self, params: dict[str, Any]) -> None:
        self.index[params["id"]] = params["text"]

    def _hits(self, query: str) -> list[dict[str, Any]]:
        return [{"id": i} for i, text in self.index.items() if query in text.lower()]

    @operation
    def search(self, params: dict[str, Any]) -> dict[str, Any]:
        self.queries += 1
        return {"results": self._hits(params["query"].lower()), "total_queries": self.queries}

    @operation
    def status(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"version": self.ctx.version, "engine": self.engine, "docs": len(self.index), "queries": self.queries}


@component("search", version="2.0", provides=["ISearch"])
class SearchV2(SearchV1):
    engine = "scored"

    def _hits(self, query: str) -> list[dict[str, Any]]:
        hits = []
        for i, text in self.index.items():
            t = text.lower()
            if query in t:
                hits.append({"id": i, "score": 1.0 + 0.5 * t.startswith(query) + 1.0 * (t == query)})
        return sorted(hits, key=lambda h: -h["score"])


@component("counter", version="1.0")
class CounterV1(Component):
    """No snapshot/restore hooks: its plain attributes are its state."""

    def __init__(self) -> None:
        self.count = 0

    @operation
    def inc(self, params: dict[str, Any]) -> int:
        self.count += 1
        return self.count


@component("counter", version="2.0")
class CounterV2(CounterV1):
    @operation
    def inc(self, params: dict[str, Any]) -> int:
        self.count += 10
        return self.count


@scenario("hot-update", "search v1 -> v2 while running: state carried, no duplicate subscriptions, rollback on failure")
async def hot_update(s: Script) -> None:
    s.step("boot search v1 and counter v1; index 3 docs; search 'python'")
    probe = Probe()
    k = s.kernel()
    k.instantiate(SearchV1, properties={"probe": probe})
    k.instantiate(CounterV1)
    k.boot()
    for doc_id, text in DOCS:
        k.invoke("search.index_doc", {"id": doc_id, "text": text})
    first = k.invoke("search.search", {"query": "python"})
    s.expect("v1 finds 2 docs", len(first["results"]), 2)
    k.invoke("counter.inc")
    k.invoke("counter.inc")
    before = k.invoke("search.status")
    s.expect("status before", before, {"version": "1.0", "engine": "keyword", "docs": 3, "queries": 1})
    s.observe("status_before", before)
    s.observe("counter_before", k.instance("counter").count)
    await s.advance(1)

    s.step("a v2 that fails to activate: the kernel rolls back to v1 with its state")
    s.fault("v2 cannot start", lambda: probe.fail_activation.add("2.0"))
    s.expect_raises("the update is refused with an activation error", ActivationError, lambda: k.hot_update(SearchV2))
    after_rollback = k.invoke("search.status")
    s.expect("v1 runs again with its state intact", after_rollback, before)
    s.observe("status_after_failed_update", after_rollback)
    probe.fail_activation.clear()
    s.note("fault cleared")
    await s.advance(1)

    s.step("hot_update to v2")
    probe.first_runs.clear()
    updated = k.hot_update(SearchV2)
    k.hot_update(CounterV2)
    s.expect("only search is rebuilt by its update", updated, ["search"])
    after = k.invoke("search.status")
    s.expect("status after", after, {"version": "2.0", "engine": "scored", "docs": 3, "queries": 1})
    s.expect("v2's effect first ran after its restore (saw 3 docs)", probe.first_runs, [{"version": "2.0", "docs": 3}])
    s.observe("status_after", after)
    s.observe("effect_first_run", probe.first_runs)

    s.step("search again on v2")
    second = k.invoke("search.search", {"query": "python"})
    s.expect("2 scored hits", second["results"], [{"id": "1", "score": 1.5}, {"id": "2", "score": 1.5}])
    s.expect("total queries", second["total_queries"], 2)
    s.observe("scored_hits", second["results"])
    s.observe("total_queries", second["total_queries"])

    s.step("a component without hooks keeps its plain state")
    s.expect("counter 2 -> 12 after one v2 inc", k.invoke("counter.inc"), 12)
    s.observe("counter_after", k.instance("counter").count)

    s.step("subscriptions are not duplicated by the update")
    probe.deliveries.clear()
    k.publish("docs.added", {"id": "4", "text": "python"})
    s.expect("one delivery, to v2", probe.deliveries, ["2.0"])
    s.expect("the new doc is indexed once", k.invoke("search.status")["docs"], 4)
    s.observe("deliveries_per_publish", len(probe.deliveries))
