"""Edges of the kernel's wiring and lifecycle: messages, logs, rollback notes, flush order, state copies."""

from __future__ import annotations

from typing import Any

import pytest

from glitchless.kernel import (
    ActivationError,
    Component,
    ComponentError,
    CyclicRequirementError,
    InstanceSpec,
    Kernel,
    MissingProviderError,
    Requires,
    Signal,
    UnknownComponentError,
    component,
    computed,
    effect,
    operation,
)


def plain(name: str, **kw: Any) -> type:
    @component(name, **kw)
    class Plain(Component):
        pass

    return Plain


# -- logging and lifecycle flags -----------------------------------------------------------


def test_the_kernel_logger_hears_activations_and_deactivations() -> None:
    lines: list[str] = []
    k = Kernel(logger=lines.append)
    k.instantiate(plain("svc", version="2.1"))
    k.boot()
    k.shutdown()
    assert lines == ["activated svc (svc 2.1)", "deactivated svc"]


def test_shutdown_leaves_the_kernel_not_booted_and_bootable_again() -> None:
    k = Kernel()
    k.instantiate(plain("svc"))
    k.boot()
    k.shutdown()
    assert k.booted is False
    assert k.names() == []
    k.boot()
    assert k.booted is True and k.names() == ["svc"]


# -- error messages name what is there ------------------------------------------------------


def test_asking_for_an_unknown_live_instance_lists_the_live_ones() -> None:
    k = Kernel()
    k.instantiate(plain("alpha"))
    k.instantiate(plain("beta"))
    k.boot()
    with pytest.raises(UnknownComponentError) as err:
        k.instance("gamma")
    assert str(err.value) == "no live component named 'gamma' (live: alpha, beta)"


def test_naming_an_undeclared_instance_lists_the_declared_ones() -> None:
    k = Kernel()
    k.instantiate(plain("alpha"))
    k.instantiate(plain("beta"))
    with pytest.raises(UnknownComponentError) as err:
        k.set_policy("gamma", audit=True)
    assert str(err.value) == "no component named 'gamma' (known: alpha, beta)"


def test_every_missing_provider_is_reported_in_one_error() -> None:
    k = Kernel()
    k.instantiate(plain("app", requires={"db": "IDb", "cache": "ICache"}))
    with pytest.raises(MissingProviderError) as err:
        k.boot()
    assert str(err.value) == (
        "'app' requires 'IDb' (as 'db') but no component provides it; "
        "'app' requires 'ICache' (as 'cache') but no component provides it"
    )


def test_a_requirement_cycle_is_reported_once_around_the_loop() -> None:
    k = Kernel()
    k.instantiate(plain("a", provides=["IA"], requires={"b": "IB"}))
    k.instantiate(plain("b", provides=["IB"], requires={"a": "IA"}))
    with pytest.raises(CyclicRequirementError) as err:
        k.boot()
    assert str(err.value) == "cyclic requirements: a -> b -> a (each requires what the next provides)"


def test_a_cycle_reached_through_a_waiting_instance_names_only_the_loop() -> None:
    k = Kernel()
    k.instantiate(plain("a", requires={"b": "IB"}))
    k.instantiate(plain("b", provides=["IB"], requires={"c": "IC"}))
    k.instantiate(plain("c", provides=["IC"], requires={"b": "IB"}))
    with pytest.raises(CyclicRequirementError) as err:
        k.boot()
    assert "cyclic requirements: b -> c -> b (" in str(err.value)


def test_hookless_state_that_is_not_a_dict_is_refused_naming_its_type() -> None:
    k = Kernel()
    k.instantiate(plain("svc"))
    k.boot()
    with pytest.raises(ActivationError) as err:
        k.restore({"svc": [1, 2]})
    assert isinstance(err.value.__cause__, ComponentError)
    assert str(err.value.__cause__) == "state for 'svc' must be a dict of attributes, got list"


# -- targets declared by the factory ---------------------------------------------------------


def test_a_target_declared_as_the_factory_default_counts_for_uniqueness() -> None:
    k = Kernel()
    Tenant = plain("tenant", properties={"target": "acme"})
    k.instantiate(Tenant, "tenant-1")
    k.instantiate(Tenant, "tenant-2")
    with pytest.raises(ComponentError) as err:
        k.boot()
    assert str(err.value) == "'tenant-1' and 'tenant-2' both serve target 'acme'"


