"""hot_add, hot_remove and hot_update: ordering, cleanup, state carry-over and rollback."""

from typing import Any

import pytest

from glitchless.kernel import (
    ActivationError,
    Component,
    ComponentError,
    Config,
    InstanceSpec,
    Kernel,
    MissingProviderError,
    Requires,
    UnknownComponentError,
    component,
    computed,
    effect,
    operation,
    subscribe,
)

# -- pattern 4: extension bundle ---------------------------------------------------------


@component("core-app")
class CoreApp(Component):
    @operation
    def do_work(self, params: dict[str, Any]) -> str:
        self.ctx.publish("core.work_completed", {"result": "ok"})
        return "completed"


@component("slack-notifier", provides=["ISlackNotifier"])
class SlackNotifier(Component):
    def activate(self) -> None:
        self.sent: list[str] = []

    @operation
    def notify(self, params: dict[str, Any]) -> None:
        self.sent.append(f"#{params['channel']}: {params['message']}")


@component("slack-webhook")
class SlackWebhook(Component):
    @operation
    def receive(self, params: dict[str, Any]) -> dict[str, bool]:
        return {"ack": True}


@component("slack-commands", requires={"notifier": "ISlackNotifier"})
class SlackCommands(Component):
    def activate(self) -> None:
        self.handled = 0

    @subscribe("core.work_completed")
    def on_work(self, topic: str, data: Any) -> None:
        self.handled += 1
        self.ctx.use("notifier").notify({"channel": "ops", "message": f"Work completed: {data['result']}"})


def core_kernel() -> Kernel:
    k = Kernel()
    k.instantiate(CoreApp)
    k.boot()
    return k


def test_bundle_is_installed_in_requirement_order_not_list_order_and_works() -> None:
    k = core_kernel()
    assert "slack-notifier.notify" not in k.operations()
    assert k.hot_add(SlackCommands, SlackWebhook, SlackNotifier) == ["slack-notifier", "slack-commands", "slack-webhook"]
    assert {"slack-notifier.notify", "slack-webhook.receive"} <= set(k.operations())
    k.invoke("core-app.do_work")
    assert k.instance("slack-notifier").sent == ["#ops: Work completed: ok"]


def test_hot_remove_really_unsubscribes_and_removes_routes() -> None:
    k = core_kernel()
    k.hot_add(SlackNotifier, SlackWebhook, SlackCommands)
    commands, notifier = k.instance("slack-commands"), k.instance("slack-notifier")
    k.hot_remove("slack-commands", "slack-webhook", "slack-notifier")
    assert k.operations() == ["core-app.do_work"]
    k.invoke("core-app.do_work")
    assert commands.handled == 0 and notifier.sent == []
    with pytest.raises(UnknownComponentError, match="'slack-notifier'"):
        k.invoke("slack-notifier.notify", {})


def test_removing_a_provider_someone_still_needs_is_refused_and_nothing_changes() -> None:
    k = core_kernel()
    k.hot_add(SlackNotifier, SlackCommands)
    with pytest.raises(MissingProviderError, match="cannot remove 'slack-notifier': 'slack-commands' requires"):
        k.hot_remove("slack-notifier")
    k.invoke("core-app.do_work")
    assert k.instance("slack-notifier").sent == ["#ops: Work completed: ok"]
    k.hot_remove("slack-notifier", "slack-commands")  # together is fine: consumers go first
    assert k.names() == ["core-app"]


def test_hot_remove_of_unknown_name_is_a_clear_error_and_removes_nothing() -> None:
    k = core_kernel()
    with pytest.raises(UnknownComponentError, match="'ghost'"):
        k.hot_remove("core-app", "ghost")
    assert k.invoke("core-app.do_work") == "completed"


