"""The extension-bundle scenario: its observations carry patterns.md's facts under every seed."""

from glitchless.scenarios import get_scenario, run_scenario


def test_extension_bundle_is_registered_under_its_name() -> None:
    assert get_scenario("extension-bundle").name == "extension-bundle"


def test_runnables_absent_before_present_after_add_absent_after_removal() -> None:
    assert run_scenario("extension-bundle", 0).observations["runnables"] == {
        "before": [],
        "after_add": ["slack-commands.status", "slack-notifier.notify_channel", "slack-webhook.send"],
        "after_remove": [],
    }


def test_one_do_work_sends_one_ops_message() -> None:
    assert run_scenario("extension-bundle", 0).observations["sent"] == ["#ops: Work completed: ok"]


def test_install_order_follows_requires_and_removal_reverses_it() -> None:
    obs = run_scenario("extension-bundle", 0).observations
    assert obs["install_order"] == ["slack-webhook", "slack-notifier", "slack-commands"]
    assert obs["removal_log"] == ["deactivated slack-commands", "deactivated slack-notifier", "deactivated slack-webhook"]


def test_failing_bundle_rolls_back_what_it_installed() -> None:
    log = run_scenario("extension-bundle", 0).observations["failed_install_log"]
    assert isinstance(log, list)
    assert [line for line in log if str(line).startswith("activated")] == [
        "activated slack-webhook (slack-webhook 1.0)",
        "activated slack-notifier (slack-notifier 1.0)",
    ]
    assert log[-2:] == ["deactivated slack-notifier", "deactivated slack-webhook"]


def test_removal_unsubscribes_and_core_keeps_working() -> None:
    result = run_scenario("extension-bundle", 0)
    by_name = {c.name: c for c in result.checks}
    assert by_name["no removed handler ran"].passed
    assert by_name["nothing more was sent"].passed
    assert result.observations["work_done"] == 4


def test_extension_bundle_passes_under_seeds_0_to_49() -> None:
    expected = run_scenario("extension-bundle", 0).observations
    failed = {}
    for seed in range(50):
        result = run_scenario("extension-bundle", seed)
        if not result.passed or result.observations != expected:
            failed[seed] = [c.name for c in result.checks if not c.passed]
    assert failed == {}