def test_an_instance_property_overrides_the_factory_default_target() -> None:
    k = Kernel()
    Tenant = plain("tenant", properties={"target": "acme"})
    k.instantiate(Tenant, "tenant-1")
    k.instantiate(Tenant, "tenant-2", {"target": "globex"})
    assert k.boot() == ["tenant-1", "tenant-2"]


# -- removing and updating ---------------------------------------------------------------------


def test_removing_an_instance_named_twice_removes_it_once_and_cleanly() -> None:
    k = Kernel()
    k.instantiate(plain("keep"))
    k.instantiate(plain("gone"))
    k.boot()
    k.hot_remove("gone", "gone")
    assert k.names() == ["keep"]
    k.shutdown()
    assert k.boot() == ["keep"]


def test_updating_before_boot_makes_boot_start_the_new_version() -> None:
    @component("svc", version="1")
    class V1(Component):
        pass

    @component("svc", version="2")
    class V2(Component):
        pass

    k = Kernel()
    k.instantiate(V1)
    assert k.hot_update(V2) == ["svc"]
    k.boot()
    assert isinstance(k.instance("svc"), V2)


# -- failures and what rollback says -------------------------------------------------------------


def test_a_failed_activation_keeps_the_original_error_as_its_cause() -> None:
    boom = ValueError("no disk")

    @component("svc")
    class Broken(Component):
        def activate(self) -> None:
            raise boom

    k = Kernel()
    k.instantiate(Broken)
    with pytest.raises(ActivationError) as err:
        k.boot()
    assert err.value.__cause__ is boom


def test_teardown_errors_during_a_bundle_rollback_are_noted_on_the_failure() -> None:
    @component("first", provides=["IFirst"])
    class First(Component):
        def deactivate(self) -> None:
            raise RuntimeError("stuck")

    @component("second", requires={"first": "IFirst"})
    class Second(Component):
        def activate(self) -> None:
            raise ValueError("bad")

    k = Kernel()
    k.instantiate(plain("base"))
    k.boot()
    with pytest.raises(ActivationError) as err:
        k.hot_add(First, Second)
    assert err.value.__notes__ == ["while rolling back: RuntimeError('stuck')"]
    assert k.names() == ["base"]


def test_cleanup_errors_of_a_half_built_instance_are_noted_on_its_error() -> None:
    @component("svc")
    class HalfBuilt(Component):
        def activate(self) -> None:
            def watch() -> Any:
                def close() -> None:
                    raise RuntimeError("leak")

                return close

            self.ctx.effect(watch)
            raise ValueError("bad")

    k = Kernel()
    k.instantiate(HalfBuilt)
    with pytest.raises(ActivationError) as err:
        k.boot()
    cause = err.value.__cause__
    assert isinstance(cause, ValueError)
    assert cause.__notes__ == ["while rolling back: RuntimeError('leak')"]


def test_several_teardown_errors_of_a_rebuilt_instance_are_grouped() -> None:
    @component("svc")
    class Leaky(Component):
        @effect
        def watch(self) -> Any:
            def close() -> None:
                raise RuntimeError("effect")

            return close

        def deactivate(self) -> None:
            raise RuntimeError("deactivate")

    k = Kernel()
    k.instantiate(Leaky)
    k.boot()
    with pytest.raises(ActivationError) as err:
        k.restore({"svc": {}})
    cause = err.value.__cause__
    assert isinstance(cause, ExceptionGroup)
    assert cause.message == "2 teardowns of 'svc' failed"


def test_shutdown_raises_every_teardown_error_together() -> None:
    def failing(name: str) -> type:
        @component(name)
        class Failing(Component):
            def deactivate(self) -> None:
                raise RuntimeError(name)

        return Failing

    k = Kernel()
    k.instantiate(failing("a"))
    k.instantiate(failing("b"))
    k.boot()
    with pytest.raises(ExceptionGroup) as err:
        k.shutdown()
    assert err.value.message == "2 teardowns failed"
    assert sorted(str(e) for e in err.value.exceptions) == ["a", "b"]
    assert k.names() == []


# -- reinstalled instances keep their place in the flush order -------------------------------


