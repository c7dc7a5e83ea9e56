"""Scenario secret-rotation (pattern 1): the seed's numbers and the month on the fake clock."""

from __future__ import annotations

import pytest

from glitchless.scenarios import run_scenario
from glitchless.scenarios.secret_rotation import mask, url_for


@pytest.mark.parametrize("seed", [0, 3, 42])
def test_secret_rotation_connection_log_has_boot_key_then_one_rotated_key_per_rotation(seed: int) -> None:
    r = run_scenario("secret-rotation", seed)
    assert [c.name for c in r.checks if not c.passed] == []
    assert r.observations["connection_log"] == ["sk-i****live", "sk-r****live", "sk-r****live", "sk-r****live"]
    assert r.observations["reconnect_count"] == 4


def test_secret_rotation_month_never_holds_an_expired_key_and_never_sees_a_torn_pair() -> None:
    obs = run_scenario("secret-rotation").observations
    assert obs["max_stale_seconds"] == 0.0
    assert obs["torn_pairs"] == 0
    assert obs["month_rotations"] == 30
    assert obs["month_reconnects"] == 30


def test_secret_rotation_vault_outage_is_recorded_at_each_refused_retry() -> None:
    obs = run_scenario("secret-rotation").observations
    day10 = 10 * 24 * 3600.0
    assert obs["vault_failures"] == [{"op": "rotate", "t": day10 + m * 60.0} for m in (0, 5, 10, 15, 20)]


def test_masks_keep_first_and_last_four_and_urls_follow_the_key_generation() -> None:
    assert mask("sk-initial-0000-prod-live") == "sk-i****live"
    assert url_for("sk-rotated-0007-prod-live") == "postgres://db.prod/app?gen=0007"


def test_every_refused_rotation_is_counted_against_the_outage_window_not_against_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from glitchless.kernel.providers import ScopedLogger

    real = ScopedLogger.error
    dropped: list[str] = []

    def lossy(self: ScopedLogger, message: str) -> None:  # a planted bug: the third refusal is not logged
        if message.startswith("rotation failed"):
            dropped.append(message)
            if len(dropped) == 3:
                return
        real(self, message)

    monkeypatch.setattr(ScopedLogger, "error", lossy)
    failed = [c.name for c in run_scenario("secret-rotation").checks if not c.passed]
    assert failed == ["every refused rotation is logged, none swallowed"]


def test_a_vault_refusing_past_the_scripted_outage_fails_the_refusal_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from glitchless.fakes import Vault

    real = Vault.outage_for
    # A planted bug: the outage lasts 5 min longer than asked. The component logs and records each of the
    # six refusals alike, so only a count derived from the script's outage window can tell.
    monkeypatch.setattr(Vault, "outage_for", lambda self, duration: real(self, duration + 300))
    failed = [c.name for c in run_scenario("secret-rotation").checks if not c.passed]
    assert failed == ["every refused rotation is logged, none swallowed"]
