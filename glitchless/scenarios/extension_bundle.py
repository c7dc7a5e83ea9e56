"""Pattern 4, extension bundle: a Slack plugin hot-added to a running app, used, then hot-removed.

`core-app.do_work` publishes `core.work_completed`. The bundle: `slack-webhook` (the
outgoing transport, provides `ISlackWebhook`), `slack-notifier` (provides `ISlackNotifier`,
requires the webhook) and `slack-commands` (requires the notifier, subscribes to
`core.work_completed`). The fake Slack server they talk to is handed in as a property.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from glitchless.fakes import Json
from glitchless.kernel import (
    ActivationError,
    Component,
    InstanceSpec,
    Kernel,
    MissingProviderError,
    UnknownComponentError,
    component,
    operation,
    subscribe,
)
from glitchless.scenarios.framework import Script, scenario

BUNDLE_PREFIX = "slack-"


@dataclass
class FakeSlack:
    """The outside world: messages posted, and how many webhook connections are open."""

    sent: list[str] = field(default_factory=list)
    open_connections: int = 0
    connects: int = 0

    def connect(self) -> None:
        self.open_connections += 1
        self.connects += 1

    def disconnect(self) -> None:
        self.open_connections -= 1


@component("core-app", version="1.0")
class CoreApp(Component):
    def activate(self) -> None:
        self.completed = 0

    @operation
    def do_work(self, params: dict[str, Any]) -> str:
        result = str(params.get("result", "ok"))
        self.completed += 1
        self.ctx.publish("core.work_completed", {"result": result})
        return result


@component("slack-webhook", version="1.0", provides=["ISlackWebhook"])
class SlackWebhook(Component):
    def activate(self) -> None:
        self.server: FakeSlack = self.ctx.properties["server"]
        self.server.connect()

    def deactivate(self) -> None:
        self.server.disconnect()

    def post(self, channel: str, text: str) -> None:
        self.server.sent.append(f"{channel}: {text}")

    @operation
    def send(self, params: dict[str, Any]) -> None:
        self.post(str(params["channel"]), str(params["text"]))


@component("slack-notifier", version="1.0", provides=["ISlackNotifier"], requires={"webhook": "ISlackWebhook"})
class SlackNotifier(Component):
    def notify(self, channel: str, text: str) -> None:
        self.ctx.use("webhook").post(channel, text)

    @operation
    def notify_channel(self, params: dict[str, Any]) -> None:
        self.notify(str(params.get("channel", "#ops")), str(params["text"]))


@component("slack-commands", version="1.0", requires={"notifier": "ISlackNotifier"})
class SlackCommands(Component):
    def activate(self) -> None:
        self.handled = 0

    @subscribe("core.work_completed")
    def on_work_completed(self, topic: str, data: Any) -> None:
        self.handled += 1
        self.ctx.use("notifier").notify("#ops", f"Work completed: {data['result']}")

    @operation
    def status(self, params: dict[str, Any]) -> str:
        return f"handled {self.handled}"


@component("slack-audit", version="1.0", requires={"notifier": "ISlackNotifier"})
class SlackAudit(Component):
    """A bundle member that cannot start: its signing secret is missing."""

    def activate(self) -> None:
        raise RuntimeError("slack-audit: no signing secret configured")


def _runnables(kernel: Kernel) -> list[Json]:
    return [op for op in kernel.operations() if op.startswith(BUNDLE_PREFIX)]


def _specs(slack: FakeSlack, *factories: type[Any]) -> list[InstanceSpec]:
    return [InstanceSpec(f, properties={"server": slack} if f is SlackWebhook else {}) for f in factories]


@scenario("extension-bundle", "hot-add a Slack bundle in requirement order, use it, remove it in reverse; a failing bundle rolls back")
async def extension_bundle(s: Script) -> None:
    s.step("boot the core app alone")
    lifecycle: list[str] = []
    kernel = s.kernel(logger=lifecycle.append)
    kernel.instantiate(CoreApp)
    kernel.boot()
    slack = FakeSlack()
    runnables: dict[str, Json] = {"before": _runnables(kernel)}
    s.expect("no bundle runnables before the add", runnables["before"], [])
    kernel.invoke("core-app.do_work")
    s.expect("work without the bundle sends nothing", slack.sent, [])

    s.step("a bundle that fails mid-install")
    live_before = kernel.names()
    lifecycle.clear()
    s.expect_raises(
        "a bundle member failing to activate fails the whole add",
        ActivationError,
        lambda: kernel.hot_add(*_specs(slack, SlackAudit, SlackNotifier, SlackWebhook)),
    )
    s.observe("failed_install_log", list(lifecycle))
    s.expect(
        "what it installed was torn down again, consumers first",
        lifecycle,
        ["activated slack-webhook (slack-webhook 1.0)", "activated slack-notifier (slack-notifier 1.0)",
         "deactivated slack-audit", "deactivated slack-notifier", "deactivated slack-webhook"],
    )
    s.expect("live instances are as before", kernel.names(), live_before)
    s.expect("no bundle runnables after the rollback", _runnables(kernel), [])
    s.expect("the rolled-back webhook closed its connection", slack.open_connections, 0)
    kernel.invoke("core-app.do_work")
    s.expect("work after the rollback sends nothing", slack.sent, [])

    s.step("a bundle missing a provider is refused before anything moves")
    s.expect_raises(
        "slack-commands without a notifier is refused",
        MissingProviderError,
        lambda: kernel.hot_add(*_specs(slack, SlackCommands)),
    )
    s.expect("nothing was installed", kernel.names(), live_before)

    s.step("hot-add the bundle, listed consumers first")
    lifecycle.clear()
    order = kernel.hot_add(*_specs(slack, SlackCommands, SlackNotifier, SlackWebhook))
    s.observe("install_order", list(order))
    s.expect("install order follows requires, not list order", order, ["slack-webhook", "slack-notifier", "slack-commands"])
    s.expect(
        "activation happened in that order",
        [line.split()[1] for line in lifecycle if line.startswith("activated")],
        order,
    )
    runnables["after_add"] = _runnables(kernel)
    s.expect(
        "bundle runnables present after the add",
        runnables["after_add"],
        ["slack-commands.status", "slack-notifier.notify_channel", "slack-webhook.send"],
    )

    s.step("exercise: do_work once")
    kernel.invoke("core-app.do_work")
    sent = list(slack.sent)
    s.observe("sent", list(sent))
    s.expect("one message to #ops", sent, ["#ops: Work completed: ok"])
    s.expect("slack-commands reports it", kernel.invoke("slack-commands.status"), "handled 1")
    commands: SlackCommands = kernel.instance("slack-commands")

    s.step("hot-remove the bundle in reverse")
    s.expect_raises(
        "removing the webhook while the notifier needs it is refused",
        MissingProviderError,
        lambda: kernel.hot_remove("slack-webhook"),
    )
    lifecycle.clear()
    for name in reversed(order):
        kernel.hot_remove(name)
    s.observe("removal_log", list(lifecycle))
    s.expect("removed in reverse order", lifecycle, [f"deactivated {n}" for n in reversed(order)])
    runnables["after_remove"] = _runnables(kernel)
    s.observe("runnables", runnables)
    s.expect("no bundle runnables after the removal", runnables["after_remove"], [])
    s.expect("the webhook closed its connection", slack.open_connections, 0)
    s.expect_raises(
        "a removed runnable is a clear error",
        UnknownComponentError,
        lambda: kernel.invoke("slack-commands.status"),
    )

    s.step("do_work after removal")
    kernel.invoke("core-app.do_work")
    s.expect("no removed handler ran", commands.handled, 1)
    s.expect("nothing more was sent", slack.sent, sent)
    core: CoreApp = kernel.instance("core-app")
    s.observe("work_done", core.completed)
    s.expect("the core app kept working throughout", core.completed, 4)
