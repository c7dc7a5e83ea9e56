"""Kernel-wide snapshot and restore, and the equivalence of reinstalling with never having done so."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glitchless.kernel import (
    ActivationError,
    Component,
    ComponentError,
    Config,
    Kernel,
    Storage,
    UnknownComponentError,
    component,
    computed,
    effect,
    operation,
    subscribe,
)


@component("search", version="1.0", provides=["ISearch"])
class Search(Component):
    def activate(self) -> None:
        self.index: dict[str, str] = {}
        self.queries = 0

    def snapshot(self) -> dict[str, Any]:
        return {"index": self.index, "queries": self.queries}

    def restore(self, state: dict[str, Any]) -> None:
        self.index, self.queries = state["index"], state["queries"]

    @operation
    def index_doc(self, params: dict[str, Any]) -> int:
        self.index[params["id"]] = params["text"]
        return len(self.index)

    @operation
    def search(self, params: dict[str, Any]) -> list[str]:
        self.queries += 1
        self.ctx.publish("search.queried", {"query": params["query"]})
        return sorted(i for i, t in self.index.items() if params["query"] in t)


@component("counter")
class Counter(Component):
    def activate(self) -> None:
        self.count = 0
        self.hits = self.ctx.signal(0, name="hits")

    @operation
    def inc(self, params: dict[str, Any]) -> tuple[int, int]:
        self.count += 1
        self.hits.update(lambda h: h + 2)
        return self.count, self.hits.get()


@component("pricing", requires={"config": "IConfig", "search": "ISearch"})
class Pricing(Component):
    def activate(self) -> None:
        self.last_rate: float | None = None

    @computed
    def rate(self) -> float:
        return float(self.ctx.use("config").get("orders.tax_rate", 0.0))

    @effect
    def remember_rate(self) -> None:
        self.last_rate = self.rate()  # derived and idempotent, so a re-run after reinstall is unobservable

    @operation
    def quote(self, params: dict[str, Any]) -> float:
        return round(float(params["amount"]) * (1 + self.rate()), 6)

    @operation
    def set_rate(self, params: dict[str, Any]) -> None:
        self.ctx.use("config").set("orders.tax_rate", params["rate"])


@component("vault", requires={"storage": "IStorage"})
class Vault(Component):
    @operation
    def put(self, params: dict[str, Any]) -> None:
        self.ctx.use("storage").set(params["key"], params["value"])

    @operation
    def get(self, params: dict[str, Any]) -> Any:
        return self.ctx.use("storage").get(params["key"])


@component("journal")
class Journal(Component):
    def __init__(self) -> None:
        self.entries: list[str] = []

    @subscribe("*.queried")
    def on_query(self, topic: str, data: Any) -> None:
        self.entries.append(f"{topic}:{data['query']}")

    @operation
    def read(self, params: dict[str, Any]) -> list[str]:
        return list(self.entries)


FACTORIES: list[type] = [Search, Counter, Pricing, Vault, Journal, Config, Storage]


def build() -> Kernel:
    k = Kernel()
    for f in FACTORIES:
        k.instantiate(f, properties={"defaults": {"orders": {"tax_rate": 0.1}}} if f is Config else None)
    k.boot()
    return k


WORDS = st.sampled_from(["py", "snake", "java", "pyth"])
STEPS = st.one_of(
    st.tuples(st.just("search.index_doc"), st.fixed_dictionaries({"id": st.sampled_from("abc"), "text": WORDS})),
    st.tuples(st.just("search.search"), st.fixed_dictionaries({"query": WORDS})),
    st.tuples(st.just("counter.inc"), st.just({})),
    st.tuples(st.just("pricing.quote"), st.fixed_dictionaries({"amount": st.integers(0, 100)})),
    st.tuples(st.just("pricing.set_rate"), st.fixed_dictionaries({"rate": st.sampled_from([0.0, 0.08, 0.15])})),
    st.tuples(st.just("vault.put"), st.fixed_dictionaries({"key": st.sampled_from("xy"), "value": st.integers(0, 9)})),
    st.tuples(st.just("vault.get"), st.fixed_dictionaries({"key": st.sampled_from("xy")})),
    st.tuples(st.just("journal.read"), st.just({})),
)
CHECKPOINTS = st.one_of(
    st.tuples(st.just("hot_update"), st.sampled_from(FACTORIES)),
    st.tuples(st.just("restore"), st.none()),
    st.tuples(st.just("reboot"), st.none()),
)


def checkpoint(k: Kernel, kind: str, factory: type | None) -> None:
    if kind == "hot_update":
        assert factory is not None
        k.hot_update(factory)  # the same code version: must be invisible
    elif kind == "restore":
        k.restore(k.snapshot())
    else:
        state = k.snapshot()
        k.shutdown()
        k.boot(state=state)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(STEPS, CHECKPOINTS), max_size=25))
def test_reinstalling_with_snapshot_and_restore_is_observationally_equivalent_to_never_doing_it(
    script: list[tuple[str, Any]],
) -> None:
    changed, untouched = build(), build()
    for kind, arg in script:
        if kind in ("hot_update", "restore", "reboot"):
            checkpoint(changed, kind, arg)
        else:
            assert changed.invoke(kind, arg) == untouched.invoke(kind, arg), kind
        assert changed.snapshot() == untouched.snapshot()
    assert changed.names() == untouched.names()
    assert changed.invoke("pricing.quote", {"amount": 10}) == untouched.invoke("pricing.quote", {"amount": 10})


def test_snapshot_teardown_restore_keeps_every_components_state_and_future_behaviour() -> None:
    k = build()
    k.invoke("search.index_doc", {"id": "a", "text": "python"})
    k.invoke("search.search", {"query": "py"})
    k.invoke("counter.inc")
    k.invoke("pricing.set_rate", {"rate": 0.15})
    k.invoke("vault.put", {"key": "x", "value": 7})
    before = k.snapshot()
    k.shutdown()
    assert k.names() == [] and k.operations() == []
    k.boot(state=before)
    assert k.snapshot() == before
    assert k.instance("pricing").last_rate == 0.15
    assert k.invoke("search.search", {"query": "py"}) == ["a"]
    assert k.invoke("counter.inc") == (2, 4)
    assert k.invoke("vault.get", {"key": "x"}) == 7
    assert k.invoke("journal.read") == ["search.queried:py", "search.queried:py"]
    assert k.invoke("pricing.quote", {"amount": 100}) == 115.0


def test_snapshot_is_a_copy_that_later_changes_do_not_reach() -> None:
    k = build()
    k.invoke("search.index_doc", {"id": "a", "text": "python"})
    snap = k.snapshot()
    k.invoke("search.index_doc", {"id": "b", "text": "java"})
    assert snap["search"]["index"] == {"a": "python"}
    k.restore({"search": snap["search"]})
    assert k.invoke("search.search", {"query": "java"}) == []


def test_restore_with_unknown_names_or_before_boot_is_refused_and_changes_nothing() -> None:
    k = build()
    k.invoke("counter.inc")
    with pytest.raises(UnknownComponentError, match="'ghost'"):
        k.restore({"counter": {"count": 0}, "ghost": {}})
    assert k.invoke("counter.inc") == (2, 4)
    with pytest.raises(UnknownComponentError, match="'ghost'"):
        Kernel().boot(state={"ghost": {}})
    k.shutdown()
    with pytest.raises(ComponentError, match="boot\\(state=...\\)"):
        k.restore({})


def test_restore_with_a_malformed_state_rolls_every_instance_back() -> None:
    k = build()
    k.invoke("search.index_doc", {"id": "a", "text": "python"})
    k.invoke("vault.put", {"key": "x", "value": 1})
    with pytest.raises(ActivationError, match="activating 'vault'.*must be a dict of attributes.*rolled back: vault, search$"):
        k.restore({"search": {"index": {}, "queries": 0}, "vault": ["not", "a", "dict"]})
    assert k.invoke("search.search", {"query": "py"}) == ["a"]
    assert k.invoke("vault.get", {"key": "x"}) == 1


def test_failed_boot_with_state_leaves_kernel_unbooted_and_bootable() -> None:
    k = build()
    good = k.snapshot()
    k.shutdown()
    with pytest.raises(ActivationError, match="'counter'"):
        k.boot(state={**good, "counter": 42})
    assert not k.booted and k.names() == []
    k.boot(state=good)
    assert k.snapshot() == good
