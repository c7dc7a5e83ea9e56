"""Faults from the component layer's user callbacks: rollback, failed undo, interrupts.

Every user callback the kernel calls (constructor, activate, deactivate, snapshot and restore
hooks, operation handlers, bus subscribers, the logger that writes the policy audit) may raise an
ordinary exception or an interrupt. Each test checks the kernel is left consistent afterwards:
the live instances are exactly the declared ones, each is routed, subscribed and providing, and
no state was lost.
"""

from __future__ import annotations

from typing import Any

import pytest

from glitchless.kernel import (
    ActivationError,
    Component,
    InstanceSpec,
    Kernel,
    MissingProviderError,
    component,
    effect,
    operation,
    subscribe,
)

FAULTS = [RuntimeError, KeyboardInterrupt]


class Switch:
    """Which hooks fail, and with what."""

    def __init__(self) -> None:
        self.failing: dict[str, type[BaseException]] = {}
        self.calls: list[str] = []

    def hit(self, name: str, hook: str) -> None:
        self.calls.append(f"{hook} {name}")
        fault = self.failing.get(hook)
        if fault is not None:
            raise fault(f"{hook} of {name} failed")


def store_factory(switch: Switch, version: str = "1") -> type:
    @component("store", version=version, provides=["IStore"])
    class Store(Component):
        def __init__(self) -> None:
            switch.hit(self.ctx.name, "init")

        def activate(self) -> None:
            switch.hit(self.ctx.name, "activate")
            self.items: list[str] = []  # reset here: a second activate() of the same object loses state

        def deactivate(self) -> None:
            switch.hit(self.ctx.name, "deactivate")

        def snapshot(self) -> dict[str, Any]:
            switch.hit(self.ctx.name, "snapshot")
            return {"items": list(self.items)}

        def restore(self, state: dict[str, Any]) -> None:
            switch.hit(self.ctx.name, "restore")
            self.items = list(state["items"])

        @operation
        def add(self, params: dict[str, Any]) -> int:
            switch.hit(self.ctx.name, "add")
            self.items.append(params["item"])
            return len(self.items)

        @operation
        def version(self, params: dict[str, Any]) -> str:
            return self.ctx.version

        @subscribe("store.add")
        def on_add(self, topic: str, data: Any) -> None:
            switch.hit(self.ctx.name, "on_add")
            self.items.append(data)

    return Store


@component("reader", requires={"store": "IStore"})
class Reader(Component):
    def activate(self) -> None:
        self.seen: list[int] = []

    @effect
    def watch(self) -> None:
        self.seen.append(len(self.ctx.use("store").items))

    @subscribe("store.*")
    def on_any(self, topic: str, data: Any) -> None:
        self.seen.append(-1)


def store_kernel(switch: Switch, lines: list[str] | None = None) -> Kernel:
    k = Kernel(logger=None if lines is None else lines.append)
    k.instantiate(store_factory(switch))
    k.instantiate(Reader)
    k.boot()
    k.invoke("store.add", {"item": "a"})
    k.invoke("store.add", {"item": "b"})
    switch.calls.clear()
    return k


def assert_consistent(k: Kernel, names: list[str]) -> None:
    """Live instances are `names`; each is routed and subscribed; the reader sees the live store."""
    assert k.names() == names
    owners = {s.owner for s in k.bus._subs}
    assert owners <= set(names), f"subscriptions of instances that are not live: {owners - set(names)}"
    assert {op.partition(".")[0] for op in k.operations()} <= set(names)
    if "reader" in names:
        assert k.instance("reader").ctx.use("store") is k.instance("store")


def assert_store_intact(k: Kernel, store: Any, version: str = "1") -> None:
    assert k.instance("store") is store
    assert store.items == ["a", "b"]
    assert k.invoke("store.version") == version
    k.publish("store.add", "c")  # still subscribed, once
    assert store.items == ["a", "b", "c"]
    assert k.instance("reader").seen[-1] == -1