def flush_order_kernel(log: list[str]) -> tuple[Kernel, Signal[int]]:
    k = Kernel()
    shared = k.rt.signal(0)

    def watcher(name: str, version: str = "1") -> type:
        @component(name, version=version)
        class Watcher(Component):
            @effect
            def watch(self) -> None:
                log.append(f"{self.ctx.name}:{shared.get()}")

        return Watcher

    k.instantiate(watcher("a"))
    k.instantiate(watcher("b"))
    k.boot()
    return k, shared


def test_a_restored_instance_keeps_its_effects_place_in_the_flush_order() -> None:
    log: list[str] = []
    k, shared = flush_order_kernel(log)
    k.restore({"a": {}})
    log.clear()
    shared.set(1)
    assert log == ["a:1", "b:1"]


def test_an_instance_rolled_back_after_a_failed_update_keeps_its_flush_place() -> None:
    log: list[str] = []
    k, shared = flush_order_kernel(log)

    @component("a", version="2")
    class BrokenA(Component):
        def activate(self) -> None:
            raise ValueError("v2 broken")

    with pytest.raises(ActivationError):
        k.hot_update(BrokenA)
    log.clear()
    shared.set(1)
    assert log == ["a:1", "b:1"]


# -- state copies -----------------------------------------------------------------------------


@component("db", provides=["IDb"])
class Db(Component):
    pass


@component("holder", requires={"db": "IDb"})
class Holder(Component):
    def activate(self) -> None:
        self.db = self.ctx.use("db")
        self.nothing: Any = None
        self.items = [1]


def test_a_snapshot_refers_to_other_components_instead_of_copying_them() -> None:
    k = Kernel()
    k.instantiate(Db)
    k.instantiate(Holder)
    k.boot()
    state = k.snapshot()["holder"]
    assert state["db"] is k.instance("db")
    assert state["nothing"] is None
    assert state["items"] == [1] and state["items"] is not k.instance("holder").items


# -- map injection with scoped views ------------------------------------------------------------


def test_a_map_requirement_hands_each_consumer_its_own_scoped_views() -> None:
    @component("backend", provides=["IBackend"], properties={"version": "v1"})
    class Backend(Component):
        def for_consumer(self, consumer: Any) -> str:
            return f"{self.ctx.properties['version']} for {consumer.name}"

    @component("router", requires={"backends": Requires.map("IBackend", "version")})
    class Router(Component):
        @operation
        def backends(self, params: dict[str, Any]) -> dict[str, Any]:
            return dict(self.ctx.use("backends"))

    k = Kernel()
    k.instantiate(Backend, "backend-1")
    k.instantiate(Backend, "backend-2", {"version": "v2"})
    k.instantiate(Router)
    k.boot()
    assert k.invoke("router.backends") == {"v1": "v1 for router", "v2": "v2 for router"}


# -- the declaration surface --------------------------------------------------------------------


def test_only_marked_methods_become_operations() -> None:
    @component("svc")
    class Svc(Component):
        limit = 3

        def helper(self) -> None:
            pass

        @operation
        def ping(self, params: dict[str, Any]) -> str:
            return "pong"

    k = Kernel()
    k.instantiate(Svc)
    k.boot()
    assert k.operations() == ["svc.ping"]


def test_declaring_a_non_class_is_refused_with_a_clear_error() -> None:
    k = Kernel()
    with pytest.raises(ComponentError, match="is not a component"):
        k.instantiate("svc")  # type: ignore[arg-type]
    with pytest.raises(ComponentError, match="is not a component"):
        k.instantiate(InstanceSpec(42))  # type: ignore[arg-type]


def test_a_requirement_that_is_neither_a_contract_name_nor_requires_is_refused() -> None:
    with pytest.raises(ComponentError) as err:
        component("svc", requires={"db": 42})  # type: ignore[dict-item]
    assert str(err.value) == "component 'svc': requirement 'db' must be a contract name or Requires"
    with pytest.raises(ComponentError, match="requirement 'db' must be"):
        component("svc", requires={"db": Requires("IDb", "many")})  # type: ignore[arg-type]


def test_a_computed_attached_after_the_class_body_still_reads_its_value() -> None:
    class Base(Component):
        def activate(self) -> None:
            self.n = self.ctx.signal(2)

    def doubled(self: Any) -> int:
        return int(self.n.get()) * 2

    Base.doubled = computed(doubled)  # type: ignore[attr-defined]
    Svc = component("svc")(Base)
    k = Kernel()
    k.instantiate(Svc)
    k.boot()
    assert k.instance("svc").doubled() == 4
