"""Pattern 1: secret rotation. A vault rotates a client's scoped key; the client reconnects.

Config -> credentials -> `db-client`, whose async effect reconnects (a 2 s handshake on the
fake clock) whenever its scoped url or key changes. The `vault` component wraps the fake
Vault: each rotation writes the new key and the url of its generation in one batch. Then a
month on the fake clock: rotation every 24 h, keys valid 25 h, and a vault outage over one
rotation, retried until the vault is back.
"""

from __future__ import annotations

import asyncio
from typing import Any

from glitchless.fakes import ClockTimer, Vault, VaultUnavailable
from glitchless.kernel import AsyncEffect, Component, Config, Credentials, Logger, component, effect, operation
from glitchless.scenarios.framework import Script, scenario

HOUR = 3600.0
DAY = 24 * HOUR
KEY = "apps.db-client.targets.prod.api_key"
URL = "apps.db-client.targets.prod.url"
INITIAL_KEY = "sk-initial-0000-prod-live"
HANDSHAKE = 2.0
RETRY = 300.0


def mask(key: str) -> str:
    return f"{key[:4]}****{key[-4:]}"


def url_for(key: str) -> str:
    """The endpoint that goes with a key: its generation number is the key's."""
    return f"postgres://db.prod/app?gen={key.split('-')[2]}"


@component("vault", requires={"config": "IConfig", "log": "ILogger"})
class VaultComponent(Component):
    """Rotates the client's key in the fake Vault and publishes key + url to config in one batch."""

    def activate(self) -> None:
        self.vault: Vault = self.ctx.properties["vault"]
        self.failures: list[dict[str, Any]] = []
        self._timer: ClockTimer | None = None
        self._unsubscribe = self.vault.on_rotate(self._publish)

    def deactivate(self) -> None:
        self._unsubscribe()
        if self._timer is not None:
            self._timer.cancel()

    def _publish(self, secret: Any) -> None:
        config = self.ctx.use("config")
        with self.ctx.rt.batch():  # the client never sees a new url with an old key, or the reverse
            config.set(KEY, secret.value)
            config.set(URL, url_for(secret.value))

    @operation
    def rotate(self, params: dict[str, Any]) -> str:
        secret = self.vault.rotate(KEY)
        return mask(secret.value)

    @operation
    def rotate_every(self, params: dict[str, Any]) -> None:
        """Rotate every `interval` seconds; a rotation refused by an outage is retried every RETRY s."""
        interval = float(params["interval"])
        clock = self.vault.clock
        due = clock.now() + interval

        def tick() -> None:
            nonlocal due
            try:
                self.vault.rotate(KEY)
            except VaultUnavailable as exc:
                self.failures.append({"t": clock.now(), "error": str(exc)})
                self.ctx.use("log").error(f"rotation failed, retrying in {RETRY:.0f} s: {exc}")
                self._timer = clock.call_later(RETRY, tick)
                return
            while due <= clock.now():
                due += interval
            self._timer = clock.call_at(due, tick)

        self._timer = clock.call_at(due, tick)


@component(
    "db-client",
    requires={"creds": "ICredentials", "log": "ILogger"},
    properties={"target": "prod"},
)
class DbClient(Component):
    def activate(self) -> None:
        self.connection_log: list[str] = []
        self.held: list[tuple[float, str, str]] = []  # (connected at, url, key)
        self.pairs_seen: list[tuple[str, str]] = []
        self._reconnect: AsyncEffect = self.ctx.rt.effect(self._connect, name="db-client.reconnect")

    def deactivate(self) -> None:
        self._reconnect.dispose()

    @effect
    def watch_pair(self) -> None:
        creds = self.ctx.use("creds")
        self.pairs_seen.append((creds.get("url"), creds.get("api_key")))

    async def _connect(self) -> None:
        creds = self.ctx.use("creds")
        url, key = creds.get("url"), creds.get("api_key")
        await asyncio.sleep(HANDSHAKE)
        self.held.append((self.ctx.now(), url, key))
        self.connection_log.append(mask(key))
        self.ctx.use("log").info(f"connected to {url} with {mask(key)}")

    @property
    def key(self) -> str:
        return self.held[-1][2] if self.held else ""


def max_stale_seconds(vault: Vault, held: list[tuple[float, str, str]], until: float) -> float:
    """The longest time the client held a key past its expiry."""
    expiry = {s.value: s.expires_at for s in vault.history(KEY)}
    worst = 0.0
    for i, (start, _url, key) in enumerate(held):
        end = held[i + 1][0] if i + 1 < len(held) else until
        expires = expiry.get(key)
        if expires is not None:
            worst = max(worst, end - max(start, expires))
    return worst