def test_bundle_failing_mid_install_rolls_back_what_it_installed() -> None:
    @component("slack-broken", requires={"notifier": "ISlackNotifier"})
    class Broken(Component):
        def activate(self) -> None:
            raise RuntimeError("bad token")

    k = core_kernel()
    with pytest.raises(ActivationError, match="'slack-broken' as slack-broken 0 failed.*bad token.*rolled back: slack-broken, slack-notifier$"):
        k.hot_add(SlackNotifier, SlackWebhook, Broken)
    assert k.names() == ["core-app"] and k.operations() == ["core-app.do_work"]
    k.hot_add(SlackNotifier, SlackWebhook, SlackCommands)  # the names are free again
    k.invoke("core-app.do_work")
    assert k.instance("slack-notifier").sent == ["#ops: Work completed: ok"]


def test_hot_add_with_missing_requirement_or_taken_name_changes_nothing() -> None:
    k = core_kernel()
    with pytest.raises(MissingProviderError, match="'slack-commands' requires 'ISlackNotifier'"):
        k.hot_add(SlackCommands)
    with pytest.raises(ComponentError, match="already in use: core-app"):
        k.hot_add(CoreApp)
    assert k.names() == ["core-app"]
    k.hot_add(SlackWebhook)
    assert k.invoke("slack-webhook.receive") == {"ack": True}


def test_hot_add_before_boot_and_instantiate_after_boot_point_to_the_right_call() -> None:
    k = Kernel()
    with pytest.raises(ComponentError, match="needs a booted kernel"):
        k.hot_add(CoreApp)
    k.instantiate(CoreApp)
    k.boot()
    with pytest.raises(ComponentError, match="use hot_add|add instances with hot_add"):
        k.instantiate(SlackWebhook)


def test_onboarding_and_offboarding_a_target_instance_after_boot() -> None:
    @component("tenant-db")
    class TenantDb(Component):
        @operation
        def who(self, params: dict[str, Any]) -> str:
            return self.ctx.scope

    k = Kernel()
    k.instantiate(TenantDb, "tenant-db-acme", {"target": "acme"})
    k.boot()
    k.hot_add(InstanceSpec(TenantDb, "tenant-db-hooli", {"target": "hooli"}))
    assert k.invoke("tenant-db.who", {"target": "hooli"}) == "hooli"
    with pytest.raises(ComponentError, match="both serve target 'acme'"):
        k.hot_add(InstanceSpec(TenantDb, "tenant-db-acme2", {"target": "acme"}))
    k.hot_remove("tenant-db-hooli")
    with pytest.raises(LookupError, match="target 'hooli'"):
        k.invoke("tenant-db.who", {"target": "hooli"})
    assert k.invoke("tenant-db.who", {"target": "acme"}) == "acme"


# -- pattern 8: hot code update ----------------------------------------------------------

EVENTS: list[str] = []


@component("search", version="1.0", provides=["ISearch"])
class SearchV1(Component):
    def activate(self) -> None:
        self.index: dict[str, str] = {}
        self.queries = 0

    def snapshot(self) -> dict[str, Any]:
        return {"index": self.index, "queries": self.queries}

    def restore(self, state: dict[str, Any]) -> None:
        self.index, self.queries = state["index"], state["queries"]

    @operation
    def index_doc(self, params: dict[str, Any]) -> None:
        self.index[params["id"]] = params["text"]

    @operation
    def search(self, params: dict[str, Any]) -> dict[str, Any]:
        self.queries += 1
        q = params["query"].lower()
        return {"results": [{"id": i} for i, t in self.index.items() if q in t.lower()], "total_queries": self.queries}

    @operation
    def status(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"version": "1.0", "engine": "keyword", "docs": len(self.index), "queries": self.queries}

    @subscribe("search.reindex")
    def on_reindex(self, topic: str, data: Any) -> None:
        EVENTS.append(f"{self.ctx.version}:{topic}")


