"""Declaring components: the decorator records what the kernel needs, and rejects what it cannot use."""

from typing import Any

import pytest

from glitchless.kernel import (
    Component,
    ComponentError,
    Kernel,
    Requires,
    component,
    computed,
    effect,
    meta_of,
    operation,
    subscribe,
)


@component(
    "search",
    version="1.2",
    provides=["ISearch"],
    requires={"config": "IConfig", "backends": Requires.map("IBackend", key="version")},
    properties={"limit": 10},
)
class Search(Component):
    @computed
    def limit(self) -> int:
        return 1

    @effect
    def watch(self) -> None:
        pass

    @subscribe("a.b", "a.*")
    def on_a(self, topic: str, data: Any) -> None:
        pass

    @operation
    def query(self, params: dict[str, Any]) -> int:
        return 0


def test_decorator_records_name_version_contracts_and_members_in_definition_order() -> None:
    meta = meta_of(Search)
    assert (meta.name, meta.version, meta.provides) == ("search", "1.2", ("ISearch",))
    assert meta.requires == {"config": Requires.one("IConfig"), "backends": Requires("IBackend", "map", "version")}
    assert dict(meta.properties) == {"limit": 10}
    assert meta.computeds == ("limit",)
    assert meta.effects == ("watch",)
    assert meta.subscriptions == (("a.b", "on_a"), ("a.*", "on_a"))
    assert meta.operations == ("query",)


def test_undecorated_subclass_is_not_taken_for_its_parent() -> None:
    class Sub(Search):
        pass

    with pytest.raises(ComponentError, match="not a component"):
        meta_of(Sub)


def test_instantiating_a_plain_class_is_a_clear_error_and_kernel_still_boots() -> None:
    class Plain:
        pass

    k = Kernel()
    with pytest.raises(ComponentError, match="decorate the class with @component"):
        k.instantiate(Plain)
    assert k.boot() == []


@pytest.mark.parametrize("bad", ["", "a.b", "has space", 3])
def test_component_names_with_dots_or_junk_are_rejected(bad: Any) -> None:
    with pytest.raises(ComponentError, match="name"):
        component(bad)


def test_map_requirement_without_key_is_rejected() -> None:
    with pytest.raises(ComponentError, match="needs a key"):
        component("x", requires={"m": Requires("I", "map")})


def test_provides_given_as_a_bare_string_is_rejected() -> None:
    with pytest.raises(ComponentError, match="list of contracts"):
        component("x", provides="ISearch")


def test_computed_method_read_outside_a_kernel_is_a_clear_error() -> None:
    with pytest.raises(ComponentError, match="not activated"):
        Search().limit()
