"""Edges of the bus declarations and the stock providers: exact vs wildcard topics, bad keys, defaults."""

from __future__ import annotations

from typing import Any

import pytest

from glitchless.kernel import (
    Component,
    ComponentError,
    Config,
    Credentials,
    Kernel,
    component,
    operation,
    subscribe,
)


def test_an_exact_topic_with_capital_letters_is_delivered_before_wildcards() -> None:
    heard: list[str] = []

    @component("a-wild")
    class Wild(Component):
        @subscribe("*")
        def on(self, topic: str, data: Any) -> None:
            heard.append("wild")

    @component("b-exact")
    class Exact(Component):
        @subscribe("Xfer.Done")
        def on(self, topic: str, data: Any) -> None:
            heard.append("exact")

    k = Kernel()
    k.instantiate(Wild)
    k.instantiate(Exact)
    k.boot()
    k.publish("Xfer.Done")
    assert heard == ["exact", "wild"]


@pytest.mark.parametrize("pattern", ["", 5, None])
def test_a_subscribe_pattern_must_be_a_non_empty_string(pattern: Any) -> None:
    with pytest.raises(ComponentError) as err:
        subscribe("ok", pattern)
    assert str(err.value) == f"subscribe pattern {pattern!r} must be a non-empty string"


def test_stacked_subscribe_decorators_listen_to_every_pattern() -> None:
    heard: list[str] = []

    @component("listener")
    class Listener(Component):
        @subscribe("a.one")
        @subscribe("b.two", "c.three")
        def on(self, topic: str, data: Any) -> None:
            heard.append(topic)

    k = Kernel()
    k.instantiate(Listener)
    k.boot()
    for topic in ["a.one", "b.two", "c.three"]:
        k.publish(topic)
    assert heard == ["a.one", "b.two", "c.three"]


# -- config keys and defaults --------------------------------------------------------------------


def booted_config(defaults: dict[str, Any]) -> Kernel:
    k = Kernel()
    k.instantiate(Config, properties={"defaults": defaults})
    k.boot()
    return k


def test_config_defaults_are_copied_so_later_changes_by_the_caller_do_not_leak_in() -> None:
    defaults = {"db": {"url": "postgres://a"}}
    k = booted_config(defaults)
    defaults["db"]["url"] = "postgres://changed"
    assert k.instance("config").get("db.url") == "postgres://a"


@pytest.mark.parametrize("key", [5, None, ("a", "b")])
def test_config_keys_that_are_not_strings_are_refused(key: Any) -> None:
    config = booted_config({"a": {"b": 1}}).instance("config")
    with pytest.raises(ComponentError, match="must be dotted non-empty parts"):
        config.get(key)
    with pytest.raises(ComponentError, match="must be dotted non-empty parts"):
        config.set(key, 1)
    assert config.snapshot() == {"a": {"b": 1}}


def test_a_missing_credential_gives_the_callers_default() -> None:
    @component("client", requires={"creds": "ICredentials"})
    class Client(Component):
        @operation
        def key(self, params: dict[str, Any]) -> Any:
            return self.ctx.use("creds").get(params["name"], "fallback")

    k = Kernel()
    k.instantiate(Config, properties={"defaults": {"apps": {"client": {"targets": {"client": {"api_key": "sk"}}}}}})
    k.instantiate(Credentials)
    k.instantiate(Client)
    k.boot()
    assert k.invoke("client.key", {"name": "api_key"}) == "sk"
    assert k.invoke("client.key", {"name": "missing"}) == "fallback"
