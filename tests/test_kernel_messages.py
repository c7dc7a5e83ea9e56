"""The component layer's refusals, word for word: each names the component, operation or target at fault."""

from __future__ import annotations

import re
from typing import Any

import pytest

from glitchless.kernel import (
    Component,
    ComponentError,
    InstanceSpec,
    Kernel,
    MissingProviderError,
    Requires,
    UnknownComponentError,
    UnknownOperationError,
    UnknownTargetError,
    component,
    operation,
    subscribe,
)
from glitchless.kernel.bus import Bus, raise_all


def exactly(text: str) -> str:
    return "^" + re.escape(text) + "$"


@component("db")
class Db(Component):
    @operation
    def query(self, params: dict[str, Any]) -> str:
        return f"{self.ctx.name}:{params.get('q')}"

    @operation
    def count(self, params: dict[str, Any]) -> int:
        return 0


@component("quiet")
class Quiet(Component):
    pass


# -- bus ----------------------------------------------------------------------------


def test_raise_all_raises_one_error_as_is_several_as_a_named_group_and_none_not_at_all() -> None:
    raise_all([], "things")
    one = ValueError("one")
    with pytest.raises(ValueError) as single:
        raise_all([one], "things")
    assert single.value is one
    two = [ValueError("a"), KeyError("b")]
    with pytest.raises(ExceptionGroup) as group:
        raise_all(two, "things")
    assert group.value.message == "2 things failed"
    assert list(group.value.exceptions) == two


def test_several_failing_handlers_become_one_group_naming_the_topic() -> None:
    @component("fragile")
    class Fragile(Component):
        @subscribe("x")
        def a(self, topic: str, data: Any) -> None:
            raise ValueError("a")

        @subscribe("x")
        def b(self, topic: str, data: Any) -> None:
            raise KeyError("b")

    k = Kernel()
    k.instantiate(Fragile)
    k.boot()
    with pytest.raises(ExceptionGroup) as info:
        k.publish("x")
    assert info.value.message == "2 handlers of 'x' failed"
    assert [type(e) for e in info.value.exceptions] == [ValueError, KeyError]


def test_a_handler_that_removes_another_instance_mid_publish_keeps_it_from_receiving() -> None:
    got: list[str] = []

    @component("first")
    class First(Component):
        @subscribe("t")
        def on(self, topic: str, data: Any) -> None:
            got.append("first")
            self.ctx.kernel.hot_remove("second")

    @component("second")
    class Second(Component):
        @subscribe("t")
        def on(self, topic: str, data: Any) -> None:
            got.append("second")

    k = Kernel()
    k.instantiate(First)
    k.instantiate(Second)
    k.boot()
    k.publish("t")
    assert got == ["first"]


def test_a_topic_with_pattern_characters_only_reaches_wildcards_that_match_it() -> None:
    got: list[str] = []

    @component("w")
    class W(Component):
        @subscribe("a?c")
        def q(self, topic: str, data: Any) -> None:
            got.append(f"q:{topic}")

        @subscribe("abc")
        def exact(self, topic: str, data: Any) -> None:
            got.append(f"exact:{topic}")

        @subscribe("X")
        def big_x(self, topic: str, data: Any) -> None:
            got.append(f"X:{topic}")

    k = Kernel()
    k.instantiate(W)
    k.boot()
    k.publish("abc")
    k.publish("X")
    k.publish("aXc")
    assert got == ["exact:abc", "q:abc", "X:X", "q:aXc"]


def test_a_policy_without_audit_logs_nothing_but_still_filters() -> None:
    @component("talker")
    class Talker(Component):
        @operation
        def say(self, params: dict[str, Any]) -> None:
            self.ctx.publish(params["topic"])

    k = Kernel()
    k.instantiate(Talker)
    k.boot()
    k.set_policy("talker", publish_allow=["ok.*"])
    k.invoke("talker.say", {"topic": "ok.1"})
    with pytest.raises(PermissionError, match=exactly("component 'talker' may not publish 'no'; its publish_allow is ['ok.*']")):
        k.invoke("talker.say", {"topic": "no"})
    k.set_policy("talker", publish_allow=[])
    with pytest.raises(PermissionError, match=exactly("component 'talker' may not publish 'ok.2'; its publish_allow is []")):
        k.invoke("talker.say", {"topic": "ok.2"})
    assert k.audit_log == []


def test_a_removed_instance_loses_its_policy() -> None:
    @component("talker")
    class Talker(Component):
        @operation
        def say(self, params: dict[str, Any]) -> None:
            self.ctx.publish("t")

    k = Kernel()
    k.instantiate(Talker)
    k.instantiate(Quiet)
    k.boot()
    k.set_policy("talker", audit=True, publish_allow=[])
    k.set_policy("quiet", audit=True)
    k.hot_remove("talker")
    k.hot_add(Talker)
    assert k.invoke("talker.say") is None  # no policy any more: allowed, not audited
    k.publish("t", caller="quiet")
    assert k.audit_log == [{"action": "publish", "caller": "quiet", "event": "t"}]


