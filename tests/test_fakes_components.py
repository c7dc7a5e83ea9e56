"""The public components that plug the fixtures' recorders into a kernel, and the logger names."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import glitchless.fakes
from glitchless.fakes import EventCollector, EventProbe, FakeClock, FakeLogger, FakeLoggerProvider
from glitchless.kernel import Component, ComponentError, Kernel, component, operation
from glitchless.kernel import Logger as KernelLogger


@component("shop", version="1.0", requires={"log": "ILogger"})
class Shop(Component):
    @operation
    def sell(self, params: dict[str, Any]) -> str:
        self.ctx.use("log").info(f"sold {params['item']}")
        self.ctx.publish("order.placed", {"item": params["item"]})
        self.ctx.publish("stock.low", {"item": params["item"]})
        return "ok"


def test_the_fake_logger_provider_hands_consumers_the_fake_logger_and_the_probe_feeds_the_collector() -> None:
    clock = FakeClock()
    logger, collector = FakeLogger(clock), EventCollector(clock)
    kernel = Kernel(clock=clock.now)
    kernel.instantiate(FakeLoggerProvider, properties={"logger": logger})
    kernel.instantiate(EventProbe, properties={"collector": collector, "topics": ["order.*"]})
    kernel.instantiate(Shop)
    kernel.boot()
    clock.advance(5)
    assert kernel.invoke("shop.sell", {"item": "pen"}) == "ok"
    assert logger.messages() == ["sold pen"] and logger.records[0].t == 5.0
    assert collector.topics() == ["order.placed"]  # stock.low is not one of its topics
    assert collector.events[0].t == 5.0 and collector.of("order.*") == [{"item": "pen"}]


def test_the_probe_without_topics_collects_every_topic() -> None:
    collector = EventCollector()
    kernel = Kernel()
    kernel.instantiate(FakeLoggerProvider, properties={"logger": FakeLogger()})
    kernel.instantiate(EventProbe, properties={"collector": collector})
    kernel.instantiate(Shop)
    kernel.boot()
    kernel.invoke("shop.sell", {"item": "pen"})
    assert collector.topics() == ["order.placed", "stock.low"]


def test_a_provider_without_its_logger_says_which_property_is_missing() -> None:
    kernel = Kernel()
    kernel.instantiate(FakeLoggerProvider)
    kernel.instantiate(Shop)
    with pytest.raises(Exception) as err:
        kernel.boot()
        kernel.invoke("shop.sell", {"item": "pen"})
    text = f"{err.value} {err.value.__cause__}"
    assert "'fake-logger' needs the property 'logger': a FakeLogger (got NoneType)" in text


def test_the_two_loggers_have_distinct_names_and_the_old_fakes_name_is_a_deprecated_alias() -> None:
    assert FakeLogger is not KernelLogger and FakeLogger.__name__ != KernelLogger.__name__
    assert "Logger" not in glitchless.fakes.__all__
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from glitchless.fakes import Logger
    assert Logger is FakeLogger
    message = "glitchless.fakes.Logger is deprecated: use glitchless.fakes.FakeLogger"
    assert {str(w.message) for w in caught} == {message}  # `from ... import` looks the name up twice
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert glitchless.fakes.Logger is FakeLogger
    assert [(str(w.message), w.category, w.filename) for w in caught] == [(message, DeprecationWarning, __file__)]
    with pytest.raises(AttributeError):
        glitchless.fakes.NoSuchThing  # noqa: B018


def test_component_error_is_what_a_missing_property_raises() -> None:
    from glitchless.fakes.components import _property

    class Ctx:
        name = "probe"
        properties: dict[str, Any] = {"collector": 3}

    with pytest.raises(ComponentError, match="^'probe' needs the property 'collector': a EventCollector \\(got int\\)$"):
        _property(Ctx(), "collector", EventCollector)  # type: ignore[arg-type]