@component("search", version="2.0", provides=["ISearch"])
class SearchV2(SearchV1):
    @operation
    def search(self, params: dict[str, Any]) -> dict[str, Any]:
        self.queries += 1
        q = params["query"].lower()
        hits = []
        for i, text in self.index.items():
            t = text.lower()
            if q in t:
                hits.append({"id": i, "score": 1.0 + 0.5 * t.startswith(q) + 1.0 * (t == q)})
        return {"results": sorted(hits, key=lambda h: -h["score"]), "total_queries": self.queries}

    @operation
    def status(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"version": "2.0", "engine": "scored", "docs": len(self.index), "queries": self.queries}


@pytest.fixture(autouse=True)
def _clear() -> None:
    EVENTS.clear()


def search_kernel() -> Kernel:
    k = Kernel()
    k.instantiate(SearchV1)
    k.boot()
    for i, text in [("1", "Python programming language"), ("2", "Python snake species"), ("3", "JavaScript framework")]:
        k.invoke("search.index_doc", {"id": i, "text": text})
    assert len(k.invoke("search.search", {"query": "python"})["results"]) == 2
    return k


def test_hot_update_carries_state_through_snapshot_and_restore_hooks() -> None:
    k = search_kernel()
    assert k.invoke("search.status") == {"version": "1.0", "engine": "keyword", "docs": 3, "queries": 1}
    assert k.hot_update(SearchV2) == ["search"]
    assert k.invoke("search.status") == {"version": "2.0", "engine": "scored", "docs": 3, "queries": 1}
    r = k.invoke("search.search", {"query": "python"})
    assert [h["score"] for h in r["results"]] == [1.5, 1.5] and r["total_queries"] == 2


def test_hot_update_does_not_duplicate_subscriptions() -> None:
    k = search_kernel()
    k.hot_update(SearchV2)
    k.hot_update(SearchV2)
    k.publish("search.reindex")
    assert EVENTS == ["2.0:search.reindex"]


def test_failed_activation_of_new_version_rolls_back_to_old_version_with_its_state() -> None:
    @component("search", version="3.0", provides=["ISearch"])
    class SearchV3(SearchV1):
        def restore(self, state: dict[str, Any]) -> None:
            state["index"].clear()  # must not reach the snapshot kept for the rollback
            raise RuntimeError("incompatible snapshot")

    k = search_kernel()
    with pytest.raises(ActivationError, match="activating 'search' as search 3.0 failed.*incompatible snapshot.*rolled back: search$"):
        k.hot_update(SearchV3)
    assert k.invoke("search.status") == {"version": "1.0", "engine": "keyword", "docs": 3, "queries": 1}
    k.publish("search.reindex")
    assert EVENTS == ["1.0:search.reindex"]
    k.hot_update(SearchV2)  # and the kernel still takes the good update
    assert k.invoke("search.status")["version"] == "2.0"


def test_hot_update_of_unknown_factory_or_with_missing_requirement_changes_nothing() -> None:
    @component("nobody")
    class Nobody(Component):
        pass

    @component("search", version="4.0", requires={"db": "IDb"})
    class SearchV4(SearchV1):
        pass

    k = search_kernel()
    with pytest.raises(UnknownComponentError, match="'nobody'"):
        k.hot_update(Nobody)
    with pytest.raises(MissingProviderError, match="'search' requires 'IDb'"):
        k.hot_update(SearchV4)
    assert k.invoke("search.status")["version"] == "1.0"


def test_hot_update_of_one_instance_among_several_failing_rolls_back_all_of_them() -> None:
    @component("search", version="5.0", provides=["ISearch"])
    class SearchV5(SearchV1):
        def activate(self) -> None:
            super().activate()
            if self.ctx.name == "search-b":
                raise RuntimeError("b cannot start")

    k = Kernel()
    k.instantiate(SearchV1, "search-a")
    k.instantiate(SearchV1, "search-b")
    k.boot()
    k.invoke("search-a.index_doc", {"id": "1", "text": "x"})
    with pytest.raises(ActivationError, match="'search-b'.*b cannot start.*rolled back: search-b, search-a$"):
        k.hot_update(SearchV5)
    assert [k.invoke(f"search-{n}.status")["version"] for n in "ab"] == ["1.0", "1.0"]
    assert k.invoke("search-a.status")["docs"] == 1


