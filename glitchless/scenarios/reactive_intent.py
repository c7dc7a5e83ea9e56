"""Pattern 0: reactive intent vs default. Seven escape hatches, one step each."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from glitchless.kernel import AsyncEffect, Component, component, effect, is_stale, subscribe
from glitchless.scenarios.framework import Script, scenario


@component("connection")
class Connection(Component):
    """A url and a token that only make sense together; the effect uses them as a pair."""

    def __init__(self) -> None:
        self.url = self.ctx.signal("https://api.example/a", name="url")
        self.token = self.ctx.signal("token-a", name="token")
        self.runs: list[tuple[str, str]] = []

    @effect
    def connect(self) -> None:
        self.runs.append((self.url.get(), self.token.get()))


def _mismatched(pair: tuple[str, str]) -> bool:
    return pair[0][-1] != pair[1][-1]  # https://api.example/X goes with token-X


@component("fetcher")
class Fetcher(Component):
    """Two async effects on one query: one finishes its in-flight run, one is cancelled at its await."""

    def __init__(self) -> None:
        self.query = self.ctx.signal("q1", name="query")
        self.fast_query = self.ctx.signal("f1", name="fast_query")
        self.log: list[dict[str, Any]] = []
        self.slow: AsyncEffect | None = None
        self.cancelling: AsyncEffect | None = None

    def activate(self) -> None:
        self.slow = self.ctx.rt.effect(self._fetch, name="fetcher.fetch")
        self.cancelling = self.ctx.rt.effect(self._fetch_latest, name="fetcher.fetch_latest", cancel_on_supersede=True)

    def deactivate(self) -> None:
        for e in (self.slow, self.cancelling):
            if e is not None:
                e.dispose()

    async def _fetch(self) -> None:
        q = self.query.get()
        self.log.append({"run": "fetch", "query": q, "event": "start", "t": self.ctx.now()})
        await asyncio.sleep(5)
        self.log.append({"run": "fetch", "query": q, "event": "end", "t": self.ctx.now(), "stale": is_stale()})

    async def _fetch_latest(self) -> None:
        q = self.fast_query.get()
        self.log.append({"run": "fetch_latest", "query": q, "event": "start", "t": self.ctx.now()})
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            self.log.append({"run": "fetch_latest", "query": q, "event": "cancelled", "t": self.ctx.now()})
            raise
        self.log.append({"run": "fetch_latest", "query": q, "event": "end", "t": self.ctx.now()})


@component("settings")
class Settings(Component):
    """A list held in a signal: mutation in place vs update to a new value; and foreign-thread writes."""

    def __init__(self) -> None:
        self.tags = self.ctx.signal(["a"], name="tags")
        self.level = self.ctx.signal(0, name="level")
        self.tag_runs = 0
        self.level_seen: list[int] = []
        self.level_threads: list[int] = []

    @effect
    def watch_tags(self) -> None:
        self.tags.get()
        self.tag_runs += 1

    @effect
    def watch_level(self) -> None:
        self.level_seen.append(self.level.get())
        self.level_threads.append(threading.get_ident())


@component("key-holder")
class KeyHolder(Component):
    """Publishes `key.rotated` when its key changes, but not for the value it starts with."""

    def __init__(self) -> None:
        self.key = self.ctx.signal("k0", name="key")
        self._first_run = True

    @effect
    def announce(self) -> None:
        key = self.key.get()
        if self._first_run:  # activation: nothing rotated yet
            self._first_run = False
            return
        self.ctx.publish("key.rotated", {"key": key})


@component("rotation-listener")
class RotationListener(Component):
    def __init__(self) -> None:
        self.events: list[str] = []

    @subscribe("key.rotated")
    def on_rotated(self, topic: str, data: Any) -> None:
        self.events.append(data["key"])


class Pool:
    """A resource pool that counts what is open."""

    def __init__(self) -> None:
        self.open = 0
        self.max_open = 0
        self.opened = 0
        self.open_when_opening: list[int] = []

    def acquire(self, label: str) -> Any:
        self.open_when_opening.append(self.open)
        self.open += 1
        self.opened += 1
        self.max_open = max(self.max_open, self.open)

        def release() -> None:
            self.open -= 1

        return release


@component("session")
class Session(Component):
    """One resource per run of its effect, released by the effect's cleanup."""

    def __init__(self) -> None:
        self.endpoint = self.ctx.signal("e0", name="endpoint")
        self.pool: Pool = self.ctx.properties["pool"]

    @effect
    def hold(self) -> Any:
        return self.pool.acquire(self.endpoint.get())


