"""Pattern 5: circuit breaker. `payment-svc` guards its calls to `ext-api` with a breaker.

The breaker's state is a Signal and an effect logs its transitions. The failure threshold is a
@computed over config `circuit.failure_threshold`, so a config change applies at the next
failure. Open calls fail fast until the cooldown (config `circuit.cooldown_seconds`) has passed
on the fake clock; then the first call becomes the one half-open probe (a `ping` to the API)
while any other call fails fast; a good probe closes the breaker, a bad one re-opens it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from glitchless.fakes import ApiUnavailable, ExternalApi
from glitchless.kernel import Component, Config, component, computed, effect, operation
from glitchless.scenarios.framework import Script, scenario

COOLDOWN = 30.0
LATENCY = 0.5


class CircuitOpenError(RuntimeError):
    """The breaker refused the call without touching the API."""


@component("ext-api", provides=["IExtApi"])
class ExtApi(Component):
    """The remote API, whose health is a Signal the script flips."""

    def __init__(self) -> None:
        self.health = self.ctx.signal(True, name="health")
        self.api: ExternalApi = self.ctx.properties["api"]

    @effect
    def apply_health(self) -> None:
        self.api.healthy = self.health.get()

    @operation
    def down(self, params: dict[str, Any]) -> None:
        self.health.set(False)

    @operation
    def up(self, params: dict[str, Any]) -> None:
        self.health.set(True)

    async def call(self, op: str, payload: object = None) -> object:
        return await self.api.call(op, payload)


@component("payment-svc", requires={"api": "IExtApi", "config": "IConfig"})
class PaymentService(Component):
    def __init__(self) -> None:
        self.state = self.ctx.signal("closed", name="state")
        self.failures = self.ctx.signal(0, name="failures")
        self.event_log: list[str] = []
        self.opened_at = 0.0
        self.fail_fast = 0
        self.payments = 0

    @computed
    def threshold(self) -> int:
        return int(self.ctx.use("config").get("circuit.failure_threshold", 3))

    @computed
    def cooldown(self) -> float:
        return float(self.ctx.use("config").get("circuit.cooldown_seconds", COOLDOWN))

    @effect
    def log_transitions(self) -> None:
        self.event_log.append(self.state.get())

    def _refuse(self, why: str) -> CircuitOpenError:
        self.fail_fast += 1
        return CircuitOpenError(f"circuit {self.state.peek()}: {why}")

    def _trip(self) -> None:
        self.opened_at = self.ctx.now()
        self.state.set("open")

    @operation
    async def pay(self, params: dict[str, Any]) -> object:
        api = self.ctx.use("api")
        state = self.state.peek()
        if state == "open":
            remaining = self.opened_at + self.cooldown() - self.ctx.now()
            if remaining > 0:
                raise self._refuse(f"cooling down for {remaining:g} s more")
            self.state.set("half-open")  # this call is the probe
            try:
                await api.call("ping")
            except ApiUnavailable:
                self._trip()
                raise
            with self.ctx.rt.batch():
                self.failures.set(0)
                self.state.set("closed")
        elif state == "half-open":
            raise self._refuse("a half-open probe is in flight")
        try:
            result = await api.call("charge", params)
        except ApiUnavailable:
            with self.ctx.rt.batch():
                self.failures.update(lambda n: n + 1)
                if self.state.peek() == "closed" and self.failures.peek() >= self.threshold():
                    self._trip()
            raise
        self.failures.set(0)
        self.payments += 1
        return result

    @operation
    def status(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"state": self.state.peek(), "failures": self.failures.peek(), "threshold": self.threshold()}


async def attempt(s: Script, k: Any, label: str) -> str:
    """One payment; its outcome goes into the timeline."""
    try:
        await k.invoke("payment-svc.pay", {"amount": 10, "ref": label})
        outcome = "ok"
    except ApiUnavailable:
        outcome = "api unavailable"
    except CircuitOpenError:
        outcome = "failed fast"
    s.note(f"payment {label}: {outcome}", state=k.instance("payment-svc").state.peek())
    return outcome


@scenario("circuit-breaker", "a breaker opens after failures, cools down on the fake clock, probes once, closes")
async def circuit_breaker(s: Script) -> None:
    s.step("boot: config, ext-api, payment-svc")
    api = ExternalApi(s.trace.clock, latency=LATENCY)
    k = s.kernel()
    k.instantiate(Config, properties={"defaults": {"circuit": {"failure_threshold": 3, "cooldown_seconds": COOLDOWN}}})
    k.instantiate(ExtApi, properties={"api": api})
    k.instantiate(PaymentService)
    k.boot()
    svc: PaymentService = k.instance("payment-svc")

    s.step("2 good payments")
    outcomes = [await attempt(s, k, f"good-{i}") for i in (1, 2)]
    s.expect("both go through", outcomes, ["ok", "ok"])

    s.fault("API down", lambda: k.invoke("ext-api.down"))
    s.step("4 attempts: 3 failures open the breaker; after the cooldown the probe fails")
    outcomes = [await attempt(s, k, f"down-{i}") for i in (1, 2, 3)]
    s.expect("the third failure opens the breaker", svc.state.peek(), "open")
    await s.advance(COOLDOWN)
    outcomes.append(await attempt(s, k, "down-4"))
    s.expect("attempts while down", outcomes, ["api unavailable"] * 4)
    s.expect("the failed probe re-opens it", svc.state.peek(), "open")

    s.fault("API up", lambda: k.invoke("ext-api.up"))
    await s.advance(COOLDOWN)
    s.step("1 payment after the cooldown: probe, then the payment")
    s.expect("the payment goes through", await attempt(s, k, "recovered"), "ok")
    s.expect(
        "event log",
        svc.event_log,
        ["closed", "open", "half-open", "open", "half-open", "closed"],
    )
    s.expect("api calls that succeeded: 2 payments, the probe, the last payment", api.ok_calls, 4)
    status = k.invoke("payment-svc.status")
    s.expect("final state", status, {"state": "closed", "failures": 0, "threshold": 3})
    s.observe("event_log", svc.event_log)
    s.observe("api_calls", api.ok_calls)
    s.observe("final", status)

    s.step("open calls fail fast without touching the API until the cooldown passes")
    s.fault("API down", lambda: k.invoke("ext-api.down"))
    for i in (1, 2, 3):
        await attempt(s, k, f"trip-{i}")
    requests = len(api.calls)
    fast = svc.fail_fast
    for i in range(5):
        await s.advance(COOLDOWN / 6)
        await attempt(s, k, f"open-{i + 1}")
    s.expect("calls in the cooldown fail fast", svc.fail_fast - fast, 5)
    s.expect("and never reach the API", len(api.calls) - requests, 0)
    s.observe("fail_fast_calls", svc.fail_fast - fast)
    s.observe("api_requests_while_open", len(api.calls) - requests)

    s.step("after the cooldown, 3 concurrent payments: one probe, the others fail fast")
    s.fault("API up", lambda: k.invoke("ext-api.up"))
    await s.advance(COOLDOWN)
    requests = len(api.calls)
    results = await asyncio.gather(*(attempt(s, k, f"concurrent-{i}") for i in (1, 2, 3)))
    pings = [c for c in api.calls[requests:] if c.op == "ping"]
    s.expect("one call probed and went through, the others failed fast", sorted(results), ["failed fast", "failed fast", "ok"])
    s.expect("exactly one probe reached the API", len(pings), 1)
    s.expect("the probe closed the breaker", svc.state.peek(), "closed")
    s.observe("concurrent_outcomes", sorted(results))
    s.observe("probes_sent", len(pings))

    s.step("threshold changed in config mid-run applies at the next failure")
    s.fault("API down", lambda: k.invoke("ext-api.down"))
    await attempt(s, k, "lower-1")
    s.expect("one failure under threshold 3 leaves it closed", svc.state.peek(), "closed")
    k.instance("config").set("circuit.failure_threshold", 2)
    s.note("config circuit.failure_threshold = 2")
    await attempt(s, k, "lower-2")
    s.expect("the next failure opens it at the new threshold", (svc.state.peek(), svc.failures.peek()), ("open", 2))
    s.observe("opened_after_failures_with_threshold_2", svc.failures.peek())
