"""Fakes of the outside world: vault, external API, logger, event collector."""

from __future__ import annotations

import asyncio

import pytest

from glitchless.fakes import (
    ApiUnavailable,
    EventCollector,
    ExternalApi,
    FakeClock,
    FakeLogger,
    Secret,
    UnknownSecret,
    Vault,
    VaultUnavailable,
    simulate,
)

KEY = "apps.db-client.targets.prod.api_key"
HOUR = 3600.0


# -- Vault ---------------------------------------------------------------------


def test_vault_rotation_names_keys_by_version_and_target() -> None:
    vault = Vault(FakeClock())
    boot = vault.put(KEY, "sk-initial-0000-prod-live")
    assert boot == Secret(KEY, "sk-initial-0000-prod-live", 0, 0.0, None)
    rotated = [vault.rotate(KEY).value for _ in range(3)]
    assert rotated == ["sk-rotated-0001-prod-live", "sk-rotated-0002-prod-live", "sk-rotated-0003-prod-live"]
    assert vault.get(KEY).value == "sk-rotated-0003-prod-live"
    vault.put("staging.key", "sk-initial-0000-staging-live", target="staging")
    assert vault.rotate("staging.key").value == "sk-rotated-0001-staging-live"


def test_vault_keys_are_valid_only_inside_their_window() -> None:
    clock = FakeClock()
    vault = Vault(clock, validity=25 * HOUR)
    vault.put(KEY, "k0")
    clock.advance(24 * HOUR)
    vault.rotate(KEY)
    assert vault.is_valid(KEY, "k0") and vault.is_valid(KEY, "sk-rotated-0001-prod-live")
    clock.advance(1 * HOUR)
    assert not vault.is_valid(KEY, "k0")  # expired at exactly 25 h
    assert vault.is_valid(KEY, "sk-rotated-0001-prod-live")
    assert not vault.is_valid(KEY, "never-issued")
    assert vault.get(KEY).expires_at == 49 * HOUR


def test_vault_rotates_on_a_clock_schedule_and_tells_listeners() -> None:
    clock = FakeClock()
    vault = Vault(clock, validity=25 * HOUR)
    vault.put(KEY, "sk-initial-0000-prod-live")
    seen: list[tuple[float, str]] = []
    vault.on_rotate(lambda s: seen.append((clock.now(), s.value)))
    stop = vault.rotate_every(KEY, 24 * HOUR)
    clock.advance(3 * 24 * HOUR)
    assert seen == [
        (24 * HOUR, "sk-rotated-0001-prod-live"),
        (48 * HOUR, "sk-rotated-0002-prod-live"),
        (72 * HOUR, "sk-rotated-0003-prod-live"),
    ]
    stop()
    clock.advance(48 * HOUR)
    assert len(seen) == 3


def test_vault_outage_refuses_and_records_every_operation_and_skips_scheduled_rotation() -> None:
    clock = FakeClock()
    vault = Vault(clock)
    vault.put(KEY, "k0")
    rotations: list[str] = []
    vault.on_rotate(lambda s: rotations.append(s.value))
    vault.rotate_every(KEY, 10)
    clock.advance(5)
    vault.outage_for(10)  # down from t=5 to t=15: the t=10 rotation fails
    with pytest.raises(VaultUnavailable):
        vault.get(KEY)
    clock.advance(15)  # t=20: back up, the t=20 rotation works
    assert [(f.t, f.op) for f in vault.failures] == [(5.0, "get"), (10.0, "rotate")]
    assert rotations == ["sk-rotated-0001-prod-live"]
    assert vault.get(KEY).value == "sk-rotated-0001-prod-live"
    with pytest.raises(UnknownSecret):
        vault.get("nope")


# -- ExternalApi -----------------------------------------------------------------


def test_external_api_answers_after_its_latency_in_virtual_time() -> None:
    clock = FakeClock()
    api = ExternalApi(clock, latency=0.25)

    async def main() -> tuple[object, float]:
        answer = await api.call("charge", {"amount": 10})
        return answer, clock.now()

    assert simulate(main, clock=clock) == ({"ok": True, "op": "charge"}, 0.25)
    assert [(c.op, c.outcome, c.duration) for c in api.calls] == [("charge", "ok", 0.25)]


