"""Boot order, requirement checks and reactive injection."""

from typing import Any

import pytest

from glitchless.kernel import (
    ActivationError,
    Component,
    ComponentError,
    CyclicRequirementError,
    InstanceSpec,
    Kernel,
    MissingProviderError,
    Requires,
    component,
    computed,
    effect,
    operation,
)

ACTIVATED: list[str] = []


def recorder(name: str, **kw: Any) -> type:
    @component(name, **kw)
    class Recorded(Component):
        def activate(self) -> None:
            ACTIVATED.append(self.ctx.name)

        @operation
        def ping(self, params: dict[str, Any]) -> str:
            return self.ctx.name

    return Recorded


@pytest.fixture(autouse=True)
def _clear() -> None:
    ACTIVATED.clear()


def test_boot_activates_providers_before_consumers_regardless_of_declaration_order() -> None:
    k = Kernel()
    k.instantiate(recorder("app", requires={"db": "IDb", "cache": "ICache"}))
    k.instantiate(recorder("db", provides=["IDb"], requires={"cache": "ICache"}))
    k.instantiate(recorder("cache", provides=["ICache"]))
    assert k.boot() == ["cache", "db", "app"]
    assert ACTIVATED == ["cache", "db", "app"]


def test_independent_components_activate_in_name_order() -> None:
    k = Kernel()
    for name in ["zeta", "alpha", "mid"]:
        k.instantiate(recorder(name))
    assert k.boot() == ["alpha", "mid", "zeta"]


def test_one_factory_instantiated_under_several_names_with_properties() -> None:
    Tenant = recorder("tenant", properties={"plan": "free", "target": None})
    k = Kernel()
    k.instantiate(Tenant, "tenant-acme", {"target": "acme", "plan": "pro"})
    k.instantiate(Tenant, "tenant-globex", {"target": "globex"})
    k.boot()
    acme, globex = k.instance("tenant-acme"), k.instance("tenant-globex")
    assert dict(acme.ctx.properties) == {"plan": "pro", "target": "acme"}
    assert dict(globex.ctx.properties) == {"plan": "free", "target": "globex"}
    assert acme.ctx.factory == globex.ctx.factory == "tenant"
    assert k.invoke("tenant-acme.ping") == "tenant-acme"


def test_missing_provider_is_refused_naming_component_and_contract_and_kernel_still_boots_once_fixed() -> None:
    k = Kernel()
    k.instantiate(recorder("app", requires={"db": "IDb"}))
    with pytest.raises(MissingProviderError, match=r"'app' requires 'IDb' \(as 'db'\)"):
        k.boot()
    assert ACTIVATED == [] and not k.booted
    k.instantiate(recorder("db", provides=["IDb"]))
    k.boot()
    assert k.invoke("app.ping") == "app"


def test_cyclic_requirements_are_refused_naming_the_cycle_and_nothing_activates() -> None:
    k = Kernel()
    k.instantiate(recorder("a", provides=["IA"], requires={"b": "IB"}))
    k.instantiate(recorder("b", provides=["IB"], requires={"c": "IC"}))
    k.instantiate(recorder("c", provides=["IC"], requires={"a": Requires.optional("IA")}))
    k.instantiate(recorder("free"))
    with pytest.raises(CyclicRequirementError, match="a -> b -> c -> a"):
        k.boot()
    assert ACTIVATED == [] and k.names() == []
    k.instantiate(recorder("c2", provides=["IC"]))
    k.hot_remove("c")  # replacing one member breaks the cycle; the rest then boots
    assert k.boot() == ["c2", "b", "a", "free"]


def test_a_component_is_never_injected_into_itself() -> None:
    k = Kernel()
    k.instantiate(recorder("proxy", provides=["ISearch"], requires={"inner": "ISearch"}))
    with pytest.raises(MissingProviderError, match="'proxy' requires 'ISearch'"):
        k.boot()


