"""Pattern 2, A/B testing: a router picks a search backend per user from a config percentage.

`search-v1` and `search-v2` provide `ISearch` with a `version` property; `search-router`
gets them injected as a map keyed by `version` and reads `ab.search.v2_percent` through a
`@computed`. A user's bucket is `int(md5(user_id).hexdigest(), 16) % 100` (stable across
processes, unlike Python's salted `hash`), and the user gets v2 when bucket < percent.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from glitchless.fakes import Json
from glitchless.kernel import Component, Config, InstanceSpec, Kernel, Requires, component, computed, operation
from glitchless.scenarios.framework import Script, scenario

USERS = ["alice", "bob", "charlie", "dave", "eve"]
PHASES = [0, 50, 100]
PERCENT_KEY = "ab.search.v2_percent"


class NoBackendError(LookupError):
    """The variant a user is assigned to has no live backend."""


def bucket(user_id: str) -> int:
    return int(hashlib.md5(user_id.encode("utf-8")).hexdigest(), 16) % 100


@component("search-v1", version="1.0", provides=["ISearch"], properties={"version": "v1"})
class SearchV1(Component):
    def search(self, query: str) -> dict[str, Any]:
        return {"engine": "keyword", "query": query}


@component("search-v2", version="2.0", provides=["ISearch"], properties={"version": "v2"})
class SearchV2(Component):
    def search(self, query: str) -> dict[str, Any]:
        return {"engine": "scored", "query": query}


@component(
    "search-router",
    version="1.0",
    requires={"config": "IConfig", "backends": Requires.map("ISearch", key="version")},
)
class SearchRouter(Component):
    @computed
    def v2_percent(self) -> int:
        return int(self.ctx.use("config").get(PERCENT_KEY, 0))

    @computed
    def variants(self) -> list[str]:
        return sorted(self.ctx.use("backends"))

    def variant_for(self, user_id: str) -> str:
        return "v2" if bucket(user_id) < self.v2_percent() else "v1"

    @operation
    def search(self, params: dict[str, Any]) -> dict[str, Any]:
        user = str(params["user_id"])
        variant = self.variant_for(user)
        backend = self.ctx.use("backends").get(variant)
        if backend is None:
            raise NoBackendError(
                f"search-router: no backend for variant {variant!r} (user {user!r}, bucket {bucket(user)}, "
                f"v2_percent {self.v2_percent()}; live variants: {', '.join(self.variants()) or 'none'})"
            )
        result: dict[str, Any] = backend.search(str(params.get("query", "")))
        return {"user": user, "variant": variant, **result}


async def _ask(kernel: Kernel, user: str, query: str) -> str:
    # Requests arrive as concurrent tasks, so the seed chooses their interleaving.
    await asyncio.sleep(0)
    answer: dict[str, Any] = kernel.invoke("search-router.search", {"user_id": user, "query": query})
    return str(answer["variant"])


async def _round(kernel: Kernel, users: list[str]) -> dict[str, str]:
    variants = await asyncio.gather(*(_ask(kernel, u, "python") for u in users))
    return dict(zip(users, variants))


def _counts(assigned: dict[str, str]) -> dict[str, Json]:
    return {v: sum(1 for x in assigned.values() if x == v) for v in ("v1", "v2")}


@scenario("ab-testing", "ramp search v2 from 0% to 100% by config; users keep their bucket; a removed backend fails clearly")
async def ab_testing(s: Script) -> None:
    s.step("boot: config, search-v1, search-v2, search-router")
    kernel = s.kernel()
    kernel.instantiate(Config, properties={"defaults": {"ab": {"search": {"v2_percent": 0}}}})
    for factory in (SearchV1, SearchV2, SearchRouter):
        kernel.instantiate(factory)
    kernel.boot()
    config: Config = kernel.instance("config")
    router: SearchRouter = kernel.instance("search-router")
    buckets = {u: bucket(u) for u in USERS}
    s.observe("buckets", dict(buckets))
    s.expect("md5 buckets of alice..eve", buckets, {"alice": 0, "bob": 32, "charlie": 43, "dave": 52, "eve": 62})
    s.expect("router sees both backends through the map", router.variants(), ["v1", "v2"])

    counts: dict[str, Json] = {}
    assignments: dict[str, Json] = {}
    for percent in PHASES:
        s.step(f"phase {percent}%", v2_percent=percent)
        config.set(PERCENT_KEY, percent)
        s.expect(f"router's v2_percent follows config at {percent}%", router.v2_percent(), percent)
        first = await _round(kernel, USERS)
        again = await _round(kernel, list(reversed(USERS)))
        s.expect(f"same user, same variant at {percent}%", again, first)
        counts[f"{percent}%"] = _counts(first)
        assignments[f"{percent}%"] = dict(first)
        s.note("assigned", percent=percent, variants=dict(first))
    s.observe("counts", counts)
    s.observe("assignments", assignments)
    s.expect("0% -> v1 5 / v2 0", counts["0%"], {"v1": 5, "v2": 0})
    s.expect("50% -> v1 2 / v2 3", counts["50%"], {"v1": 2, "v2": 3})
    s.expect("100% -> v1 0 / v2 5", counts["100%"], {"v1": 0, "v2": 5})
    s.expect(
        "50%: alice, bob, charlie on v2",
        sorted(u for u, v in first_at(assignments, "50%").items() if v == "v2"),
        ["alice", "bob", "charlie"],
    )

    s.step("ramp 0% -> 100% in steps of 5")
    on_v2: set[str] = set()
    moved_back: list[str] = []
    ramp: dict[str, Json] = {}
    for percent in range(0, 101, 5):
        config.set(PERCENT_KEY, percent)
        now_v2 = {u for u, v in (await _round(kernel, USERS)).items() if v == "v2"}
        moved_back += sorted(on_v2 - now_v2)
        on_v2 = now_v2
        ramp[str(percent)] = len(now_v2)
    s.observe("ramp_v2_users", ramp)
    s.expect("ramping up never moves a v2 user back to v1", moved_back, [])

    s.step("remove search-v2 at 50%")
    config.set(PERCENT_KEY, 50)
    kernel.hot_remove("search-v2")
    s.expect("the map is rebuilt without v2", router.variants(), ["v1"])
    after_removal: dict[str, Json] = {}
    for user in USERS:
        try:
            after_removal[user] = str(kernel.invoke("search-router.search", {"user_id": user})["variant"])
        except NoBackendError as exc:
            after_removal[user] = f"error: {exc}"
    s.observe("after_removal", after_removal)
    s.expect_raises(
        "a v2 user gets a clear error naming the missing variant",
        NoBackendError,
        lambda: kernel.invoke("search-router.search", {"user_id": "alice"}),
    )
    s.check(
        "the error names the variant and the user",
        all("'v2'" in str(after_removal[u]) and repr(u) in str(after_removal[u]) for u in ("alice", "bob", "charlie")),
        str(after_removal["alice"]),
    )
    s.expect("v1 users are still served", [after_removal["dave"], after_removal["eve"]], ["v1", "v1"])
    s.expect("the router is still live", "search-router" in kernel.names(), True)

    s.step("re-add search-v2")
    kernel.hot_add(InstanceSpec(SearchV2))
    s.expect("the map gets v2 back", router.variants(), ["v1", "v2"])
    s.expect("v2 users are served again", _counts(await _round(kernel, USERS)), {"v1": 2, "v2": 3})


def first_at(assignments: dict[str, Json], phase: str) -> dict[str, Json]:
    value = assignments[phase]
    return value if isinstance(value, dict) else {}
