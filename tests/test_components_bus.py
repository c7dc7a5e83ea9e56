"""Operations, target routing, publish order, handler errors and policies."""

import json
from typing import Any

import pytest

from glitchless.kernel import (
    Component,
    ComponentError,
    Kernel,
    PolicyDeniedError,
    UnknownComponentError,
    UnknownOperationError,
    UnknownTargetError,
    component,
    operation,
    subscribe,
)

DELIVERED: list[str] = []


@component("tenant-db")
class TenantDb(Component):
    @operation
    def query(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"tenant": self.ctx.scope, "table": params.get("table")}


@component("listener")
class Listener(Component):
    @subscribe("account.*")
    def wild(self, topic: str, data: Any) -> None:
        DELIVERED.append(f"{self.ctx.name}:wild:{topic}")

    @subscribe("account.transfer")
    def exact(self, topic: str, data: Any) -> None:
        DELIVERED.append(f"{self.ctx.name}:exact:{topic}")


@component("accounts")
class Accounts(Component):
    @operation
    def transfer(self, params: dict[str, Any]) -> str:
        self.ctx.publish("account.transfer", params)
        return "ok"

    @operation
    def leak(self, params: dict[str, Any]) -> str:
        self.ctx.publish("admin.reset", params)
        return "leaked"


@pytest.fixture(autouse=True)
def _clear() -> None:
    DELIVERED.clear()


def tenants() -> Kernel:
    k = Kernel()
    for t in ["acme", "globex", "initech"]:
        k.instantiate(TenantDb, f"tenant-db-{t}", {"target": t})
    k.boot()
    return k


def test_invoke_reaches_an_instance_by_name_and_a_factory_instance_by_target() -> None:
    k = tenants()
    assert k.invoke("tenant-db-acme.query", {"table": "orders"}) == {"tenant": "acme", "table": "orders"}
    assert k.invoke("tenant-db.query", {"table": "users", "target": "initech"})["tenant"] == "initech"
    assert k.operations() == [f"tenant-db-{t}.query" for t in ["acme", "globex", "initech"]]


def test_unknown_operation_is_named_with_the_ones_that_exist_and_kernel_still_answers() -> None:
    k = tenants()
    with pytest.raises(UnknownOperationError, match="'tenant-db-acme' has no operation 'qurey' \\(it has: query\\)"):
        k.invoke("tenant-db-acme.qurey")
    assert k.invoke("tenant-db-acme.query")["tenant"] == "acme"


def test_unknown_target_is_named_with_the_known_targets_and_kernel_still_routes() -> None:
    k = tenants()
    with pytest.raises(UnknownTargetError, match="no instance of 'tenant-db' has target 'hooli'.*'acme'"):
        k.invoke("tenant-db.query", {"target": "hooli"})
    assert k.invoke("tenant-db.query", {"target": "globex"})["tenant"] == "globex"


def test_factory_call_without_target_when_several_instances_asks_for_one() -> None:
    k = tenants()
    with pytest.raises(UnknownTargetError, match="has 3 instances.*pass a 'target'"):
        k.invoke("tenant-db.query")
    assert k.invoke("tenant-db.query", {"target": "acme"})["tenant"] == "acme"


def test_direct_call_with_another_tenants_target_is_refused() -> None:
    k = tenants()
    with pytest.raises(UnknownTargetError, match="serves target 'acme', not 'globex'"):
        k.invoke("tenant-db-acme.query", {"target": "globex"})


def test_unknown_component_and_malformed_address_are_clear_errors_and_kernel_still_answers() -> None:
    k = tenants()
    with pytest.raises(UnknownComponentError, match="no component named 'nope'"):
        k.invoke("nope.query")
    with pytest.raises(ComponentError, match="must look like 'component.operation'"):
        k.invoke("tenant-db-acme")
    with pytest.raises(ComponentError, match="must be a mapping"):
        k.invoke("tenant-db-acme.query", ["not", "a", "dict"])  # type: ignore[arg-type]
    assert k.invoke("tenant-db-acme.query")["tenant"] == "acme"


def test_publish_delivers_exact_subscribers_first_then_wildcards_each_in_subscription_order() -> None:
    k = Kernel()
    k.instantiate(Listener, "l1")
    k.instantiate(Listener, "l2")
    k.boot()
    k.publish("account.transfer", {})
    assert DELIVERED == ["l1:exact:account.transfer", "l2:exact:account.transfer",
                         "l1:wild:account.transfer", "l2:wild:account.transfer"]
    DELIVERED.clear()
    k.publish("account.opened")
    k.publish("accounts")  # fnmatch: 'account.*' needs the dot
    assert DELIVERED == ["l1:wild:account.opened", "l2:wild:account.opened"]


def test_a_failing_handler_does_not_stop_the_others_and_its_error_is_raised_after() -> None:
    @component("fragile")
    class Fragile(Component):
        @subscribe("account.transfer")
        def boom(self, topic: str, data: Any) -> None:
            raise ValueError("handler broke")

    k = Kernel()
    k.instantiate(Fragile)
    k.instantiate(Listener)
    k.boot()
    with pytest.raises(ValueError, match="handler broke"):
        k.publish("account.transfer")
    assert DELIVERED == ["listener:exact:account.transfer", "listener:wild:account.transfer"]


def test_audit_policy_logs_every_publish_of_the_component() -> None:
    lines: list[str] = []
    k = Kernel(logger=lines.append)
    k.instantiate(Accounts)
    k.boot()
    k.set_policy("accounts", audit=True)
    k.invoke("accounts.transfer", {"amount": 1})
    k.invoke("accounts.transfer", {"amount": 2})
    k.publish("account.transfer", caller=None)  # not the audited component
    entry = {"action": "publish", "caller": "accounts", "event": "account.transfer"}
    assert k.audit_log == [entry, entry]
    assert [json.loads(line) for line in lines if line.startswith("{")] == [entry, entry]


def test_publish_allow_denies_other_topics_with_permission_error_and_delivers_nothing() -> None:
    k = Kernel()
    k.instantiate(Accounts)
    k.instantiate(Listener)
    k.boot()
    k.set_policy("accounts", audit=True, publish_allow=["account.*"])
    with pytest.raises(PermissionError, match="'accounts' may not publish 'admin.reset'"):
        k.invoke("accounts.leak", {})
    assert DELIVERED == []
    assert k.audit_log == [{"action": "publish_denied", "caller": "accounts", "event": "admin.reset"}]
    assert k.invoke("accounts.transfer", {}) == "ok"
    assert len(DELIVERED) == 2
    assert issubclass(PolicyDeniedError, PermissionError)


def test_policy_for_unknown_component_or_a_bare_string_allow_list_is_refused() -> None:
    k = Kernel()
    k.instantiate(Accounts)
    k.boot()
    with pytest.raises(UnknownComponentError, match="'acounts'"):
        k.set_policy("acounts", audit=True)
    with pytest.raises(ComponentError, match="list of patterns"):
        k.set_policy("accounts", publish_allow="account.*")
    assert k.invoke("accounts.leak", {}) == "leaked"


def test_empty_topic_is_refused() -> None:
    k = Kernel()
    with pytest.raises(ComponentError, match="non-empty string"):
        k.publish("")
