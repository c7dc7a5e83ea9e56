"""Config with one signal per dotted key, per-instance credentials and storage, and the logger."""

import re
from typing import Any

import pytest

from glitchless.kernel import (
    ActivationError,
    Component,
    ComponentError,
    Config,
    Credentials,
    Kernel,
    Logger,
    LogRecord,
    Storage,
    component,
    computed,
    effect,
    operation,
)


@component("reader", requires={"config": "IConfig"}, properties={"key": "a"})
class Reader(Component):
    def activate(self) -> None:
        self.runs: list[Any] = []

    @effect
    def read(self) -> None:
        self.runs.append(self.ctx.use("config").get(self.ctx.properties["key"]))


def config_kernel(*keys: str) -> Kernel:
    k = Kernel()
    k.instantiate(Config, properties={"defaults": {"a": {"b": {"c": 1, "d": 2}, "c": 3}}})
    for key in keys:
        k.instantiate(Reader, "r-" + key.replace(".", "-"), {"key": key})
    k.boot()
    return k


def runs(k: Kernel, key: str) -> list[Any]:
    return list(k.instance("r-" + key.replace(".", "-")).runs)


def test_writing_a_key_reruns_readers_of_it_its_descendants_and_ancestors_only() -> None:
    k = config_kernel("a.b", "a.b.c", "a.b.d", "a.c", "a")
    k.instance("config").set("a.b", {"c": 10, "d": 2})
    assert runs(k, "a.b") == [{"c": 1, "d": 2}, {"c": 10, "d": 2}]
    assert runs(k, "a.b.c") == [1, 10]
    assert runs(k, "a.b.d") == [2]  # descendant whose value did not change: cut off
    assert runs(k, "a.c") == [3]  # sibling: untouched
    assert runs(k, "a")[-1] == {"b": {"c": 10, "d": 2}, "c": 3}  # a subtree read sees the change
    assert len(runs(k, "a")) == 2


def test_writing_a_leaf_does_not_rerun_its_siblings() -> None:
    k = config_kernel("a.b.c", "a.b.d", "a.c")
    k.instance("config").set("a.b.c", 5)
    assert (runs(k, "a.b.c"), runs(k, "a.b.d"), runs(k, "a.c")) == ([1, 5], [2], [3])


def test_missing_keys_read_as_default_and_appear_when_written() -> None:
    k = config_kernel("x.y")
    cfg = k.instance("config")
    assert cfg.get("x.y", "dflt") == "dflt"
    cfg.set("x.y", 7)
    assert runs(k, "x.y") == [None, 7]


def test_subtree_reads_are_copies_so_callers_cannot_corrupt_config() -> None:
    k = config_kernel()
    cfg = k.instance("config")
    cfg.get("a.b")["c"] = 999
    cfg.set("a.list", [1])
    cfg.get("a.list").append(2)
    assert cfg.get("a.b.c") == 1 and cfg.get("a.list") == [1]


def test_bad_config_key_is_a_clear_error_and_config_still_works() -> None:
    k = config_kernel("a.c")
    with pytest.raises(ComponentError, match="'a..b'"):
        k.instance("config").set("a..b", 1)
    k.instance("config").set("a.c", 4)
    assert runs(k, "a.c") == [3, 4]


@component("db-client", requires={"creds": "ICredentials"})
class DbClient(Component):
    def activate(self) -> None:
        self.connections: list[str] = []

    @computed
    def key(self) -> Any:
        return self.ctx.use("creds").get("api_key")

    @effect
    def connect(self) -> None:
        self.connections.append(str(self.key()))

    @operation
    def peek(self, params: dict[str, Any]) -> Any:
        return self.ctx.use("creds").get(params["name"])


def creds_kernel() -> Kernel:
    k = Kernel()
    targets = {t: {"api_key": f"key-{t}"} for t in ["acme", "globex"]}
    k.instantiate(Config, properties={"defaults": {"apps": {"db-client": {"targets": targets}}}})
    k.instantiate(Credentials)
    k.instantiate(DbClient, "db-acme", {"target": "acme"})
    k.instantiate(DbClient, "db-globex", {"target": "globex"})
    k.boot()
    return k