# -- reproducer 8: a failed rollback loses state --------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_rollback_brings_back_the_same_instances_when_their_restore_hook_fails(fault: type) -> None:
    switch = Switch()
    k = store_kernel(switch)
    store = k.instance("store")
    switch.failing["restore"] = fault  # the restore hook refuses even the state it snapshotted itself
    expected = ActivationError if fault is RuntimeError else KeyboardInterrupt
    with pytest.raises(expected) as err:
        k.restore(k.snapshot())
    if fault is RuntimeError:
        assert "activating 'store' as store 1 failed" in str(err.value)
        assert "restore of store failed" in str(err.value)
        assert isinstance(err.value.__cause__, RuntimeError)
    assert not isinstance(err.value, MissingProviderError)
    # Only the new instance was built and stopped again; the old one is back, never stopped.
    assert switch.calls == ["snapshot store", "init store", "activate store", "restore store", "deactivate store"]
    assert_consistent(k, ["store", "reader"])
    assert_store_intact(k, store)


def test_rollback_brings_back_the_same_instances_without_running_their_hooks() -> None:
    switch = Switch()
    k = store_kernel(switch)
    switch.failing["restore"] = RuntimeError
    with pytest.raises(ActivationError):
        k.restore(k.snapshot())
    # snapshot (by the caller), then the new instance's init/activate/restore and its teardown.
    assert switch.calls == ["snapshot store", "init store", "activate store", "restore store", "deactivate store"]


def test_rollback_brings_back_the_same_instances_and_never_reports_a_dependents_error() -> None:
    switch = Switch()
    k = store_kernel(switch)
    store, reader = k.instance("store"), k.instance("reader")
    state = k.snapshot()
    switch.failing["restore"] = RuntimeError
    with pytest.raises(ActivationError, match="rolled back: store$"):
        k.restore(state)
    assert k.instance("reader") is reader
    assert_consistent(k, ["store", "reader"])
    assert_store_intact(k, store)


# -- rollback whose undo step raises -------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_a_failing_undo_step_does_not_stop_the_rollback_of_hot_update(fault: type) -> None:
    switch = Switch()
    k = store_kernel(switch)
    store = k.instance("store")
    v2 = Switch()
    v2.failing = {"restore": RuntimeError, "deactivate": fault}  # fails, then fails its own undo
    expected = ActivationError if fault is RuntimeError else KeyboardInterrupt
    with pytest.raises(expected) as err:
        k.hot_update(store_factory(v2, version="2"))
    if fault is RuntimeError:  # noted on the error of the step it was undoing
        cause = err.value.__cause__
        assert cause is not None
        assert cause.__notes__ == ["while rolling back: RuntimeError('deactivate of store failed')"]
    else:  # the interrupt is raised, and names what it interrupted
        assert err.value.__notes__ == ["raised while rolling back after: RuntimeError('restore of store failed')"]
    assert v2.calls[-1] == "deactivate store"  # the undo step did run
    assert_consistent(k, ["store", "reader"])
    assert_store_intact(k, store, version="1")
    k.hot_update(store_factory(Switch(), version="3"))  # and the kernel takes the next update
    assert k.invoke("store.version") == "3" and k.instance("store").items == ["a", "b", "c"]


@pytest.mark.parametrize("fault", FAULTS)
def test_a_failing_undo_step_does_not_stop_the_rollback_of_hot_add(fault: type) -> None:
    switch = Switch()
    k = store_kernel(switch)
    store = k.instance("store")
    extra = Switch()
    extra.failing["deactivate"] = fault

    @component("broken")
    class Broken(Component):
        def activate(self) -> None:
            raise ValueError("bad")

    Extra = store_factory(extra, version="9")
    expected = ActivationError if fault is RuntimeError else KeyboardInterrupt
    with pytest.raises(expected):
        k.hot_add(InstanceSpec(Extra, "a-store"), Broken)
    assert extra.calls == ["init a-store", "activate a-store", "deactivate a-store"]
    assert_consistent(k, ["store", "reader"])
    assert_store_intact(k, store)
    extra.failing.clear()
    k.hot_add(InstanceSpec(Extra, "a-store"))  # its name is free again
    assert k.names() == ["store", "reader", "a-store"]


