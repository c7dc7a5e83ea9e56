"""Pattern 6, audit trail: cross-cutting concerns by wildcard subscription and per-component policy.

`accounts` moves money and publishes `account.transfer` (or `account.transfer_failed`);
`notifications` subscribes to `account.transfer` exactly; `audit-trail` subscribes to
`account.*` and stamps each entry with the fake clock (the bus hands a transfer to
`notifications` before `audit-trail`: exact subscribers first, although `audit-trail`
subscribed first). `accounts` runs under the `audit`
policy (every publish logged) and a `publish_allow` list; a `reports` component allowed
only `report.*` tries to publish a transfer and is denied.
"""

from __future__ import annotations

import json
from typing import Any

from glitchless.fakes import Json
from glitchless.kernel import Component, PolicyDeniedError, component, operation, subscribe
from glitchless.scenarios.framework import Script, scenario

OPENING = {"alice": 1000, "bob": 500, "charlie": 250}


class TransferError(ValueError):
    """A transfer the accounts refused (unknown account, bad amount, insufficient funds)."""


@component("accounts", version="1.0")
class Accounts(Component):
    def activate(self) -> None:
        self.balances: dict[str, int] = dict(OPENING)

    def _refuse(self, src: str, dst: str, amount: int, reason: str) -> TransferError:
        self.ctx.publish("account.transfer_failed", {"from": src, "to": dst, "amount": amount, "reason": reason})
        return TransferError(f"transfer of {amount} from {src!r} to {dst!r} refused: {reason}")

    @operation
    def transfer(self, params: dict[str, Any]) -> dict[str, int]:
        src, dst, amount = str(params["from"]), str(params["to"]), int(params["amount"])
        for who in (src, dst):
            if who not in self.balances:
                raise self._refuse(src, dst, amount, f"unknown account {who!r}")
        if amount <= 0:
            raise self._refuse(src, dst, amount, "amount must be positive")
        if self.balances[src] < amount:
            raise self._refuse(src, dst, amount, f"insufficient funds ({self.balances[src]} available)")
        self.balances[src] -= amount
        self.balances[dst] += amount
        self.ctx.publish("account.transfer", {"from": src, "to": dst, "amount": amount})
        return {src: self.balances[src], dst: self.balances[dst]}

    @operation
    def balance(self, params: dict[str, Any]) -> int:
        return self.balances[str(params["account"])]


@component("notifications", version="1.0")
class Notifications(Component):
    def activate(self) -> None:
        self.sent: list[str] = []

    @subscribe("account.transfer")
    def on_transfer(self, topic: str, data: Any) -> None:
        _delivered(self, topic)
        self.sent.append(f"{data['to']}: You received ${data['amount']:.2f} from {data['from']}")


@component("audit-trail", version="1.0")
class AuditTrail(Component):
    def activate(self) -> None:
        self.entries: list[dict[str, Any]] = []

    @subscribe("account.*")
    def record(self, topic: str, data: Any) -> None:
        _delivered(self, topic)
        self.entries.append({"at": self.ctx.now(), "event": topic, **data})


def _delivered(receiver: Component, topic: str) -> None:
    """Note who got a topic, in delivery order, on the list the script passed as `deliveries` (if any)."""
    deliveries = receiver.ctx.properties.get("deliveries")
    if deliveries is not None:
        deliveries.append(f"{receiver.ctx.name}:{topic}")


@component("reports", version="1.0")
class Reports(Component):
    @operation
    def publish_summary(self, params: dict[str, Any]) -> None:
        self.ctx.publish("report.daily", {"transfers": params.get("transfers", 0)})

    @operation
    def forge_transfer(self, params: dict[str, Any]) -> None:
        self.ctx.publish("account.transfer", {"from": "alice", "to": "mallory", "amount": 999})