def test_set_policy_defaults_to_no_audit() -> None:
    k = Kernel()
    k.instantiate(Quiet)
    k.boot()
    k.set_policy("quiet")
    k.publish("t", caller="quiet")
    assert k.audit_log == []


def test_invoke_messages_name_the_address_operation_and_what_exists() -> None:
    k = Kernel()
    k.instantiate(Db, "db-a", {"target": "a"})
    k.instantiate(Db, "db-b", {"target": "b"})
    k.instantiate(Quiet)
    k.boot()
    with pytest.raises(UnknownOperationError, match=exactly("component 'db-a' has no operation 'nope' (it has: count, query)")):
        k.invoke("db-a.nope")
    with pytest.raises(UnknownOperationError, match=exactly("component 'quiet' has no operation 'x' (it has: none)")):
        k.invoke("quiet.x")
    with pytest.raises(UnknownTargetError, match=exactly("no instance of 'db' has target 'c' (targets: 'a', 'b')")):
        k.invoke("db.query", {"target": "c"})
    with pytest.raises(UnknownTargetError, match=exactly("'db' has 2 instances (db-a, db-b); pass a 'target'")):
        k.invoke("db.query")
    with pytest.raises(UnknownComponentError, match=exactly("no component named 'zz' (known: db-a, db-b, quiet)")):
        k.invoke("zz.query")
    with pytest.raises(ComponentError, match=exactly("params for 'db-a.query' must be a mapping, got list")):
        k.invoke("db-a.query", [1])  # type: ignore[arg-type]
    for bad in ["db-a", ".query", "db-a.", ""]:
        with pytest.raises(ComponentError, match=exactly(f"address {bad!r} must look like 'component.operation'")):
            k.invoke(bad)
    with pytest.raises(ComponentError, match=exactly("address 7 must look like 'component.operation'")):
        k.invoke(7)  # type: ignore[arg-type]


def test_an_address_splits_at_its_first_dot() -> None:
    k = Kernel()
    k.instantiate(Db)
    k.boot()
    with pytest.raises(UnknownOperationError, match=exactly("component 'db' has no operation 'query.x' (it has: count, query)")):
        k.invoke("db.query.x")


def test_a_factory_address_reaches_its_only_instance_without_a_target() -> None:
    k = Kernel()
    k.instantiate(Db, "db-main")
    k.boot()
    assert k.invoke("db.query", {"q": 1}) == "db-main:1"
    assert k.invoke("db-main.query", {"q": 2}) == "db-main:2"


def test_a_factory_address_with_a_target_its_untargeted_instances_lack_is_refused() -> None:
    k = Kernel()
    k.instantiate(Db, "db-main")
    k.boot()
    with pytest.raises(UnknownTargetError, match=exactly("no instance of 'db' has target 'x' (targets: none)")):
        k.invoke("db.query", {"target": "x"})


def test_unknown_component_with_no_routes_says_none_known() -> None:
    with pytest.raises(UnknownComponentError, match=exactly("no component named 'a' (known: none)")):
        Bus().invoke("a.b")


# -- kernel --------------------------------------------------------------------------


def test_lifecycle_misuse_is_refused_with_the_exact_reason() -> None:
    k = Kernel()
    with pytest.raises(ComponentError, match=exactly("hot_add() needs a booted kernel; declare instances with instantiate() before boot()")):
        k.hot_add(Quiet)
    with pytest.raises(ComponentError, match=exactly("restore() needs a booted kernel; pass the state to boot(state=...) instead")):
        k.restore({})
    with pytest.raises(UnknownComponentError, match=exactly("no live component named 'quiet' (live: none)")):
        k.instance("quiet")
    with pytest.raises(UnknownComponentError, match=exactly("no component named 'x' (known: none)")):
        k.boot({"x": 1})
    k.instantiate(Quiet)
    with pytest.raises(ComponentError, match=exactly("an instance named 'quiet' is already declared")):
        k.instantiate(Quiet)
    k.boot()
    with pytest.raises(ComponentError, match=exactly("the kernel is already booted")):
        k.boot()
    with pytest.raises(ComponentError, match=exactly("the kernel is booted: add instances with hot_add()")):
        k.instantiate(Db)
    with pytest.raises(ComponentError, match=exactly("instance names already in use: db, quiet")):
        k.hot_add(Quiet, Db, Db)
    with pytest.raises(UnknownComponentError, match=exactly("no live component named 'db' (live: quiet)")):
        k.instance("db")
    with pytest.raises(UnknownComponentError, match=exactly("no component named 'a', 'b' (known: quiet)")):
        k.hot_remove("a", "b")
    assert k.names() == ["quiet"]


