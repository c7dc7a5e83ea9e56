"""The audit-trail scenario: its observations carry patterns.md's numbers under every seed."""

import json

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
