"""Targets: anything with the Runtime surface of the kernel contract.

A target is named `module:factory`; calling the factory returns a fresh
runtime-like object. The machines only use this surface:

    rt.signal(value) -> s        s.get()  s.peek()  s.set(v)
    rt.computed(fn)  -> c        c.get()  c.peek()  c.dispose()
    rt.effect(fn)    -> e        e.dispose()        (fn may return a cleanup)
    with rt.batch(): ...         rt.untracked(fn)

A runtime may carry `unsupported`, a frozenset naming features it lacks
(FEATURES: "cleanups", "dispose_computed", "equals" (custom equality),
"update", "peek", "untracked", "batch"); the machines then never generate
them, and `conformance` reports the parts needing them as not applicable.
`max_rounds` (an attribute of the runtime, or MAX_FLUSH_ROUNDS in its
module) is the flush's round bound; without one, no cascade near a bound
and no runaway is generated. The layers above the
runtime ("components": the component Kernel; "scheduler": async effects on
the fake loop) exist only for targets whose runtime is a glitchless
`Runtime`; on others the properties that need them are not applicable.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from glitchless.kernel import Runtime

R = TypeVar("R")

FEATURES = ("cleanups", "dispose_computed", "equals", "update", "peek", "untracked", "batch")
# Operations beyond the common surface, each found by probing the runtime (a runtime lacking one, a peer,
# say, has it in `unsupported`): `with rt.untracked():`, rt.scope(), rt.on_cleanup, rt.current_effect,
# rt.track with rt.flush, rt.set_flush_order, and reads from a foreign thread (rule 9; promised by a
# runtime with rule 9's `scheduler` attribute).
OPERATIONS = ("untracked_block", "scope", "on_cleanup", "current_effect", "track", "flush_order", "threads")
# Layers built on the glitchless Runtime itself: a target has them when its runtime is one.
LAYERS = ("components", "scheduler")

ALIASES: dict[str, str] = {
    "glitchless": "glitchless.properties.targets:glitchless",
    "signalpy": "glitchless.properties.peers.signalpy:runtime",
    "reaktiv": "glitchless.properties.peers.reaktiv:runtime",
    "nervio": "glitchless.properties.peers.nervio:runtime",
}


class SignalLike(Protocol):
    def get(self) -> Any: ...
    def peek(self) -> Any: ...
    def set(self, value: Any, /) -> object: ...


class ComputedLike(Protocol):
    def get(self) -> Any: ...
    def peek(self) -> Any: ...
    def dispose(self) -> None: ...


class EffectLike(Protocol):
    def dispose(self) -> None: ...


class RuntimeLike(Protocol):
    def signal(self, value: Any, /) -> SignalLike: ...
    def computed(self, fn: Callable[[], Any], /) -> ComputedLike: ...
    def effect(self, fn: Callable[[], Callable[[], None] | None], /) -> EffectLike: ...
    def batch(self) -> AbstractContextManager[None]: ...
    def untracked(self, fn: Callable[[], R], /) -> R: ...


class TargetError(Exception):
    """A target string that does not name a usable runtime factory."""


class TargetUnavailable(ImportError):
    """Raised when importing an adapter whose peer kernel is not installed."""


def glitchless() -> RuntimeLike:
    """The glitchless kernel itself."""
    return Runtime()


@dataclass(frozen=True)
class Target:
    name: str
    factory: Callable[[], RuntimeLike] = field(compare=False)
    unsupported: frozenset[str] = frozenset()
    layers: frozenset[str] = frozenset()  # LAYERS this target has
    max_rounds: int | None = None  # the flush's round bound, when it has one

    def make(self) -> RuntimeLike:
        return self.factory()

    def supports(self, feature: str | None) -> bool:
        """Has this target the feature (one of FEATURES, or LAYERS) a property needs? None: nothing needed."""
        if feature is None:
            return True
        if feature == "round_bound":
            return self.max_rounds is not None
        if feature in LAYERS:
            return feature in self.layers
        return feature not in self.unsupported

    @classmethod
    def from_factory(cls, name: str, factory: Callable[[], RuntimeLike]) -> Target:
        """Wrap a factory (e.g. a patched copy of a kernel in a test), probing it once."""
        try:
            probe = factory()
        except Exception as exc:
            raise TargetError(f"{name}: the factory failed: {type(exc).__name__}: {exc}") from exc
        missing = [m for m in ("signal", "computed", "effect", "batch", "untracked") if not callable(getattr(probe, m, None))]
        if missing:
            raise TargetError(f"{name}: the factory's result has no {', '.join(missing)}: not a runtime")
        unsupported = frozenset(getattr(probe, "unsupported", frozenset()))
        unknown = unsupported - set(FEATURES) - set(OPERATIONS)
        if unknown:
            raise TargetError(f"{name}: unknown features in 'unsupported': {', '.join(sorted(unknown))}")
        unsupported |= missing_operations(probe)
        layers = frozenset(LAYERS) if isinstance(probe, Runtime) else frozenset()
        bound = getattr(probe, "max_rounds", None) or getattr(sys.modules.get(type(probe).__module__), "MAX_FLUSH_ROUNDS", None)
        return cls(name, factory, unsupported, layers, bound if isinstance(bound, int) else None)


def missing_operations(probe: Any) -> frozenset[str]:
    """The OPERATIONS a runtime lacks."""
    def has(*names: str) -> bool:
        return all(callable(getattr(probe, n, None)) for n in names)

    try:
        block = hasattr(probe.untracked(), "__enter__")
    except TypeError:  # untracked(fn) only
        block = False
    found = {"untracked_block": block, "scope": has("scope"), "on_cleanup": has("on_cleanup"),
             "current_effect": has("current_effect"), "track": has("track", "flush"),
             "flush_order": has("set_flush_order"), "threads": hasattr(probe, "scheduler")}
    return frozenset(k for k, ok in found.items() if not ok)


def resolve_alias(spec: str) -> str:
    return ALIASES.get(spec, spec)


def load_target(spec: str) -> Target:
    """Load `module:factory` (or an alias: glitchless, signalpy, reaktiv, nervio)."""
    full = resolve_alias(spec.strip())
    module_name, sep, attr = full.partition(":")
    if not sep or not module_name or not attr:
        raise TargetError(f"bad target {spec!r}: expected MODULE:FACTORY or one of {', '.join(ALIASES)}")
    try:
        module = importlib.import_module(module_name)
    except TargetUnavailable as exc:
        raise TargetError(f"target {spec!r} is unavailable: {exc}") from exc
    except Exception as exc:  # ImportError, or whatever the module raised while importing
        raise TargetError(f"bad target {spec!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc})") from exc
    factory = module
    for part in attr.split("."):
        try:
            factory = getattr(factory, part)
        except AttributeError:
            raise TargetError(f"bad target {spec!r}: {module_name!r} has no attribute {attr!r}") from None
    if not callable(factory):
        raise TargetError(f"bad target {spec!r}: {attr!r} is not callable")
    return Target.from_factory(spec, factory)


def installed_targets() -> list[Target]:
    """Every shipped target whose kernel can be imported here."""
    found: list[Target] = []
    for alias in ALIASES:
        try:
            found.append(load_target(alias))
        except TargetError:
            continue
    return found
