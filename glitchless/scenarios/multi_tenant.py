"""Pattern 3, multi-tenant isolation: one factory, an instance per tenant, each with its own config slice.

`tenant-db` instances carry a `target` property; each has a `@computed db_url` read from
`tenants.<target>.db_url` and an effect holding a connection to it. Credentials and
storage come scoped to the instance's target, so a tenant cannot reach another's.
"""

from __future__ import annotations

from typing import Any

from glitchless.fakes import Json
from glitchless.kernel import (
    Component,
    ComponentError,
    Config,
    Credentials,
    InstanceSpec,
    Kernel,
    Storage,
    UnknownComponentError,
    UnknownTargetError,
    component,
    computed,
    effect,
    operation,
)
from glitchless.scenarios.framework import Script, scenario

TENANTS = ["acme", "globex", "initech"]
MIGRATED = "postgres://db-new.prod/globex-migrated"


def _mask(secret: str) -> str:
    return f"{secret[:4]}****{secret[-4:]}"


@component(
    "tenant-db",
    version="1.0",
    requires={"config": "IConfig", "credentials": "ICredentials", "storage": "IStorage"},
)
class TenantDb(Component):
    def activate(self) -> None:
        self.queries = 0
        self.recomputes = 0
        self.connections: list[str] = []

    @computed
    def db_url(self) -> str:
        self.recomputes += 1
        return str(self.ctx.use("config").get(f"tenants.{self.ctx.scope}.db_url"))

    @effect
    def connect(self) -> None:
        self.connections.append(self.db_url())

    @operation
    def query(self, params: dict[str, Any]) -> dict[str, Any]:
        self.queries += 1
        storage = self.ctx.use("storage")
        storage.set("queries", self.queries)
        storage.set("last_sql", str(params.get("sql", "select 1")))
        return {"tenant": self.ctx.scope, "db_url": self.db_url(), "user": self.ctx.use("credentials").get("db_user")}

    @operation
    def whoami(self, params: dict[str, Any]) -> dict[str, Any]:
        """What this tenant can see of its secrets and stored data (the password masked)."""
        creds, storage = self.ctx.use("credentials"), self.ctx.use("storage")
        password = creds.get("db_password")
        return {
            "user": creds.get("db_user"),
            "password": _mask(password) if isinstance(password, str) else None,
            "stored": {k: storage.get(k) for k in storage.keys()},
        }

    @operation
    def read_secret(self, params: dict[str, Any]) -> Any:
        """Ask the credentials view for any name: the view can only reach this tenant's keys."""
        return self.ctx.use("credentials").get(str(params["name"]))


def _tenant_config(tenants: list[str]) -> dict[str, Any]:
    return {
        "tenants": {t: {"db_url": f"postgres://db.prod/{t}"} for t in tenants},
        "apps": {
            "tenant-db": {
                "targets": {t: {"db_user": f"{t}_app", "db_password": f"{t}-password-{t}"} for t in tenants}
            }
        },
    }


def _per_tenant(kernel: Kernel, tenants: list[str], attr: str) -> dict[str, Json]:
    return {t: getattr(kernel.instance(f"tenant-db-{t}"), attr) for t in tenants}