@component("counter", version="1")
class CounterV1(Component):
    def activate(self) -> None:
        self.count = 0
        self.hits = self.ctx.signal(0, name="hits")

    @operation
    def inc(self, params: dict[str, Any]) -> int:
        self.count += 1
        self.hits.update(lambda h: h + 1)
        return self.count


@component("counter", version="2")
class CounterV2(CounterV1):
    @operation
    def inc(self, params: dict[str, Any]) -> int:
        self.count += 10
        self.hits.update(lambda h: h + 1)
        return self.count


def test_component_without_hooks_keeps_plain_attributes_and_signal_values() -> None:
    k = Kernel()
    k.instantiate(CounterV1)
    k.boot()
    k.invoke("counter.inc")
    k.invoke("counter.inc")
    old_hits = k.instance("counter").hits
    k.hot_update(CounterV2)
    assert k.invoke("counter.inc") == 12
    new = k.instance("counter")
    assert new.hits is not old_hits and new.hits.get() == 3


def test_restore_happens_before_the_new_instances_effects_first_run() -> None:
    @component("watcher", version="1", requires={"config": "IConfig"})
    class WatcherV1(Component):
        def activate(self) -> None:
            self.seen: list[tuple[str, Any]] = []
            self.level = self.ctx.signal("boot", name="level")

        @computed
        def threshold(self) -> Any:
            return self.ctx.use("config").get("t")

        @effect
        def watch(self) -> None:
            self.seen.append((self.level.get(), self.threshold()))

        @operation
        def raise_level(self, params: dict[str, Any]) -> None:
            self.level.set(params["to"])

    @component("watcher", version="2", requires={"config": "IConfig"})
    class WatcherV2(WatcherV1):
        pass

    k = Kernel()
    k.instantiate(Config, properties={"defaults": {"t": 3}})
    k.instantiate(WatcherV1)
    k.boot()
    k.invoke("watcher.raise_level", {"to": "high"})
    k.hot_update(WatcherV2)
    # The new instance's first effect run already sees "high"; it never sees the "boot" its activate set.
    assert k.instance("watcher").seen == [("boot", 3), ("high", 3), ("high", 3)]
    k.instance("config").set("t", 4)
    assert k.instance("watcher").seen[-1] == ("high", 4)


def test_dependents_follow_an_updated_provider_in_one_batched_rerun() -> None:
    @component("user", requires={"search": "ISearch"})
    class User(Component):
        def activate(self) -> None:
            self.versions: list[str] = []

        @effect
        def follow(self) -> None:
            self.versions.append(self.ctx.use("search").ctx.version)

    k = search_kernel()
    k.hot_add(User)
    k.hot_update(SearchV2)
    assert k.instance("user").versions == ["1.0", "2.0"]


def test_reinstalled_subscriber_keeps_its_place_in_delivery_order() -> None:
    @component("early")
    class Early(Component):
        @subscribe("tick")
        def on(self, topic: str, data: Any) -> None:
            EVENTS.append("early")

    @component("late")
    class Late(Component):
        @subscribe("tick")
        def on(self, topic: str, data: Any) -> None:
            EVENTS.append("late")

    k = Kernel()
    k.instantiate(Early)
    k.instantiate(Late)
    k.boot()
    k.hot_update(Early)
    k.publish("tick")
    k.restore(k.snapshot())
    k.publish("tick")
    assert EVENTS == ["early", "late", "early", "late"]


def test_all_requirement_never_includes_the_component_itself() -> None:
    @component("fanout", provides=["ISearch"], requires={"others": Requires.all("ISearch")})
    class Fanout(Component):
        pass

    k = search_kernel()
    k.hot_add(Fanout)
    assert k.instance("fanout").ctx.use("others") == (k.instance("search"),)