@pytest.mark.parametrize("fault", FAULTS)
def test_teardown_never_stops_early_in_hot_remove(fault: type) -> None:
    switch = Switch()
    k = store_kernel(switch)
    switch.failing["deactivate"] = fault
    with pytest.raises(fault, match="deactivate of store failed"):
        k.hot_remove("reader", "store")
    assert switch.calls == ["deactivate store"]
    assert_consistent(k, [])
    k.publish("store.add", "x")  # nobody listens any more
    assert k.operations() == []


@pytest.mark.parametrize("fault", FAULTS)
def test_teardown_never_stops_early_in_shutdown(fault: type) -> None:
    switch = Switch()
    k = store_kernel(switch)
    switch.failing["deactivate"] = fault
    with pytest.raises(fault):
        k.shutdown()
    assert_consistent(k, [])
    switch.failing.clear()
    k.boot()
    assert_consistent(k, ["store", "reader"])


# -- a committed change whose retired instances fail to stop -----------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_a_replaced_instance_stops_only_after_the_change_commits_so_failing_to_stop_keeps_the_change(fault: type) -> None:
    switch = Switch()
    k = store_kernel(switch)
    old = k.instance("store")
    switch.failing["deactivate"] = fault
    expected = ActivationError if fault is RuntimeError else KeyboardInterrupt
    with pytest.raises(expected) as err:
        k.hot_update(store_factory(Switch(), version="2"))
    if fault is RuntimeError:
        assert "is in place, but stopping the instances it replaced failed" in str(err.value)
    assert k.instance("store") is not old and k.invoke("store.version") == "2"
    assert k.instance("store").items == ["a", "b"]
    assert_consistent(k, ["store", "reader"])


def test_a_replaced_instance_stops_only_after_the_change_commits() -> None:
    switch = Switch()
    k = store_kernel(switch)
    k.restore(k.snapshot())
    assert switch.calls == [
        "snapshot store", "init store", "activate store", "restore store", "deactivate store"
    ]


# -- every user callback: the kernel stays consistent -------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("hook", ["init", "activate", "restore"])
def test_rollback_brings_back_the_same_instances_when_the_new_version_fails(hook: str, fault: type) -> None:
    switch = Switch()
    k = store_kernel(switch)
    store = k.instance("store")
    v2 = Switch()
    v2.failing[hook] = fault
    with pytest.raises(ActivationError if fault is RuntimeError else KeyboardInterrupt):
        k.hot_update(store_factory(v2, version="2"))
    assert_consistent(k, ["store", "reader"])
    assert_store_intact(k, store)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_refused_change_moves_nothing_when_a_snapshot_hook_fails(fault: type) -> None:
    switch = Switch()
    k = store_kernel(switch)
    store = k.instance("store")
    switch.failing["snapshot"] = fault
    v2 = Switch()
    with pytest.raises(fault, match="snapshot of store failed"):
        k.hot_update(store_factory(v2, version="2"))
    with pytest.raises(fault, match="snapshot of store failed"):
        k.snapshot()
    assert v2.calls == []
    switch.failing.clear()
    assert_consistent(k, ["store", "reader"])
    assert_store_intact(k, store)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("hook", ["init", "activate"])
def test_rollback_of_a_failed_boot_leaves_an_unbooted_bootable_kernel(hook: str, fault: type) -> None:
    switch = Switch()
    switch.failing[hook] = fault
    k = Kernel()
    k.instantiate(store_factory(switch))
    k.instantiate(Reader)
    with pytest.raises(ActivationError if fault is RuntimeError else KeyboardInterrupt):
        k.boot()
    assert not k.booted
    assert_consistent(k, [])
    switch.failing.clear()
    k.boot()
    assert_consistent(k, ["store", "reader"])


