"""The bus: topics with exact and wildcard subscribers, per-component policies, and named operations."""

from __future__ import annotations

import json
from bisect import insort
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from glitchless.kernel.errors import (
    ComponentError,
    PolicyDeniedError,
    UnknownComponentError,
    UnknownOperationError,
    UnknownTargetError,
)

Handler = Callable[[str, Any], None]
Operation = Callable[[dict[str, Any]], Any]


def _is_pattern(topic: str) -> bool:
    return any(ch in topic for ch in "*?[")


def collected(errors: Sequence[BaseException], what: str) -> BaseException | None:
    """What to raise for the errors collected while finishing some work: one as is, several as a group.

    An interrupt among them (KeyboardInterrupt, SystemExit, ...) is raised itself, the others noted on it.
    """
    interrupt = next((e for e in errors if not isinstance(e, Exception)), None)
    if interrupt is not None:
        for e in errors:
            if e is not interrupt:
                interrupt.add_note(f"also raised: {e!r}")
        return interrupt
    if len(errors) > 1:
        return ExceptionGroup(f"{len(errors)} {what} failed", [e for e in errors if isinstance(e, Exception)])
    return errors[0] if errors else None


def raise_all(errors: Sequence[BaseException], what: str) -> None:
    error = collected(errors, what)
    if error is not None:
        raise error


@dataclass(frozen=True)
class Policy:
    """`audit`: log every publish. `publish_allow`: fnmatch patterns a publish must match (None: any)."""

    audit: bool = False
    publish_allow: tuple[str, ...] | None = None


@dataclass(eq=False)
class _Subscription:
    owner: str
    pattern: str
    handler: Handler
    order: tuple[int, int]
    active: bool = True


@dataclass
class _Route:
    factory: str
    target: str | None
    ops: dict[str, Operation] = field(default_factory=dict)


class Bus:
    def __init__(self, logger: Callable[[str], None] | None = None) -> None:
        self.audit_log: list[dict[str, Any]] = []
        self._logger = logger
        self._subs: list[_Subscription] = []
        self._policies: dict[str, Policy] = {}
        self._routes: dict[str, _Route] = {}

    # -- registration (the kernel calls these as instances come and go) ----------------

    def subscribe(self, owner: str, pattern: str, handler: Handler, order: tuple[int, int]) -> None:
        # `order` is (instance slot, member index): a reinstalled instance keeps its place in line.
        insort(self._subs, _Subscription(owner, pattern, handler, order), key=lambda s: s.order)

    def add_routes(self, owner: str, factory: str, target: str | None, ops: Mapping[str, Operation]) -> None:
        self._routes[owner] = _Route(factory, target, dict(ops))

    def remove(self, owner: str) -> None:
        """Drop an instance's subscriptions and operations; a publish in progress skips them too."""
        for s in self._subs:
            if s.owner == owner:
                s.active = False
        self._subs = [s for s in self._subs if s.owner != owner]
        self._routes.pop(owner, None)

    def set_policy(self, owner: str, policy: Policy) -> None:
        self._policies[owner] = policy

    def clear_policy(self, owner: str) -> None:
        self._policies.pop(owner, None)

    # -- use ---------------------------------------------------------------------------

    def publish(self, topic: str, data: Any = None, *, caller: str | None = None) -> None:
        """Deliver to exact subscribers, then wildcard ones, each in subscription order.

        A failing handler does not stop the others; its error is raised once all have run
        (an interrupt such as KeyboardInterrupt too, and it wins over ordinary errors).
        """
        if not isinstance(topic, str) or not topic:
            raise ComponentError(f"topic must be a non-empty string, got {topic!r}")
        policy = self._policies.get(caller) if caller is not None else None
        if policy is not None:
            allowed = policy.publish_allow is None or any(fnmatchcase(topic, p) for p in policy.publish_allow)
            if policy.audit:
                self._audit({"action": "publish" if allowed else "publish_denied", "caller": caller, "event": topic})
            if not allowed:
                raise PolicyDeniedError(
                    f"component {caller!r} may not publish {topic!r}; its publish_allow is {list(policy.publish_allow or ())}"
                )
        subs = self._subs  # remove() rebinds rather than mutates, so this list is stable while we deliver
        exact = [s for s in subs if not _is_pattern(s.pattern) and s.pattern == topic]
        wild = [s for s in subs if _is_pattern(s.pattern) and fnmatchcase(topic, s.pattern)]
        errors: list[BaseException] = []
        for s in exact + wild:
            if s.active:
                try:
                    s.handler(topic, data)
                except BaseException as exc:  # an interrupt too: every subscriber still gets the event
                    errors.append(exc)
        raise_all(errors, f"handlers of {topic!r}")

    def invoke(self, address: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call "component.op"; "factory.op" with a `target` param reaches the instance with that target."""
        if params is None:
            params = {}
        if not isinstance(params, Mapping):
            raise ComponentError(f"params for {address!r} must be a mapping, got {type(params).__name__}")
        name, op = self._resolve(address, params.get("target"))
        fn = self._routes[name].ops.get(op)
        if fn is None:
            known = ", ".join(sorted(self._routes[name].ops)) or "none"
            raise UnknownOperationError(f"component {name!r} has no operation {op!r} (it has: {known})")
        return fn(dict(params))

    def _resolve(self, address: str, target: Any) -> tuple[str, str]:
        comp, dot, op = address.partition(".") if isinstance(address, str) else ("", "", "")
        if not (comp and dot and op):
            raise ComponentError(f"address {address!r} must look like 'component.operation'")
        members = sorted(n for n, r in self._routes.items() if r.factory == comp)
        if target is not None and members:
            hits = [n for n in members if self._routes[n].target == target]
            if not hits:
                known = ", ".join(repr(self._routes[n].target) for n in members if self._routes[n].target is not None)
                raise UnknownTargetError(f"no instance of {comp!r} has target {target!r} (targets: {known or 'none'})")
            return hits[0], op
        if comp in self._routes:
            own = self._routes[comp].target
            if target is not None and own is not None and own != target:
                raise UnknownTargetError(f"component {comp!r} serves target {own!r}, not {target!r}")
            return comp, op
        if len(members) == 1:
            return members[0], op
        if members:
            raise UnknownTargetError(f"{comp!r} has {len(members)} instances ({', '.join(members)}); pass a 'target'")
        raise UnknownComponentError(f"no component named {comp!r} (known: {', '.join(sorted(self._routes)) or 'none'})")

    def operations(self) -> list[str]:
        return sorted(f"{n}.{op}" for n, r in self._routes.items() for op in r.ops)

    def _audit(self, entry: dict[str, Any]) -> None:
        # Written out first: an audit the logger refuses stops the publish and is not recorded either.
        if self._logger is not None:
            self._logger(json.dumps(entry))
        self.audit_log.append(entry)
