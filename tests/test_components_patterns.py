"""Two of the commercial patterns end to end, as a check that the layer serves its users."""

import hashlib
from typing import Any

import pytest

from glitchless.kernel import (
    Component,
    Config,
    Kernel,
    Requires,
    component,
    computed,
    operation,
)

USERS = ["alice", "bob", "charlie", "dave", "eve"]


@component("search-v1", provides=["ISearch"], properties={"version": "v1"})
class SearchV1(Component):
    def search(self, query: str) -> str:
        return "v1"


@component("search-v2", provides=["ISearch"], properties={"version": "v2"})
class SearchV2(Component):
    def search(self, query: str) -> str:
        return "v2"


@component("search-router", requires={"config": "IConfig", "backends": Requires.map("ISearch", key="version")})
class Router(Component):
    @computed
    def v2_percent(self) -> int:
        return int(self.ctx.use("config").get("ab.search.v2_percent", 0))

    @operation
    def search(self, params: dict[str, Any]) -> str:
        bucket = int(hashlib.md5(params["user_id"].encode()).hexdigest(), 16) % 100
        variant = "v2" if bucket < self.v2_percent() else "v1"
        backend = self.ctx.use("backends").get(variant)
        if backend is None:
            raise LookupError(f"no backend for variant {variant!r}")
        result: str = backend.search(params.get("query", ""))
        return result


def test_ab_testing_ramps_by_config_through_map_injection() -> None:
    k = Kernel()
    k.instantiate(Config, properties={"defaults": {"ab": {"search": {"v2_percent": 0}}}})
    for f in [SearchV1, SearchV2, Router]:
        k.instantiate(f)
    k.boot()
    config = k.instance("config")
    phases = {}
    for percent in [0, 50, 100]:
        config.set("ab.search.v2_percent", percent)
        phases[percent] = [k.invoke("search-router.search", {"user_id": u}) for u in USERS]
    assert phases[0] == ["v1"] * 5
    assert phases[50] == ["v2", "v2", "v2", "v1", "v1"]
    assert phases[100] == ["v2"] * 5
    k.hot_remove("search-v2")
    with pytest.raises(LookupError, match="no backend for variant 'v2'"):
        k.invoke("search-router.search", {"user_id": "alice"})
    config.set("ab.search.v2_percent", 0)
    assert k.invoke("search-router.search", {"user_id": "alice"}) == "v1"


@component("tenant-db", requires={"config": "IConfig"})
class TenantDb(Component):
    def activate(self) -> None:
        self.queries = 0
        self.recomputes = 0

    @computed
    def db_url(self) -> str:
        self.recomputes += 1
        return str(self.ctx.use("config").get(f"tenants.{self.ctx.scope}.db_url"))

    @operation
    def query(self, params: dict[str, Any]) -> str:
        self.queries += 1
        return self.db_url()


def test_multi_tenant_config_change_recomputes_only_that_tenant() -> None:
    urls = {t: {"db_url": f"postgres://db.prod/{t}"} for t in ["acme", "globex", "initech"]}
    k = Kernel()
    k.instantiate(Config, properties={"defaults": {"tenants": urls}})
    for t in urls:
        k.instantiate(TenantDb, f"tenant-db-{t}", {"target": t})
    k.boot()
    k.invoke("tenant-db-acme.query")
    k.invoke("tenant-db-globex.query")
    k.invoke("tenant-db.query", {"target": "acme"})
    k.invoke("tenant-db.query", {"target": "initech"})
    k.instance("config").set("tenants.globex.db_url", "postgres://db-new.prod/globex-migrated")
    assert k.invoke("tenant-db.query", {"target": "globex"}) == "postgres://db-new.prod/globex-migrated"
    tenants = {t: k.instance(f"tenant-db-{t}") for t in urls}
    assert {t: db.queries for t, db in tenants.items()} == {"acme": 2, "globex": 2, "initech": 1}
    assert {t: db.recomputes for t, db in tenants.items()} == {"acme": 1, "globex": 2, "initech": 1}
