"""The ab-testing scenario: its observations carry patterns.md's numbers under every seed."""

from glitchless.scenarios import get_scenario, run_scenario
from glitchless.scenarios.ab_testing import bucket


def test_ab_testing_is_registered_under_its_name() -> None:
    assert get_scenario("ab-testing").name == "ab-testing"


def test_buckets_come_from_md5_not_python_hash() -> None:
    assert [bucket(u) for u in ["alice", "bob", "charlie", "dave", "eve"]] == [0, 32, 43, 52, 62]


def test_counts_per_phase_match_the_seed() -> None:
    obs = run_scenario("ab-testing", 0).observations
    assert obs["counts"] == {
        "0%": {"v1": 5, "v2": 0},
        "50%": {"v1": 2, "v2": 3},
        "100%": {"v1": 0, "v2": 5},
    }


def test_alice_bob_charlie_are_on_v2_at_fifty_percent() -> None:
    obs = run_scenario("ab-testing", 0).observations
    assert obs["assignments"]["50%"] == {"alice": "v2", "bob": "v2", "charlie": "v2", "dave": "v1", "eve": "v1"}


def test_ramping_up_only_ever_adds_v2_users() -> None:
    ramp = run_scenario("ab-testing", 0).observations["ramp_v2_users"]
    assert isinstance(ramp, dict)
    counts = [ramp[str(p)] for p in range(0, 101, 5)]
    assert counts == sorted(counts)
    assert counts[0] == 0 and counts[-1] == 5


def test_removed_backend_gives_its_users_a_clear_error_and_others_v1() -> None:
    result = run_scenario("ab-testing", 0)
    after = result.observations["after_removal"]
    assert isinstance(after, dict)
    for user in ["alice", "bob", "charlie"]:
        assert isinstance(after[user], str)
        assert after[user].startswith("error: search-router: no backend for variant 'v2'")
        assert repr(user) in after[user]
    assert after["dave"] == after["eve"] == "v1"
    assert result.passed


def test_ab_testing_passes_under_seeds_0_to_49() -> None:
    expected = run_scenario("ab-testing", 0).observations
    failed = {}
    for seed in range(50):
        result = run_scenario("ab-testing", seed)
        if not result.passed or result.observations != expected:
            failed[seed] = [c.name for c in result.checks if not c.passed]
    assert failed == {}