def test_hot_add_refuses_names_in_use_but_takes_distinct_new_ones() -> None:
    k = Kernel()
    k.boot()
    assert k.hot_add(Quiet, InstanceSpec(Quiet, "quiet-2")) == ["quiet", "quiet-2"]


def test_removing_a_needed_provider_names_the_instances_and_the_need() -> None:
    @component("app", requires={"db": "IDb"})
    class App(Component):
        pass

    @component("dbp", provides=["IDb"])
    class DbP(Component):
        pass

    k = Kernel()
    k.instantiate(App)
    k.instantiate(DbP)
    k.instantiate(Quiet)
    k.boot()
    with pytest.raises(MissingProviderError, match=exactly(
        "cannot remove 'dbp', 'quiet': 'app' requires 'IDb' (as 'db') but no component provides it"
    )):
        k.hot_remove("dbp", "quiet")
    assert k.names() == ["dbp", "app", "quiet"]


def test_instance_and_target_names_are_checked_with_what_they_name() -> None:
    k = Kernel()
    with pytest.raises(ComponentError, match=exactly("instance name 'a.b' must be letters, digits, '_' or '-' (no dots)")):
        k.instantiate(Quiet, "a.b")
    with pytest.raises(ComponentError, match=exactly("target of 'q' name 'x.y' must be letters, digits, '_' or '-' (no dots)")):
        k.instantiate(Quiet, "q", {"target": "x.y"})
    with pytest.raises(ComponentError, match=exactly("properties of 'q' must be a mapping")):
        k.instantiate(Quiet, "q", [("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(ComponentError, match=exactly("component name 'a b' must be letters, digits, '_' or '-' (no dots)")):
        component("a b")


def test_use_of_a_missing_mandatory_provider_names_component_contract_and_requirement() -> None:
    got: list[Any] = []

    @component("needy", requires={"db": "IDb", "cache": Requires.optional("ICache")})
    class Needy(Component):
        def activate(self) -> None:
            got.append(self.ctx.use("cache"))

        @operation
        def go(self, params: dict[str, Any]) -> Any:
            return self.ctx.use("db")

    @component("dbp", provides=["IDb"])
    class DbP(Component):
        pass

    k = Kernel()
    k.instantiate(Needy)
    k.instantiate(DbP)
    k.boot()
    assert got == [None]
    assert k.invoke("needy.go") is k.instance("dbp")
    ctx = k._live["needy"]
    k._contract("IDb").set(())  # behind the planner's back: the provider vanished
    with pytest.raises(MissingProviderError, match=exactly("component 'needy': no provider of 'IDb' for 'db'")):
        ctx.use("db")


def test_context_signals_and_effects_are_named_after_the_instance() -> None:
    names: list[str | None] = []

    @component("named")
    class Named(Component):
        def activate(self) -> None:
            a = self.ctx.signal(1)
            b = self.ctx.signal(2, name="b")
            e1 = self.ctx.effect(lambda: None)
            e2 = self.ctx.effect(lambda: None, name="e")
            names.extend([a.name, b.name, e1.name, e2.name])

        @operation
        def relay(self, params: dict[str, Any]) -> Any:
            return self.ctx.invoke("db.query", {"q": params["q"]})

    k = Kernel()
    k.instantiate(Named)
    k.instantiate(Db)
    k.boot()
    assert names == ["named", "named.b", "named", "named.e"]
    assert k.invoke("named.relay", {"q": 3}) == "db:3"


def test_a_kernel_given_a_runtime_builds_on_it() -> None:
    from glitchless.kernel import Runtime

    rt = Runtime()
    k = Kernel(runtime=rt)
    assert k.rt is rt
    assert k.booted is False


def test_a_map_requirement_keys_providers_by_the_named_property() -> None:
    got: list[dict[str, Any]] = []

    @component("region", provides=["IRegion"], properties={"code": None})
    class Region(Component):
        pass

    @component("router", requires={"regions": Requires.map("IRegion", "code")})
    class Router(Component):
        def activate(self) -> None:
            got.append({k: v.ctx.name for k, v in self.ctx.use("regions").items()})

    assert Requires.map("IRegion", "code") == Requires("IRegion", "map", "code")
    assert Requires.optional("I") == Requires("I", "optional", None)
    k = Kernel()
    k.instantiate(Region, "r-eu", {"code": "eu"})
    k.instantiate(Region, "r-us", {"code": "us"})
    k.instantiate(Region, "r-none")
    k.instantiate(Router)
    k.boot()
    assert got == [{"eu": "r-eu", "us": "r-us"}]
