"""The stock providers' details: logger levels and filters, storage defaults and deletes, copies that isolate."""

from __future__ import annotations

from typing import Any

from glitchless.kernel import Component, Config, Kernel, Logger, LogRecord, Storage, component, operation


@component("app", requires={"log": "ILogger", "store": "IStorage", "config": "IConfig"})
class App(Component):
    @operation
    def run(self, params: dict[str, Any]) -> Any:
        log = self.ctx.use("log")
        log.info("i")
        log.warning("w")
        log.error("e")
        return None


def booted() -> Kernel:
    k = Kernel(clock=lambda: 5.0)
    k.instantiate(App)
    k.instantiate(Logger)
    k.instantiate(Storage)
    k.instantiate(Config, properties={"defaults": {"a": {"b": [1]}}})
    k.boot()
    return k


def test_a_scoped_logger_writes_each_level_under_the_consumers_name() -> None:
    k = booted()
    k.invoke("app.run")
    logger = k.instance("logger")
    logger.write("info", "other", "x")
    assert logger.records[:3] == [LogRecord(5.0, "info", "app", "i"), LogRecord(5.0, "warning", "app", "w"),
                                  LogRecord(5.0, "error", "app", "e")]
    assert logger.messages("app") == ["i", "w", "e"]
    assert logger.messages("other") == ["x"]
    assert logger.messages() == ["i", "w", "e", "x"]


def test_scoped_storage_defaults_deletes_and_copies() -> None:
    k = booted()
    store = k.instance("storage").for_consumer(k._live["app"])
    assert store.get("k") is None and store.get("k", "dflt") == "dflt"
    value = {"n": [1]}
    store.set("k", value)
    value["n"].append(2)  # the caller's object is not what was stored
    got = store.get("k")
    got["n"].append(3)  # nor is what a reader gets
    assert store.get("k") == {"n": [1]}
    store.set("j", 1)
    store.delete("k")
    store.delete("missing")
    assert store.keys() == ["j"]


def test_config_reads_and_writes_are_copies_and_credentials_have_defaults() -> None:
    defaults = {"a": {"b": [1]}}
    k = Kernel()
    k.instantiate(Config, properties={"defaults": defaults})
    k.boot()
    cfg = k.instance("config")
    got = cfg.get("a.b")
    got.append(2)
    assert cfg.get("a.b") == [1]
    nested = cfg.get("a")
    nested["b"].append(9)
    assert cfg.get("a") == {"b": [1]}
    v = {"x": [1]}
    cfg.set("c", v)
    v["x"].append(2)
    assert cfg.get("c") == {"x": [1]}
    cfg.set("a.b", [7])
    assert defaults == {"a": {"b": [1]}}  # the component's declared defaults never change
    assert cfg.get("nope", "dflt") == "dflt"
