"""The audit-trail scenario: its observations carry patterns.md's numbers under every seed."""

import json
from typing import Any

import pytest

from glitchless.scenarios import get_scenario, run_scenario

PUBLISH = json.dumps({"action": "publish", "caller": "accounts", "event": "account.transfer"})


def test_audit_trail_is_registered_under_its_name() -> None:
    assert get_scenario("audit-trail").name == "audit-trail"


def test_two_entries_in_order_with_fake_clock_timestamps() -> None:
    assert run_scenario("audit-trail", 0).observations["entries"] == [
        {"at": 60.0, "event": "account.transfer", "from": "alice", "to": "bob", "amount": 150},
        {"at": 120.0, "event": "account.transfer", "from": "bob", "to": "charlie", "amount": 75},
    ]


def test_balances_after_both_transfers() -> None:
    assert run_scenario("audit-trail", 0).observations["balances"] == {"alice": 850, "bob": 575, "charlie": 325}


def test_notifications_name_recipient_amount_and_sender() -> None:
    assert run_scenario("audit-trail", 0).observations["notifications"] == [
        "bob: You received $150.00 from alice",
        "charlie: You received $75.00 from bob",
    ]


def test_policy_log_has_one_publish_line_per_transfer() -> None:
    assert run_scenario("audit-trail", 0).observations["policy_log"] == [PUBLISH, PUBLISH]


def test_failed_transfers_are_audited_with_time_and_reason() -> None:
    failed = run_scenario("audit-trail", 0).observations["failed_entries"]
    assert failed == [
        {"at": 180.0, "event": "account.transfer_failed", "from": "charlie", "to": "alice", "amount": 5000,
         "reason": "insufficient funds (325 available)"},
        {"at": 240.0, "event": "account.transfer_failed", "from": "alice", "to": "mallory", "amount": 10,
         "reason": "unknown account 'mallory'"},
    ]


def test_publish_allow_denial_is_an_error_and_logged() -> None:
    obs = run_scenario("audit-trail", 0).observations
    assert obs["denied"] == (
        "PolicyDeniedError: component 'reports' may not publish 'account.transfer'; its publish_allow is ['report.*']"
    )
    log = obs["policy_log_all"]
    assert isinstance(log, list)
    assert json.dumps({"action": "publish_denied", "caller": "reports", "event": "account.transfer"}) in log
    assert obs["entry_count"] == 4  # the forged transfer reached no subscriber


def test_audit_trail_passes_under_seeds_0_to_49() -> None:
    expected = run_scenario("audit-trail", 0).observations
    failed = {}
    for seed in range(50):
        result = run_scenario("audit-trail", seed)
        if not result.passed or result.observations != expected:
            failed[seed] = [c.name for c in result.checks if not c.passed]
    assert failed == {}


# -- checks that can fail: each is shown to catch a planted bug ---------------------------------


def failed_checks(seed: int = 0) -> list[str]:
    return [c.name for c in run_scenario("audit-trail", seed).checks if not c.passed]


def test_bus_exact_before_wildcard_delivery_is_checked_by_the_scenario() -> None:
    result = run_scenario("audit-trail", 0)
    check = next(c for c in result.checks if c.name == "the bus delivers to the exact subscriber before the wildcard one")
    assert check.passed


def test_bus_delivery_in_plain_subscription_order_fails_the_exact_before_wildcard_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from glitchless.kernel import bus

    # A planted bug: wildcard patterns treated as exact topics' peers, so delivery follows subscription order.
    real = bus._is_pattern
    monkeypatch.setattr(bus, "_is_pattern", lambda topic: False if topic == "account.*" else real(topic))
    monkeypatch.setattr(bus, "fnmatchcase", lambda topic, pattern: topic == pattern or pattern == "account.*")
    assert "the bus delivers to the exact subscriber before the wildcard one" in failed_checks()


def test_an_audit_log_that_drifts_from_the_policy_log_fails_the_audit_log_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from glitchless.kernel.bus import Bus

    real = Bus._audit

    def audit_twice(self: Bus, entry: dict[str, Any]) -> None:  # a planted bug: the kernel's record duplicates
        real(self, entry)
        self.audit_log.append(entry)

    monkeypatch.setattr(Bus, "_audit", audit_twice)
    failed = failed_checks()
    assert "the kernel's audit log holds the same two publishes" in failed
    assert "the audit policy logged each publish" not in failed  # the logger's lines are still right