def test_credentials_are_scoped_to_the_instances_target_and_follow_rotation() -> None:
    k = creds_kernel()
    k.instance("config").set("apps.db-client.targets.acme.api_key", "key-acme-rotated")
    assert k.instance("db-acme").connections == ["key-acme", "key-acme-rotated"]
    assert k.instance("db-globex").connections == ["key-globex"]


def test_one_tenant_cannot_name_another_tenants_credentials() -> None:
    k = creds_kernel()
    with pytest.raises(ComponentError, match="credential name"):
        k.invoke("db-client.peek", {"target": "acme", "name": "..globex.api_key"})
    with pytest.raises(ComponentError, match="credential name"):
        k.invoke("db-client.peek", {"target": "acme", "name": "api_key.x"})
    assert k.invoke("db-client.peek", {"target": "acme", "name": "api_key"}) == "key-acme"


@component("tenant", requires={"store": "IStorage", "log": "ILogger"})
class Tenant(Component):
    @operation
    def put(self, params: dict[str, Any]) -> None:
        self.ctx.use("store").set(params["key"], params["value"])
        self.ctx.use("log").info(f"put {params['key']}")

    @operation
    def get(self, params: dict[str, Any]) -> Any:
        return self.ctx.use("store").get(params["key"])

    @operation
    def keys(self, params: dict[str, Any]) -> list[str]:
        return list(self.ctx.use("store").keys())


def storage_kernel(clock: Any = None) -> Kernel:
    k = Kernel(clock=clock)
    k.instantiate(Storage)
    k.instantiate(Logger)
    k.instantiate(Tenant, "tenant-acme", {"target": "acme"})
    k.instantiate(Tenant, "tenant-globex", {"target": "globex"})
    k.boot()
    return k


def test_storage_is_scoped_per_instance_and_survives_a_storage_update() -> None:
    k = storage_kernel()
    k.invoke("tenant.put", {"target": "acme", "key": "secret", "value": 1})
    assert k.invoke("tenant.get", {"target": "globex", "key": "secret"}) is None
    assert k.invoke("tenant.keys", {"target": "globex"}) == []
    k.hot_update(Storage)
    assert k.invoke("tenant.get", {"target": "acme", "key": "secret"}) == 1
    k.invoke("tenant.put", {"target": "acme", "key": "later", "value": 2})  # lands in the new instance
    assert k.instance("storage").spaces[("tenant", "acme")] == {"secret": 1, "later": 2}


def test_logger_records_source_and_fake_clock_time_never_the_wall_clock() -> None:
    ticks = iter([100.0, 200.0])
    k = storage_kernel(clock=lambda: next(ticks))
    k.invoke("tenant.put", {"target": "acme", "key": "k", "value": 1})
    k.invoke("tenant.put", {"target": "globex", "key": "k", "value": 2})
    assert k.instance("logger").records == [
        LogRecord(100.0, "info", "tenant-acme", "put k"),
        LogRecord(200.0, "info", "tenant-globex", "put k"),
    ]
    assert k.instance("logger").messages("tenant-globex") == ["put k"]
    assert storage_kernel().instance("logger").records == []


def test_asking_for_the_time_without_a_clock_is_a_clear_error() -> None:
    k = storage_kernel()
    with pytest.raises(ComponentError, match="no clock"):
        k.instance("tenant-acme").ctx.now()


@pytest.mark.parametrize(
    ("defaults", "message"),
    [
        (5, "config defaults must be a mapping of names to values, got int"),
        ({"a": {"b.c": 1}}, "config defaults.a has key 'b.c': keys must be non-empty names without dots"),
        ({"": 1}, "config defaults has key '': keys must be non-empty names without dots"),
    ],
)
def test_malformed_config_defaults_are_refused_with_the_key_named(defaults: object, message: str) -> None:
    k = Kernel()
    k.instantiate(Config, properties={"defaults": defaults})
    with pytest.raises(ActivationError, match=re.escape(message)):
        k.boot()
    assert k.names() == [] and not k.booted
