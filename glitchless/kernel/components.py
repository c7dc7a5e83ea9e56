"""Declaring components: their name, contracts, properties and reactive members.

Nothing here runs anything. `@component` records a `ComponentMeta` on the class; the
`Kernel` reads it to build, wire and tear down instances.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from glitchless.kernel.errors import ComponentError

if TYPE_CHECKING:
    from glitchless.kernel.kernel import Context
    from glitchless.kernel.reactive import Computed

T = TypeVar("T")
C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

RequireKind = Literal["one", "optional", "all", "map"]

# Dots separate component from operation in addresses and scope credentials, so names may not hold them.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_META = "__glitchless_component__"
_EFFECT = "__glitchless_effect__"
_SUBSCRIBE = "__glitchless_subscribe__"
_OPERATION = "__glitchless_operation__"


def check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ComponentError(f"{what} name {name!r} must be letters, digits, '_' or '-' (no dots)")
    return name


@dataclass(frozen=True)
class Requires:
    """How a component wants a contract injected. A plain string in `requires` means `Requires.one`."""

    contract: str
    kind: RequireKind = "one"
    key: str | None = None

    @classmethod
    def one(cls, contract: str) -> Requires:
        """Exactly one provider (the first by instance name); boot fails without one."""
        return cls(contract)

    @classmethod
    def optional(cls, contract: str) -> Requires:
        """The first provider by instance name, or None."""
        return cls(contract, "optional")

    @classmethod
    def all(cls, contract: str) -> Requires:
        """A tuple of every provider, ordered by instance name."""
        return cls(contract, "all")

    @classmethod
    def map(cls, contract: str, key: str) -> Requires:
        """A mapping from each provider's `key` property to that provider."""
        return cls(contract, "map", key)


@dataclass(frozen=True)
class ComponentMeta:
    """What `@component` recorded about a class. Member lists keep definition order."""

    name: str
    version: str
    provides: tuple[str, ...]
    requires: Mapping[str, Requires]
    properties: Mapping[str, Any]
    computeds: tuple[str, ...]
    effects: tuple[str, ...]
    subscriptions: tuple[tuple[str, str], ...]  # (topic pattern, method name)
    operations: tuple[str, ...]


def component(
    name: str,
    *,
    version: str = "0",
    provides: Sequence[str] = (),
    requires: Mapping[str, str | Requires] | None = None,
    properties: Mapping[str, Any] | None = None,
) -> Callable[[C], C]:
    """Declare a class as a component factory called `name`."""
    check_name(name, "component")
    if isinstance(provides, str):
        raise ComponentError(f"component {name!r}: provides must be a list of contracts, not the string {provides!r}")
    reqs = {k: Requires(v) if isinstance(v, str) else v for k, v in (requires or {}).items()}
    for req_name, req in reqs.items():
        if not isinstance(req, Requires) or req.kind not in ("one", "optional", "all", "map"):
            raise ComponentError(f"component {name!r}: requirement {req_name!r} must be a contract name or Requires")
        if req.kind == "map" and not req.key:
            raise ComponentError(f"component {name!r}: map requirement {req_name!r} needs a key property")

    def decorate(cls: C) -> C:
        members: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            members.update(vars(klass))
        meta = ComponentMeta(
            name=name,
            version=version,
            provides=tuple(provides),
            requires=reqs,
            properties=dict(properties or {}),
            computeds=tuple(a for a, m in members.items() if isinstance(m, ComputedMethod)),
            effects=tuple(a for a, m in members.items() if getattr(m, _EFFECT, False) is True),
            subscriptions=tuple((p, a) for a, m in members.items() for p in getattr(m, _SUBSCRIBE, ())),
            operations=tuple(a for a, m in members.items() if getattr(m, _OPERATION, False) is True),
        )
        setattr(cls, _META, meta)
        return cls

    return decorate


def meta_of(factory: object) -> ComponentMeta:
    # Looked up on the class itself: an undecorated subclass must not pass for its parent.
    meta = vars(factory).get(_META) if isinstance(factory, type) else None
    if not isinstance(meta, ComponentMeta):
        raise ComponentError(f"{factory!r} is not a component: decorate the class with @component(...)")
    return meta


class Component:
    """Optional base class: it only tells type checkers about `self.ctx`, which the kernel sets."""

    ctx: Context


class ComputedMethod(Generic[T]):
    """A method made into one Computed per instance; calling `self.method()` reads (and tracks) it."""

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> ComputedMethod[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Callable[[], T]: ...
    def __get__(self, obj: object, owner: type | None = None) -> ComputedMethod[T] | Callable[[], T]:
        if obj is None:
            return self
        ctx = getattr(obj, "ctx", None)
        node: Computed[T] | None = ctx._computeds.get(self.name) if ctx is not None else None
        if node is None:
            raise ComponentError(f"{self.name}() read on a component instance that the kernel has not activated")
        return node.get


def computed(fn: Callable[[Any], T]) -> ComputedMethod[T]:
    """Mark a method as a per-instance computed value."""
    return ComputedMethod(fn)


def effect(fn: F) -> F:
    """Mark a method as an effect, started after activate (and restore) and disposed at teardown."""
    setattr(fn, _EFFECT, True)
    return fn


def subscribe(*patterns: str) -> Callable[[F], F]:
    """Mark a method `(self, topic, data)` as a bus handler for exact topics or fnmatch patterns."""
    for p in patterns:
        if not isinstance(p, str) or not p:
            raise ComponentError(f"subscribe pattern {p!r} must be a non-empty string")

    def mark(fn: F) -> F:
        setattr(fn, _SUBSCRIBE, (*getattr(fn, _SUBSCRIBE, ()), *patterns))
        return fn

    return mark


def operation(fn: F) -> F:
    """Mark a method `(self, params)` as an operation invokable as "component.method"."""
    setattr(fn, _OPERATION, True)
    return fn