@scenario("multi-tenant", "tenant-db per target: routed queries, one tenant's migration recomputes only that tenant; scoped secrets; on/offboarding")
async def multi_tenant(s: Script) -> None:
    s.step("boot: config, credentials, storage and tenant-db for acme, globex, initech")
    kernel = s.kernel()
    kernel.instantiate(Config, properties={"defaults": _tenant_config(TENANTS)})
    kernel.instantiate(Credentials)
    kernel.instantiate(Storage)
    for t in TENANTS:
        kernel.instantiate(TenantDb, f"tenant-db-{t}", {"target": t})
    kernel.boot()
    config: Config = kernel.instance("config")
    s.expect("each tenant connected once at boot", _per_tenant(kernel, TENANTS, "connections"), {t: [f"postgres://db.prod/{t}"] for t in TENANTS})

    s.step("direct and target-routed queries")
    kernel.invoke("tenant-db-acme.query")
    kernel.invoke("tenant-db-globex.query")
    routed = kernel.invoke("tenant-db.query", {"target": "acme"})
    s.expect("a routed query reaches the acme instance", routed["tenant"], "acme")
    kernel.invoke("tenant-db.query", {"target": "initech"})
    before = _per_tenant(kernel, TENANTS, "recomputes")

    s.step("migrate globex", key="tenants.globex.db_url", value=MIGRATED)
    config.set("tenants.globex.db_url", MIGRATED)
    answer = kernel.invoke("tenant-db.query", {"target": "globex"})
    s.expect("globex's next query uses the migrated url", answer["db_url"], MIGRATED)
    db_urls: dict[str, Json] = {t: kernel.instance(f"tenant-db-{t}").db_url() for t in TENANTS}
    recomputes = _per_tenant(kernel, TENANTS, "recomputes")
    queries = _per_tenant(kernel, TENANTS, "queries")
    s.observe("queries", queries)
    s.observe("db_urls", db_urls)
    s.observe("recomputes", recomputes)
    s.observe("recomputes_before_migration", before)
    s.observe("connections", _per_tenant(kernel, TENANTS, "connections"))
    s.expect("queries per tenant", queries, {"acme": 2, "globex": 2, "initech": 1})
    s.expect(
        "db_urls with globex migrated",
        db_urls,
        {"acme": "postgres://db.prod/acme", "globex": MIGRATED, "initech": "postgres://db.prod/initech"},
    )
    s.expect("globex's change recomputes globex's db_url only", recomputes, {"acme": 1, "globex": 2, "initech": 1})
    s.expect(
        "only globex reconnected",
        _per_tenant(kernel, TENANTS, "connections"),
        {
            "acme": ["postgres://db.prod/acme"],
            "globex": ["postgres://db.prod/globex", MIGRATED],
            "initech": ["postgres://db.prod/initech"],
        },
    )

    s.step("credentials and storage are scoped per target")
    seen: dict[str, Json] = {t: kernel.invoke("tenant-db.whoami", {"target": t}) for t in TENANTS}
    s.observe("isolation", seen)
    s.expect(
        "each tenant reads its own db user",
        {t: kernel.invoke("tenant-db.whoami", {"target": t})["user"] for t in TENANTS},
        {t: f"{t}_app" for t in TENANTS},
    )
    s.expect(
        "each tenant's storage holds its own query count only",
        {t: kernel.invoke("tenant-db.whoami", {"target": t})["stored"]["queries"] for t in TENANTS},
        {"acme": 2, "globex": 2, "initech": 1},
    )
    s.expect(
        "a credential name cannot climb into another tenant's keys",
        kernel.invoke("tenant-db.read_secret", {"target": "acme", "name": "globex"}),
        None,
    )
    s.expect_raises(
        "a dotted credential name is refused",
        ComponentError,
        lambda: kernel.invoke("tenant-db.read_secret", {"target": "acme", "name": "..globex.db_password"}),
    )

    s.step("onboard umbrella after boot")
    config.set("tenants.umbrella", {"db_url": "postgres://db.prod/umbrella"})
    config.set("apps.tenant-db.targets.umbrella", {"db_user": "umbrella_app", "db_password": "pw-umbrella-new-secret"})
    kernel.hot_add(InstanceSpec(TenantDb, "tenant-db-umbrella", {"target": "umbrella"}))
    onboarded = kernel.invoke("tenant-db.query", {"target": "umbrella"})
    s.expect(
        "the new tenant answers routed queries with its own url and user",
        [onboarded["db_url"], onboarded["user"]],
        ["postgres://db.prod/umbrella", "umbrella_app"],
    )
    s.expect("onboarding recomputes no other tenant", _per_tenant(kernel, TENANTS, "recomputes"), recomputes)

    s.step("offboard initech")
    kernel.hot_remove("tenant-db-initech")
    errors: dict[str, Json] = {}
    for address, params in [("tenant-db.query", {"target": "initech"}), ("tenant-db-initech.query", {})]:
        try:
            kernel.invoke(address, params)
            errors[address] = "no error"
        except (UnknownTargetError, UnknownComponentError) as exc:
            errors[address] = f"{type(exc).__name__}: {exc}"
    s.observe("offboarded_errors", errors)
    s.expect_raises(
        "a routed call to the offboarded tenant is a clear error",
        UnknownTargetError,
        lambda: kernel.invoke("tenant-db.query", {"target": "initech"}),
    )
    s.expect_raises(
        "a direct call to the offboarded instance is a clear error",
        UnknownComponentError,
        lambda: kernel.invoke("tenant-db-initech.query"),
    )
    s.check("the routed error names the target", "'initech'" in str(errors["tenant-db.query"]), str(errors["tenant-db.query"]))
    routes = sorted(op for op in kernel.operations() if op.endswith(".query"))
    s.observe("query_routes", list(routes))
    s.expect(
        "its route is gone, the others stay",
        routes,
        ["tenant-db-acme.query", "tenant-db-globex.query", "tenant-db-umbrella.query"],
    )
    s.expect("remaining tenants still answer", kernel.invoke("tenant-db.query", {"target": "acme"})["tenant"], "acme")