@scenario("secret-rotation", "a vault rotates a client's scoped key: reconnect per rotation, a month on the clock, an outage")
async def secret_rotation(s: Script) -> None:
    s.step("boot: config, credentials, logger, vault, db-client")
    vault = Vault(s.trace.clock, validity=25 * HOUR)
    vault.put(KEY, INITIAL_KEY)
    k = s.kernel()
    tree = {"apps": {"db-client": {"targets": {"prod": {"api_key": INITIAL_KEY, "url": url_for(INITIAL_KEY)}}}}}
    k.instantiate(Config, properties={"defaults": tree})
    k.instantiate(Credentials)
    k.instantiate(Logger)
    k.instantiate(VaultComponent, properties={"vault": vault})
    k.instantiate(DbClient)
    k.boot()
    client: DbClient = k.instance("db-client")
    vc: VaultComponent = k.instance("vault")
    await s.advance(5)
    s.expect("connected with the boot key", client.connection_log, ["sk-i****live"])

    for n in range(1, 4):
        s.step(f"rotation {n}")
        masked = k.invoke("vault.rotate")
        s.note("vault rotated", key=masked)
        await s.advance(60)
        s.expect(f"reconnected with rotated key {n}", client.key, f"sk-rotated-{n:04d}-prod-live")
    s.observe("connection_log", client.connection_log)
    s.observe("reconnect_count", len(client.connection_log))
    s.expect("one connection per key: boot + 3 rotations", len(client.connection_log), 4)

    s.step("a month: the vault rotates every 24 h, keys valid 25 h")
    start = s.now()
    k.invoke("vault.rotate_every", {"interval": DAY})
    await s.advance(10 * DAY - 15 * 60)
    last_good = client.key
    outage, lead = 37 * 60, 15 * 60  # the outage starts `lead` s before the day-10 rotation is due
    s.fault("vault outage for 37 min over the day-10 rotation", lambda: vault.outage_for(outage))
    await s.advance(17 * 60)  # 2 min past the refused rotation; retries every 5 min
    s.note("during the outage", client_key=mask(client.key), failures=len(vc.failures))
    s.expect("during the outage the client stays on its last good key", client.key, last_good)
    s.expect("that key is still valid", vault.is_valid(KEY, client.key), True)
    s.expect("the refused rotation is recorded", [f["error"] for f in vc.failures][:1], [f"vault unavailable: rotate {KEY!r}"])
    await s.advance(30 * 60)  # the outage ended at +22 min; the +25 min retry got through
    s.expect("after the outage the retry rotates the key", client.key != last_good, True)
    await s.advance(start + 30 * DAY + HOUR - s.now())  # past the 30th rotation, not on it

    log: Logger = k.instance("logger")
    failures_logged = [m for m in log.messages("vault") if m.startswith("rotation failed")]
    stale = max_stale_seconds(vault, client.held, s.now())
    torn = [p for p in client.pairs_seen if url_for(p[1]) != p[0]]
    rotations = len(vault.history(KEY)) - 4
    s.note("month done", rotations=rotations, reconnects=len(client.held), failures=len(vc.failures))
    s.expect("the client never held an expired key", stale, 0.0)
    s.expect("url and key always switched together (no torn pair seen)", torn, [])
    s.expect("30 scheduled rotations, the day-10 one late", rotations, 30)
    s.expect("one reconnect per rotation", len(client.held), 4 + rotations)
    # Refused: the due attempt and each retry RETRY s apart while the vault is still down.
    refusals = len(range(0, outage - lead, int(RETRY)))
    refused_by_vault = sum(f.op == "rotate" for f in vault.failures)
    s.expect(
        "every refused rotation is logged, none swallowed",
        {"logged": len(failures_logged), "refused by the vault": refused_by_vault},
        {"logged": refusals, "refused by the vault": refusals},
    )
    s.expect("the vault refused the rotation while down (and nothing else)", sorted({f.op for f in vault.failures}), ["rotate"])
    s.observe("max_stale_seconds", stale)
    s.observe("torn_pairs", len(torn))
    s.observe("month_rotations", rotations)
    s.observe("month_reconnects", len(client.held) - 4)
    s.observe("vault_failures", [{"t": f.t - start, "op": f.op} for f in vault.failures])
