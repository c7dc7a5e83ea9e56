"""Pattern 7 as a downstream team would write it: plain pytest tests on the plugin's fixtures.

The fixtures (`sim_kernel`, `fake_clock`, `fake_logger`, `event_collector`) come from
the `glitchless` pytest plugin, registered through the `pytest11` entry point.
"""

from __future__ import annotations

from glitchless.fakes import DeterministicLoop, EventCollector, EventProbe, FakeClock, FakeLogger, FakeLoggerProvider
from glitchless.kernel import Config, Kernel
from glitchless.scenarios.unit_testing import OrderService


def _boot(kernel: Kernel, logger: FakeLogger, collector: EventCollector) -> tuple[OrderService, Config]:
    kernel.instantiate(Config, properties={"defaults": {"orders": {"tax_rate": 0.08}}})
    kernel.instantiate(FakeLoggerProvider, properties={"logger": logger})
    kernel.instantiate(EventProbe, properties={"collector": collector})
    kernel.instantiate(OrderService)
    kernel.boot()
    return kernel.instance("order-service"), kernel.instance("config")


def test_widget_order_totals_at_the_boot_tax_rate(
    sim_kernel: Kernel, fake_logger: FakeLogger, event_collector: EventCollector
) -> None:
    _boot(sim_kernel, fake_logger, event_collector)
    order = sim_kernel.invoke("order-service.place", {"item": "Widget", "qty": 3, "price": 10})
    assert (order["subtotal"], order["tax"], order["total"]) == (30.0, 2.4, 32.4)


def test_one_order_placed_event_is_captured(
    sim_kernel: Kernel, fake_logger: FakeLogger, event_collector: EventCollector
) -> None:
    _boot(sim_kernel, fake_logger, event_collector)
    order = sim_kernel.invoke("order-service.place", {"item": "Widget", "qty": 3, "price": 10})
    assert event_collector.topics() == ["order.placed"]
    assert event_collector.of("order.placed") == [order]


def test_revenue_counts_both_orders(sim_kernel: Kernel, fake_logger: FakeLogger, event_collector: EventCollector) -> None:
    service, _ = _boot(sim_kernel, fake_logger, event_collector)
    sim_kernel.invoke("order-service.place", {"item": "Widget", "qty": 3, "price": 10})
    sim_kernel.invoke("order-service.place", {"item": "Gadget", "qty": 1, "price": 100})
    assert service.revenue() == {"count": 2, "total": 140.4}


def test_config_change_applies_at_once_and_is_logged_at_fake_clock_time(
    sim_kernel: Kernel, fake_logger: FakeLogger, event_collector: EventCollector, fake_clock: FakeClock
) -> None:
    service, config = _boot(sim_kernel, fake_logger, event_collector)
    fake_clock.advance(2)
    config.set("orders.tax_rate", 0.15)
    assert service.tax_rate() == 0.15
    assert fake_logger.messages() == ["Tax rate is now 0.08", "Tax rate is now 0.15"]
    assert [r.t for r in fake_logger.records] == [0.0, 2.0]


def test_sim_loop_runs_async_code_in_virtual_time(sim_loop: DeterministicLoop, fake_clock: FakeClock) -> None:
    import asyncio

    async def wait_an_hour() -> float:
        await asyncio.sleep(3600)
        return asyncio.get_running_loop().time()

    assert sim_loop.run_until_complete(wait_an_hour()) == 3600.0
    assert fake_clock.now() == 3600.0