@scenario("reactive-intent", "seven escape hatches: batch, stale async runs, cancel, threads, identity, first run, cleanup")
async def reactive_intent(s: Script) -> None:
    s.step("boot the components")
    pool = Pool()
    k = s.kernel()
    for factory in (Connection, Fetcher, Settings, KeyHolder, RotationListener):
        k.instantiate(factory)
    k.instantiate(Session, properties={"pool": pool})
    k.boot()
    conn: Connection = k.instance("connection")
    fetcher: Fetcher = k.instance("fetcher")
    settings: Settings = k.instance("settings")
    holder: KeyHolder = k.instance("key-holder")
    listener: RotationListener = k.instance("rotation-listener")
    session: Session = k.instance("session")
    await s.advance(11)  # the async effects' first runs (5 s and 10 s bodies) end

    # 1 ---------------------------------------------------------------------
    s.step("1. correlated writes without batch, then in batch()")
    before = len(conn.runs)
    conn.url.set("https://api.example/b")
    conn.token.set("token-b")
    unbatched = conn.runs[before:]
    before = len(conn.runs)
    with k.rt.batch():
        conn.url.set("https://api.example/c")
        conn.token.set("token-c")
    batched = conn.runs[before:]
    s.note("effect runs", unbatched=[list(p) for p in unbatched], batched=[list(p) for p in batched])
    s.expect("without batch the consumer runs twice", len(unbatched), 2)
    s.expect("without batch its first run sees (new url, old token)", _mismatched(unbatched[0]), True)
    s.expect("in batch() the consumer runs once", len(batched), 1)
    s.expect("in batch() it never sees a mismatched pair", any(map(_mismatched, batched)), False)
    s.observe("unbatched_runs", len(unbatched))
    s.observe("batched_runs", len(batched))

    # 2 ---------------------------------------------------------------------
    s.step("2. async effect mid-await when its input changes")
    assert fetcher.slow is not None
    fetcher.log.clear()
    fetcher.query.set("q2")  # run with q2 starts; it sleeps 5 s
    await s.advance(2)
    stale_before = fetcher.slow.is_stale()
    fetcher.query.set("q3")
    stale_after = fetcher.slow.is_stale()  # at once, before the loop runs anything
    fetcher.query.set("q4")  # still one re-run owed, with the newest value
    await s.advance(10)
    fetch = [e for e in fetcher.log if e["run"] == "fetch"]
    s.note("fetch runs", log=fetch)
    s.expect("is_stale() was False before the change", stale_before, False)
    s.expect("is_stale() turns True the moment the change arrives", stale_after, True)
    s.expect(
        "the old body finishes and sees itself stale",
        [(e["query"], e.get("stale")) for e in fetch if e["event"] == "end"][:1],
        [("q2", True)],
    )
    starts = [e for e in fetch if e["event"] == "start"]
    s.expect("exactly one re-run, after the old body ended, with the newest value", [e["query"] for e in starts], ["q2", "q4"])
    s.expect("the re-run starts when the old body ends (t+5)", starts[1]["t"] - starts[0]["t"] if len(starts) > 1 else None, 5.0)
    s.observe("rerun_query", starts[-1]["query"])
    s.observe("stale_when_superseded", stale_after)

    # 3 ---------------------------------------------------------------------
    s.step("3. cancel_on_supersede=True cancels the in-flight body at its await")
    fetcher.log.clear()
    fetcher.fast_query.set("f2")  # starts a run that sleeps 10 s
    await s.advance(3)
    start = s.now()
    fetcher.fast_query.set("f3")
    await s.advance(12)
    latest = [e for e in fetcher.log if e["run"] == "fetch_latest"]
    s.note("fetch_latest runs", log=latest)
    s.expect(
        "the in-flight body is cancelled at its 10 s sleep, then re-runs with the latest",
        [(e["query"], e["event"], e["t"] - start) for e in latest],
        [("f2", "start", -3.0), ("f2", "cancelled", 0.0), ("f3", "start", 0.0), ("f3", "end", 10.0)],
    )
    s.observe("cancelled_after_seconds", next((e["t"] - start + 3 for e in latest if e["event"] == "cancelled"), None))

    # 4 ---------------------------------------------------------------------
    s.step("4. a write from a foreign thread is marshalled to the loop")
    loop_thread = threading.get_ident()
    settings.level_threads.clear()
    runs_on_foreign_thread: list[int] = []

    def write_from_thread() -> None:
        before = len(settings.level_threads)
        for v in (1, 2, 3):
            settings.level.set(v)
        runs_on_foreign_thread.append(len(settings.level_threads) - before)

    thread = threading.Thread(target=write_from_thread, name="foreign-writer")
    thread.start()
    thread.join()  # its writes are queued on the loop now; nothing ran on the thread
    await s.advance(0)
    await s.advance(0)
    s.expect("no effect ran on the foreign thread", runs_on_foreign_thread, [0])
    s.expect("the effect ran on the loop's thread", set(settings.level_threads) == {loop_thread}, True)
    s.expect("nothing lost: the effect saw the last write", settings.level_seen[-1], 3)
    s.observe("foreign_write_effect_on_loop", set(settings.level_threads) == {loop_thread})

    # 5 ---------------------------------------------------------------------
    s.step("5. in-place mutation + set(same object) vs update(fn)")
    runs = settings.tag_runs
    tags = settings.tags.peek()
    tags.append("b")
    settings.tags.set(tags)
    mutated_notified = settings.tag_runs != runs
    runs = settings.tag_runs
    settings.tags.update(lambda old: [*old, "c"])
    updated_notified = settings.tag_runs != runs
    s.expect("mutating in place and set(same object) notifies no one", mutated_notified, False)
    s.expect("update(fn) producing a new value notifies", updated_notified, True)
    s.observe("mutation_notified", mutated_notified)
    s.observe("update_notified", updated_notified)

    # 6 ---------------------------------------------------------------------
    s.step("6. first-run guard: no phantom rotation at boot")
    at_boot = list(listener.events)
    holder.key.set("k1")
    s.expect("no 'rotated' event at boot", at_boot, [])
    s.expect("a real rotation is announced once", listener.events, ["k1"])
    s.observe("phantom_rotations_at_boot", len(at_boot))
    s.observe("rotation_events", list(listener.events))

    # 7 ---------------------------------------------------------------------
    s.step("7. per-run resource: previous closed before the next, last closed on deactivate")
    for endpoint in ("e1", "e2", "e3"):
        session.endpoint.set(endpoint)
    open_while_running = pool.open
    k.hot_remove("session")
    s.expect("each run found the previous resource closed", pool.open_when_opening, [0, 0, 0, 0])
    s.expect("one resource open while the session lives", open_while_running, 1)
    s.expect("the last resource is closed on deactivate", pool.open, 0)
    s.observe("resources_opened", pool.opened)
    s.observe("max_open_resources", pool.max_open)
    s.observe("open_resources", pool.open)