@pytest.mark.parametrize("fault", FAULTS)
def test_an_operation_error_changes_no_kernel_state(fault: type) -> None:
    switch = Switch()
    k = store_kernel(switch)
    store = k.instance("store")
    switch.failing["add"] = fault
    with pytest.raises(fault, match="add of store failed"):
        k.invoke("store.add", {"item": "c"})
    switch.failing.clear()
    assert_consistent(k, ["store", "reader"])
    assert_store_intact(k, store)


@pytest.mark.parametrize("fault", FAULTS)
def test_a_failing_subscriber_does_not_keep_the_event_from_the_others(fault: type) -> None:
    switch = Switch()
    k = store_kernel(switch)
    reader = k.instance("reader")
    switch.failing["on_add"] = fault
    with pytest.raises(fault, match="on_add of store failed"):
        k.publish("store.add", "c")
    assert reader.seen[-1] == -1  # the wildcard subscriber after the failing exact one still got it
    switch.failing.clear()
    assert_consistent(k, ["store", "reader"])


def test_an_interrupt_is_raised_as_it_is_and_wins_over_ordinary_errors() -> None:
    k = Kernel()

    @component("twice")
    class Twice(Component):
        @subscribe("t")
        def first(self, topic: str, data: Any) -> None:
            raise ValueError("plain")

        @subscribe("t")
        def second(self, topic: str, data: Any) -> None:
            raise KeyboardInterrupt("stop")

    k.instantiate(Twice)
    k.boot()
    with pytest.raises(KeyboardInterrupt) as err:
        k.publish("t")
    assert err.value.__notes__ == ["also raised: ValueError('plain')"]


@pytest.mark.parametrize("fault", FAULTS)
def test_an_audit_the_logger_refuses_lets_nothing_through(fault: type) -> None:
    failing = [True]
    delivered: list[str] = []

    def logger(line: str) -> None:
        if failing[0] and line.startswith("{"):
            raise fault("log full")

    @component("talker")
    class Talker(Component):
        @subscribe("said")
        def hear(self, topic: str, data: Any) -> None:
            delivered.append(topic)

    k = Kernel(logger=logger)
    k.instantiate(Talker)
    k.boot()
    k.set_policy("talker", audit=True)
    with pytest.raises(fault, match="log full"):
        k.instance("talker").ctx.publish("said")
    assert delivered == [] and k.audit_log == []  # an audit that cannot be written lets nothing through
    failing[0] = False
    k.instance("talker").ctx.publish("said")
    assert delivered == ["said"] and k.audit_log == [{"action": "publish", "caller": "talker", "event": "said"}]


@pytest.mark.parametrize("fault", FAULTS)
def test_rollback_brings_back_the_same_instances_when_the_logger_fails(fault: type) -> None:
    failing = [True]

    def logger(line: str) -> None:
        if failing[0] and line.startswith("activated reader"):
            raise fault("log full")

    k = Kernel(logger=logger)
    k.instantiate(store_factory(Switch()))
    k.instantiate(Reader)
    with pytest.raises(ActivationError if fault is RuntimeError else KeyboardInterrupt):
        k.boot()
    assert_consistent(k, [])
    failing[0] = False
    k.boot()
    assert_consistent(k, ["store", "reader"])


@pytest.mark.parametrize("fault", FAULTS)
def test_teardown_never_stops_early_when_the_logger_fails(fault: type) -> None:
    def logger(line: str) -> None:
        if line.startswith("deactivated"):
            raise fault("log full")

    switch = Switch()
    k = Kernel(logger=logger)
    k.instantiate(store_factory(switch))
    k.instantiate(Reader)
    k.boot()
    with pytest.raises(ExceptionGroup if fault is RuntimeError else fault):  # one per instance
        k.shutdown()
    assert switch.calls[-1] == "deactivate store"
    assert_consistent(k, [])


