"""Providers the patterns rely on: config, scoped credentials and storage, and a logger.

Scoped providers hand each consumer its own view (`for_consumer`), keyed by the consumer's
factory and `ctx.scope` (its target). A view holds no way to name another scope, so one
tenant cannot read another's secrets or data.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glitchless.kernel.components import Component, check_name, component
from glitchless.kernel.errors import ComponentError
from glitchless.kernel.kernel import Context
from glitchless.kernel.reactive import Signal

_MISSING: Any = object()


def _lookup(tree: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return _MISSING
        tree = tree[part]
    return tree


def _assign(tree: dict[str, Any], parts: list[str], value: Any) -> dict[str, Any]:
    # Copy-on-write along the path: a dict a signal holds is never mutated, so its readers' old values stay true.
    new = dict(tree)
    if len(parts) == 1:
        new[parts[0]] = value
    else:
        child = tree.get(parts[0])
        new[parts[0]] = _assign(child if isinstance(child, dict) else {}, parts[1:], value)
    return new


@component("config", version="1.0", provides=["IConfig"], properties={"defaults": {}})
class Config(Component):
    """Dotted keys over a nested dict, one signal per key read.

    A write re-derives every key's value from the new tree; equality cut-off then leaves the
    signals whose value did not change alone. Writing `a.b` thus re-runs readers of `a.b`, of
    changed keys under it and of its ancestors (a subtree read of `a` sees it), never of `a.c`,
    whose subtree the copy-on-write tree shares unchanged.
    """

    def activate(self) -> None:
        defaults = self.ctx.properties["defaults"]
        _check_tree(defaults, "defaults")
        self._tree: dict[str, Any] = copy.deepcopy(dict(defaults))
        self._signals: dict[str, Signal[Any]] = {}

    def get(self, key: str, default: Any = None) -> Any:
        sig = self._signals.get(key)
        if sig is None:
            _check_key(key)
            sig = self._signals[key] = self.ctx.signal(_lookup(self._tree, key), name=key)
        value = sig.get()
        if value is _MISSING:
            return default
        return copy.deepcopy(value)  # readers may mutate what they get; the tree must not change under them

    def set(self, key: str, value: Any) -> None:
        self._tree = _assign(self._tree, _check_key(key), copy.deepcopy(value))
        with self.ctx.rt.batch():
            for k, sig in self._signals.items():
                sig.set(_lookup(self._tree, k))

    def snapshot(self) -> dict[str, Any]:
        return self._tree

    def restore(self, state: dict[str, Any]) -> None:
        self._tree = state


def _check_tree(tree: object, where: str) -> None:
    """Config defaults: a mapping whose keys are plain names, so every value has one dotted key."""
    if not isinstance(tree, Mapping):
        raise ComponentError(f"config {where} must be a mapping of names to values, got {type(tree).__name__}")
    for name, value in tree.items():
        if not isinstance(name, str) or not name or "." in name:
            raise ComponentError(f"config {where} has key {name!r}: keys must be non-empty names without dots")
        if isinstance(value, Mapping):
            _check_tree(value, f"{where}.{name}")


def _check_key(key: object) -> list[str]:
    parts = key.split(".") if isinstance(key, str) else [""]
    if not all(parts):
        raise ComponentError(f"config key {key!r} must be dotted non-empty parts, like 'a.b.c'")
    return parts


@dataclass(frozen=True)
class ScopedCredentials:
    """A consumer's secrets: config keys `apps.<factory>.targets.<scope>.<name>`."""

    config: Any
    prefix: str

    def get(self, name: str, default: Any = None) -> Any:
        return self.config.get(f"{self.prefix}.{check_name(name, 'credential')}", default)


@component("credentials", version="1.0", provides=["ICredentials"], requires={"config": "IConfig"})
class Credentials(Component):
    def for_consumer(self, consumer: Context) -> ScopedCredentials:
        return ScopedCredentials(self.ctx.use("config"), f"apps.{consumer.factory}.targets.{consumer.scope}")


@dataclass(frozen=True)
class ScopedStorage:
    """A consumer's key-value space inside the storage provider."""

    storage: Storage
    scope: tuple[str, str]

    @property
    def _data(self) -> dict[str, Any]:
        return self.storage.spaces.setdefault(self.scope, {})

    def get(self, key: str, default: Any = None) -> Any:
        return copy.deepcopy(self._data.get(key, default))

    def set(self, key: str, value: Any) -> None:
        self._data[key] = copy.deepcopy(value)

    def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def keys(self) -> list[str]:
        return sorted(self._data)


@component("storage", version="1.0", provides=["IStorage"])
class Storage(Component):
    def activate(self) -> None:
        self.spaces: dict[tuple[str, str], dict[str, Any]] = {}

    def for_consumer(self, consumer: Context) -> ScopedStorage:
        return ScopedStorage(self, (consumer.factory, consumer.scope))


@dataclass(frozen=True)
class LogRecord:
    time: float | None  # from the kernel's clock, None without one: never the wall clock
    level: str
    source: str
    message: str


@dataclass(frozen=True)
class ScopedLogger:
    """A consumer's logger: records carry its instance name as their source."""

    logger: Logger
    source: str

    def info(self, message: str) -> None:
        self.logger.write("info", self.source, message)

    def warning(self, message: str) -> None:
        self.logger.write("warning", self.source, message)

    def error(self, message: str) -> None:
        self.logger.write("error", self.source, message)


@component("logger", version="1.0", provides=["ILogger"])
class Logger(Component):
    def activate(self) -> None:
        self.records: list[LogRecord] = []

    def for_consumer(self, consumer: Context) -> ScopedLogger:
        return ScopedLogger(self, consumer.name)

    def write(self, level: str, source: str, message: str) -> None:
        clock = self.ctx.kernel.clock
        self.records.append(LogRecord(clock() if clock is not None else None, level, source, message))

    def messages(self, source: str | None = None) -> list[str]:
        return [r.message for r in self.records if source is None or r.source == source]