def test_teardown_disposes_effects_runs_cleanups_and_deactivates_even_when_a_hook_fails() -> None:
    log: list[str] = []

    @component("res")
    class Res(Component):
        def activate(self) -> None:
            self.n = self.ctx.signal(0, name="n")
            self.ctx.effect(lambda: log.append(f"extra {self.n.get()}"))

        @effect
        def open(self) -> Any:
            n = self.n.get()
            log.append(f"open {n}")
            return lambda: log.append(f"close {n}")

        def deactivate(self) -> None:
            log.append("deactivate")
            raise RuntimeError("deactivate failed")

    k = Kernel()
    k.instantiate(Res)
    k.boot()
    res = k.instance("res")
    res.n.set(1)
    with pytest.raises(RuntimeError, match="deactivate failed"):
        k.hot_remove("res")
    assert log == ["extra 0", "open 0", "extra 1", "close 0", "open 1", "close 1", "deactivate"]
    res.n.set(2)  # nothing of the removed instance runs any more
    assert log[-1] == "deactivate" and k.names() == []
    k.hot_add(Res)  # and the name is free again
    assert k.names() == ["res"]


@component("fussy", requires={"search": Requires.all("ISearch")})
class Fussy(Component):
    @effect
    def insist(self) -> None:
        if len(self.ctx.use("search")) > 1:
            raise RuntimeError("fussy wants one search")


def test_a_dependents_effect_failing_after_a_hot_add_leaves_the_add_committed_and_the_kernel_usable() -> None:
    k = search_kernel()
    k.hot_add(Fussy)
    with pytest.raises(RuntimeError, match="fussy wants one search"):
        k.hot_add(InstanceSpec(SearchV1, "search-two"))  # committed; the dependent's error surfaces after
    assert "search-two" in k.names()
    k.hot_remove("search-two")  # the kernel knows about it, so it can take it out again
    assert k.names() == ["search", "fussy"]


def test_a_failing_effect_rerun_during_boot_leaves_a_booted_kernel() -> None:
    @component("level", provides=["ILevel"])
    class Level(Component):
        def __init__(self) -> None:
            self.value = self.ctx.signal(0, name="value")

    @component("a-watcher", requires={"level": "ILevel"})
    class Watcher(Component):
        @effect
        def check(self) -> None:
            if self.ctx.use("level").value.get() > 0:
                raise RuntimeError("level too high")

    @component("bumper", requires={"level": "ILevel"})
    class Bumper(Component):
        def activate(self) -> None:
            self.ctx.use("level").value.set(1)  # re-runs a-watcher in boot's flush, after commit

    k = Kernel()
    for f in [Level, Watcher, Bumper]:
        k.instantiate(f)
    with pytest.raises(RuntimeError, match="level too high"):
        k.boot()
    assert k.booted and k.names() == ["level", "a-watcher", "bumper"]
    k.shutdown()
    assert not k.booted and k.names() == []


def test_shutdown_with_a_failing_deactivate_still_shuts_down() -> None:
    @component("sticky")
    class Sticky(Component):
        def deactivate(self) -> None:
            raise RuntimeError("sticky")

    k = Kernel()
    k.instantiate(Sticky)
    k.boot()
    with pytest.raises(RuntimeError, match="sticky"):
        k.shutdown()
    assert not k.booted and k.names() == []
    k.boot()
    assert k.names() == ["sticky"]


def test_deactivate_runs_only_after_a_completed_activate() -> None:
    calls: list[str] = []

    @component("half")
    class Half(Component):
        def activate(self) -> None:
            calls.append("activate")
            raise RuntimeError("half way")

        def deactivate(self) -> None:
            calls.append("deactivate")

    k = core_kernel()
    with pytest.raises(ActivationError, match="half way"):
        k.hot_add(Half)
    assert calls == ["activate"] and k.names() == ["core-app"]