def test_rollback_reports_the_change_and_notes_an_effect_failing_in_the_flush_after_it() -> None:
    switch = Switch()
    k = store_kernel(switch)
    store = k.instance("store")
    alarm = k.rt.signal(0)

    def watch() -> None:
        if alarm.get():
            raise RuntimeError("alarm")

    k.rt.effect(watch)

    @component("store", version="2", provides=["IStore"])
    class Noisy(Component):
        def activate(self) -> None:
            alarm.set(1)  # a write outside the instance: rollback does not take it back

        def restore(self, state: Any) -> None:
            raise ValueError("no")

    with pytest.raises(ActivationError) as err:
        k.hot_update(Noisy)
    assert err.value.__notes__ == ["in the flush after it: RuntimeError('alarm')"]
    assert_consistent(k, ["store", "reader"])
    assert_store_intact(k, store)


def test_a_replaced_instance_stops_only_after_the_change_commits_consumers_first() -> None:
    log: list[str] = []

    def logged(name: str, **kw: Any) -> type:
        @component(name, **kw)
        class Logged(Component):
            def activate(self) -> None:
                log.append(f"activate {self.ctx.name}")

            def deactivate(self) -> None:
                log.append(f"deactivate {self.ctx.name}")

        return Logged

    k = Kernel()
    k.instantiate(logged("base", provides=["IBase"]))
    k.instantiate(logged("user", requires={"base": "IBase"}))
    k.boot()
    log.clear()
    k.restore({"base": {}, "user": {}})
    assert log == ["activate base", "activate user", "deactivate user", "deactivate base"]


def stuck(name: str, **kw: Any) -> type:
    @component(name, **kw)
    class Stuck(Component):
        def deactivate(self) -> None:
            raise RuntimeError(f"{self.ctx.name} stuck")

    return Stuck


def test_a_failing_undo_step_does_not_stop_the_rollback_every_failure_is_noted() -> None:
    @component("c-broken")
    class Broken(Component):
        def activate(self) -> None:
            raise ValueError("bad")

    k = Kernel()
    k.boot()
    with pytest.raises(ActivationError) as err:
        k.hot_add(stuck("a"), stuck("b"), Broken)
    assert err.value.__notes__ == ["while rolling back: RuntimeError('b stuck')", "while rolling back: RuntimeError('a stuck')"]
    assert k.names() == []


def test_a_replaced_instance_stops_only_after_the_change_commits_and_every_failure_to_stop_is_reported() -> None:
    k = Kernel()
    k.instantiate(stuck("a"))
    k.instantiate(stuck("b"))
    k.boot()
    with pytest.raises(ActivationError) as err:
        k.restore({"a": {}, "b": {}})
    assert str(err.value).startswith("the change to 'a', 'b' is in place, but stopping the instances it replaced failed: ")
    cause = err.value.__cause__
    assert isinstance(cause, ExceptionGroup) and cause.message == "2 replaced instances' teardowns failed"
    assert [str(e) for e in cause.exceptions] == ["b stuck", "a stuck"]


def test_rollback_brings_back_the_same_instances_when_a_new_effect_fails_its_first_run() -> None:
    switch = Switch()
    k = store_kernel(switch)
    store = k.instance("store")
    Base = store_factory(Switch(), version="2")

    @component("store", version="2", provides=["IStore"])
    class Failing(Base):  # type: ignore[misc, valid-type]
        @effect
        def watch(self) -> None:
            raise RuntimeError("first run")

    with pytest.raises(ActivationError, match="'store' as store 2 failed: RuntimeError\\('first run'\\)"):
        k.hot_update(Failing)
    assert_consistent(k, ["store", "reader"])
    assert_store_intact(k, store)


def test_rollback_of_a_consumer_whose_provider_view_fails_leaves_the_provider_alone() -> None:
    @component("keys", provides=["IKeys"])
    class Keys(Component):
        def for_consumer(self, consumer: Any) -> Any:
            raise PermissionError(f"no keys for {consumer.name}")

    @component("client", requires={"keys": "IKeys"})
    class Client(Component):
        def activate(self) -> None:
            self.ctx.use("keys")

    k = Kernel()
    k.instantiate(Keys)
    k.boot()
    keys = k.instance("keys")
    with pytest.raises(ActivationError, match="'client'.*no keys for client"):
        k.hot_add(Client)
    assert k.names() == ["keys"] and k.instance("keys") is keys
