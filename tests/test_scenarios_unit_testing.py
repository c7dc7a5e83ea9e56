"""The unit-testing scenario: its observations carry patterns.md's numbers under every seed."""

from glitchless.scenarios import get_scenario, run_scenario


def test_unit_testing_is_registered_under_its_name() -> None:
    assert get_scenario("unit-testing").name == "unit-testing"


def test_widget_three_by_ten_at_eight_percent() -> None:
    assert run_scenario("unit-testing", 0).observations["order"] == {"subtotal": 30.0, "tax": 2.4, "total": 32.4}


def test_revenue_counts_two_orders_after_gadget() -> None:
    obs = run_scenario("unit-testing", 0).observations
    assert obs["gadget"] == {"subtotal": 100.0, "tax": 8.0, "total": 108.0}
    assert obs["revenue"] == {"count": 2, "total": 140.4}


def test_config_change_applies_immediately_and_is_logged() -> None:
    obs = run_scenario("unit-testing", 0).observations
    assert obs["tax_rate"] == 0.15
    assert obs["log"] == ["Tax rate is now 0.08", "Tax rate is now 0.15"]
    assert obs["order_after_change"] == {"subtotal": 30.0, "tax": 4.5, "total": 34.5}


def test_one_order_placed_event_captured_for_the_widget() -> None:
    assert run_scenario("unit-testing", 0).observations["events"] == [
        {"topic": "order.placed", "subtotal": 30.0, "tax": 2.4, "total": 32.4}
    ]


def test_unit_testing_passes_under_seeds_0_to_49() -> None:
    expected = run_scenario("unit-testing", 0).observations
    failed = {}
    for seed in range(50):
        result = run_scenario("unit-testing", seed)
        if not result.passed or result.observations != expected:
            failed[seed] = [c.name for c in result.checks if not c.passed]
    assert failed == {}