@scenario("audit-trail", "transfers audited by a wildcard subscriber with fake-clock stamps; policy log; failed transfers and a denied publish")
async def audit_trail(s: Script) -> None:
    s.step("boot accounts, notifications, audit-trail, reports; policies on accounts and reports")
    lines: list[str] = []
    deliveries: list[str] = []
    kernel = s.kernel(logger=lines.append)
    for factory in (Accounts, Notifications, AuditTrail, Reports):
        kernel.instantiate(factory, properties={"deliveries": deliveries})
    kernel.boot()
    kernel.set_policy("accounts", audit=True, publish_allow=["account.*"])
    kernel.set_policy("reports", audit=True, publish_allow=["report.*"])
    accounts: Accounts = kernel.instance("accounts")
    notifications: Notifications = kernel.instance("notifications")
    audit: AuditTrail = kernel.instance("audit-trail")

    def policy_lines() -> list[Json]:
        return [line for line in lines if line.startswith("{")]

    for src, dst, amount in [("alice", "bob", 150), ("bob", "charlie", 75)]:
        await s.advance(60)
        s.step(f"transfer {src} -> {dst} {amount}")
        kernel.invoke("accounts.transfer", {"from": src, "to": dst, "amount": amount})
    s.observe("entries", [dict(e) for e in audit.entries])
    s.observe("balances", dict(accounts.balances))
    s.observe("notifications", list(notifications.sent))
    s.observe("policy_log", policy_lines())
    s.expect(
        "two audit entries, in order, stamped with the fake clock",
        audit.entries,
        [
            {"at": 60.0, "event": "account.transfer", "from": "alice", "to": "bob", "amount": 150},
            {"at": 120.0, "event": "account.transfer", "from": "bob", "to": "charlie", "amount": 75},
        ],
    )
    s.expect("balances", accounts.balances, {"alice": 850, "bob": 575, "charlie": 325})
    s.expect(
        "notifications",
        notifications.sent,
        ["bob: You received $150.00 from alice", "charlie: You received $75.00 from bob"],
    )
    publish_line = json.dumps({"action": "publish", "caller": "accounts", "event": "account.transfer"})
    s.expect("the audit policy logged each publish", policy_lines(), [publish_line, publish_line])
    publish_entry = {"action": "publish", "caller": "accounts", "event": "account.transfer"}
    s.expect("the kernel's audit log holds the same two publishes", kernel.audit_log, [publish_entry, publish_entry])
    # audit-trail activates (and so subscribes) before notifications: names tie-break the order.
    s.expect(
        "the bus delivers to the exact subscriber before the wildcard one",
        deliveries,
        ["notifications:account.transfer", "audit-trail:account.transfer"] * 2,
    )

    s.step("failed transfers are audited too")
    await s.advance(60)
    s.expect_raises(
        "an overdraft is refused",
        TransferError,
        lambda: kernel.invoke("accounts.transfer", {"from": "charlie", "to": "alice", "amount": 5000}),
    )
    await s.advance(60)
    s.expect_raises(
        "a transfer to an unknown account is refused",
        TransferError,
        lambda: kernel.invoke("accounts.transfer", {"from": "alice", "to": "mallory", "amount": 10}),
    )
    failed = [dict(e) for e in audit.entries if e["event"] == "account.transfer_failed"]
    s.observe("failed_entries", [dict(e) for e in failed])
    s.expect(
        "both refusals are in the audit trail with their time and reason",
        [(e["at"], e["from"], e["to"], e["amount"], e["reason"]) for e in failed],
        [
            (180.0, "charlie", "alice", 5000, "insufficient funds (325 available)"),
            (240.0, "alice", "mallory", 10, "unknown account 'mallory'"),
        ],
    )
    s.expect("refusals notify nobody", len(notifications.sent), 2)
    s.expect("refusals move no money", accounts.balances, {"alice": 850, "bob": 575, "charlie": 325})

    s.step("a publish outside publish_allow is denied")
    kernel.invoke("reports.publish_summary", {"transfers": 2})
    denied: str = ""
    try:
        kernel.invoke("reports.forge_transfer")
    except PolicyDeniedError as exc:
        denied = f"{type(exc).__name__}: {exc}"
    s.observe("denied", denied)
    s.check("the denial is raised as an error naming caller and topic", "'reports'" in denied and "'account.transfer'" in denied, denied)
    s.expect_raises("it is a PermissionError", PermissionError, lambda: kernel.invoke("reports.forge_transfer"))
    s.expect("the forged transfer reached no subscriber", [len(notifications.sent), len(audit.entries)], [2, 4])
    s.observe("policy_log_all", policy_lines())
    s.expect(
        "the denial is in the policy log",
        json.dumps({"action": "publish_denied", "caller": "reports", "event": "account.transfer"}) in policy_lines(),
        True,
    )
    s.observe("entry_count", len(audit.entries))