def test_external_api_faults_outage_slow_and_exception() -> None:
    clock = FakeClock()
    api = ExternalApi(clock)

    async def main() -> list[str]:
        outcomes = []
        api.down()
        try:
            await api.call("a")
        except ApiUnavailable:
            outcomes.append("unavailable")
        api.up()
        api.slow(30)
        try:
            await asyncio.wait_for(api.call("b"), timeout=5)
        except TimeoutError:
            outcomes.append(f"timeout@{clock.now()}")
        api.slow(0)
        api.fail_with(ValueError("bad gateway"))
        try:
            await api.call("c")
        except ValueError as exc:
            outcomes.append(str(exc))
        api.fail_with(None)
        outcomes.append(str(await api.call("d")))
        return outcomes

    assert simulate(main, clock=clock) == [
        "unavailable",
        "timeout@5.0",
        "bad gateway",
        "{'ok': True, 'op': 'd'}",
    ]
    assert [c.outcome for c in api.calls] == ["unavailable", "cancelled", "error: ValueError", "ok"]
    assert api.ok_calls == 1


def test_external_api_script_changes_health_at_virtual_times() -> None:
    clock = FakeClock()
    api = ExternalApi(clock, handler=lambda op, payload: payload)
    api.at(10, ExternalApi.down)
    api.at(20, ExternalApi.up)
    results: list[str] = []
    for _ in range(4):
        try:
            results.append(str(api.call_sync("ping", clock.now())))
        except ApiUnavailable:
            results.append("down")
        clock.advance(7)
    assert results == ["0.0", "7.0", "down", "21.0"]


# -- FakeLogger and EventCollector ------------------------------------------------------


def test_logger_records_levels_messages_fields_and_virtual_time() -> None:
    clock = FakeClock()
    log = FakeLogger(clock)
    log.info("Tax rate is now 0.08")
    clock.advance(3)
    log.error("payment failed", attempt=2)
    assert log.messages() == ["Tax rate is now 0.08", "payment failed"]
    assert log.messages("error") == ["payment failed"]
    assert (log.records[1].t, log.records[1].fields) == (3.0, {"attempt": 2})
    log.clear()
    assert log.records == []
    unclocked = FakeLogger()
    unclocked.warning("no clock")
    assert unclocked.records[0].t is None


def test_event_collector_records_topics_and_filters_by_glob() -> None:
    clock = FakeClock()
    events = EventCollector(clock)
    events("order.placed", {"id": 1})
    clock.advance(1)
    events.collect("account.transfer", {"amount": 150})
    events("account.opened")
    assert events.topics() == ["order.placed", "account.transfer", "account.opened"]
    assert events.of("order.placed") == [{"id": 1}]
    assert events.of("account.*") == [{"amount": 150}, None]
    assert events.events[1].t == 1.0
    events.clear()
    assert events.of("*") == []


def test_vault_rotation_drives_an_async_reconnect_over_a_simulated_month_without_expired_keys() -> None:
    from glitchless.kernel import Runtime

    clock = FakeClock()
    vault = Vault(clock, validity=25 * HOUR)
    vault.put(KEY, "sk-initial-0000-prod-live")
    log = FakeLogger(clock)

    async def main() -> tuple[int, float]:
        rt = Runtime(scheduler=asyncio.get_running_loop())
        key = rt.signal(vault.get(KEY).value, name="api_key")
        vault.on_rotate(lambda secret: key.set(secret.value))
        vault.rotate_every(KEY, 24 * HOUR)
        held: list[str] = []
        max_stale = 0.0

        async def reconnect() -> None:
            value = key.get()
            await asyncio.sleep(2)  # the handshake takes virtual time
            held.append(value)
            log.info(f"connected with {value[:4]}****{value[-4:]}")

        async def audit() -> None:
            nonlocal max_stale
            for _ in range(30 * 24):
                await asyncio.sleep(HOUR)
                if held and not vault.is_valid(KEY, held[-1]):
                    max_stale = max(max_stale, HOUR)

        rt.effect(reconnect, name="db-client")
        await audit()
        return len(held), max_stale

    reconnects, max_stale = simulate(main, seed=1, clock=clock)
    assert clock.now() == 30 * 24 * HOUR
    assert reconnects == 1 + 29  # boot, then one per rotation (the 30th falls at the very end)
    assert max_stale == 0.0
    assert log.messages()[:2] == ["connected with sk-i****live", "connected with sk-r****live"]
