"""Pattern 7, unit testing: one component on a minimal kernel, its outside world replaced by fakes.

`order-service` reads its tax rate from config through a `@computed`, logs each rate it
sees from an effect, and publishes `order.placed`. The kernel around it holds only config,
the fakes' public `FakeLoggerProvider` handing out a `FakeLogger`, and their `EventProbe`
feeding an `EventCollector`: everything the service touches is recorded and checked.
"""

from __future__ import annotations

from typing import Any

from glitchless.fakes import EventCollector, EventProbe, FakeLogger, FakeLoggerProvider, Json
from glitchless.kernel import Component, Config, Signal, component, computed, effect, operation
from glitchless.scenarios.framework import Script, scenario


@component("order-service", version="1.0", requires={"config": "IConfig", "logger": "ILogger"})
class OrderService(Component):
    def __init__(self) -> None:
        no_orders: tuple[float, ...] = ()
        self.totals: Signal[tuple[float, ...]] = self.ctx.signal(no_orders, name="totals")

    @computed
    def tax_rate(self) -> float:
        return float(self.ctx.use("config").get("orders.tax_rate", 0.0))

    @computed
    def revenue(self) -> dict[str, Any]:
        totals = self.totals.get()
        return {"count": len(totals), "total": round(sum(totals), 2)}

    @effect
    def announce_tax_rate(self) -> None:
        self.ctx.use("logger").info(f"Tax rate is now {self.tax_rate()}")

    @operation
    def place(self, params: dict[str, Any]) -> dict[str, Any]:
        item, qty, price = str(params["item"]), int(params["qty"]), float(params["price"])
        subtotal = round(qty * price, 2)
        tax = round(subtotal * self.tax_rate(), 2)
        order: dict[str, Any] = {"item": item, "qty": qty, "price": price, "subtotal": subtotal, "tax": tax, "total": round(subtotal + tax, 2)}
        self.totals.update(lambda t: (*t, order["total"]))
        self.ctx.publish("order.placed", order)
        return order


def _money(order: dict[str, Any]) -> dict[str, Json]:
    return {k: order[k] for k in ("subtotal", "tax", "total")}


@scenario("unit-testing", "order-service on a minimal kernel with a fake logger and an event collector")
async def unit_testing(s: Script) -> None:
    s.step("minimal kernel: config (tax 0.08), fake logger, event probe, order-service")
    clock = s.trace.clock
    logger, collector = FakeLogger(clock, name="order-service"), EventCollector(clock)
    kernel = s.kernel()
    kernel.instantiate(Config, properties={"defaults": {"orders": {"tax_rate": 0.08}}})
    kernel.instantiate(FakeLoggerProvider, properties={"logger": logger})
    kernel.instantiate(EventProbe, properties={"collector": collector, "topics": ["order.*"]})
    kernel.instantiate(OrderService)
    kernel.boot()
    service: OrderService = kernel.instance("order-service")
    config: Config = kernel.instance("config")
    s.expect("the boot rate is logged once", logger.messages(), ["Tax rate is now 0.08"])

    s.step("place Widget 3 x 10")
    widget = kernel.invoke("order-service.place", {"item": "Widget", "qty": 3, "price": 10})
    s.observe("order", _money(widget))
    s.expect("Widget 3 x 10 at 0.08", _money(widget), {"subtotal": 30.0, "tax": 2.4, "total": 32.4})
    captured: list[Json] = [{"topic": e.topic, **_money(dict(e.data))} for e in collector.events if isinstance(e.data, dict)]
    s.observe("events", captured)
    s.expect("one order.placed event captured", collector.topics(), ["order.placed"])
    s.expect("the event carries the order", collector.of("order.placed"), [widget])

    s.step("place Gadget 1 x 100")
    await s.advance(1)
    gadget = kernel.invoke("order-service.place", {"item": "Gadget", "qty": 1, "price": 100})
    s.observe("gadget", _money(gadget))
    s.observe("revenue", service.revenue())
    s.expect("revenue counts two orders", service.revenue(), {"count": 2, "total": 140.4})

    s.step("config orders.tax_rate -> 0.15")
    await s.advance(1)
    config.set("orders.tax_rate", 0.15)
    rate = service.tax_rate()
    s.observe("tax_rate", rate)
    s.observe("log", list(logger.messages()))
    s.expect("tax_rate follows config immediately", rate, 0.15)
    s.expect("the effect logged the new rate", logger.messages(), ["Tax rate is now 0.08", "Tax rate is now 0.15"])
    s.expect("log lines carry fake-clock times", [r.t for r in logger.records], [0.0, 2.0])
    after = kernel.invoke("order-service.place", {"item": "Widget", "qty": 3, "price": 10})
    s.observe("order_after_change", _money(after))
    s.expect("the next order uses the new rate", _money(after), {"subtotal": 30.0, "tax": 4.5, "total": 34.5})
    s.expect("each order published one event", collector.topics(), ["order.placed"] * 3)