def test_activation_failure_at_boot_rolls_back_what_booted_and_names_the_component() -> None:
    @component("broken", requires={"db": "IDb"})
    class Broken(Component):
        def activate(self) -> None:
            raise RuntimeError("no disk")

    k = Kernel()
    k.instantiate(recorder("db", provides=["IDb"]))
    k.instantiate(Broken)
    with pytest.raises(ActivationError, match="activating 'broken' as broken 0 failed.*no disk.*rolled back: broken, db$"):
        k.boot()
    assert k.names() == [] and k.operations() == [] and not k.booted


def test_duplicate_instance_name_and_duplicate_target_are_refused() -> None:
    T = recorder("t")
    k = Kernel()
    k.instantiate(T, "t1", {"target": "x"})
    with pytest.raises(ComponentError, match="already declared"):
        k.instantiate(T, "t1")
    k.instantiate(T, "t2", {"target": "x"})
    with pytest.raises(ComponentError, match="'t1' and 't2' both serve target 'x'"):
        k.boot()


@component("backend", provides=["IBackend"], properties={"version": "v0"})
class Backend(Component):
    @operation
    def which(self, params: dict[str, Any]) -> str:
        return self.ctx.name


@component(
    "router",
    requires={
        "one": "IBackend",
        "maybe": Requires.optional("IMissing"),
        "every": Requires.all("IBackend"),
        "by_version": Requires.map("IBackend", key="version"),
    },
)
class Router(Component):
    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    @computed
    def versions(self) -> list[str]:
        return sorted(self.ctx.use("by_version"))

    @effect
    def track(self) -> None:
        self.seen.append(self.versions())


def boot_router() -> Kernel:
    k = Kernel()
    k.instantiate(Backend, "b-one", {"version": "v1"})
    k.instantiate(Backend, "b-two", {"version": "v2"})
    k.instantiate(Router)
    k.boot()
    return k


def test_injection_kinds_single_optional_all_and_map_keyed_by_property() -> None:
    k = boot_router()
    r = k.instance("router")
    b1, b2 = k.instance("b-one"), k.instance("b-two")
    assert r.ctx.use("one") is b1  # first by instance name
    assert r.ctx.use("maybe") is None
    assert r.ctx.use("every") == (b1, b2)
    assert dict(r.ctx.use("by_version")) == {"v1": b1, "v2": b2}


def test_map_injection_is_rebuilt_reactively_when_providers_come_and_go() -> None:
    k = boot_router()
    r = k.instance("router")
    k.hot_add(InstanceSpec(Backend, "b-three", {"version": "v3"}))
    k.hot_remove("b-one")
    assert r.seen == [["v1", "v2"], ["v1", "v2", "v3"], ["v2", "v3"]]
    assert r.ctx.use("one") is k.instance("b-three")


def test_effect_reading_a_single_requirement_reruns_when_its_provider_changes() -> None:
    @component("user", requires={"backend": "IBackend"})
    class User(Component):
        def __init__(self) -> None:
            self.log: list[str] = []

        @effect
        def follow(self) -> None:
            self.log.append(self.ctx.use("backend").ctx.name)

    k = Kernel()
    k.instantiate(Backend, "b-zz")
    k.instantiate(User)
    k.boot()
    k.hot_add(InstanceSpec(Backend, "b-aa"))
    k.hot_add(InstanceSpec(Backend, "b-mm"))  # not first by name: the user's effect does not re-run
    assert k.instance("user").log == ["b-zz", "b-aa"]


def test_two_providers_sharing_a_map_key_is_a_clear_error_for_the_reader() -> None:
    k = Kernel()
    k.instantiate(Backend, "b-one", {"version": "v1"})
    k.instantiate(Backend, "b-dup", {"version": "v1"})
    k.instantiate(Router)
    with pytest.raises(ActivationError, match="share version='v1'"):
        k.boot()
    k.hot_remove("b-dup")
    k.boot()
    assert k.instance("router").seen == [["v1"]]


def test_using_an_undeclared_requirement_names_it() -> None:
    k = boot_router()
    with pytest.raises(ComponentError, match="'router' declares no requirement 'nope'"):
        k.instance("router").ctx.use("nope")
