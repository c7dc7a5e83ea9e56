"""The kernel: builds component instances over one Runtime, wires them, and changes them while running.

Every public method keeps one invariant: the declared instances form a valid configuration
(each mandatory requirement has a provider, no requirement cycle, targets unique per factory),
and once booted every declared instance is live. A change that would break it is refused before
anything moves; a change that fails half-way is rolled back, so the kernel stays usable.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from heapq import heapify, heappop, heappush
from types import MappingProxyType
from typing import Any, TypeVar

from glitchless.kernel.bus import Bus, Policy, raise_all
from glitchless.kernel.components import ComponentMeta, Requires, check_name, meta_of
from glitchless.kernel.errors import (
    ActivationError,
    ComponentError,
    CyclicRequirementError,
    MissingProviderError,
    UnknownComponentError,
)
from glitchless.kernel.reactive import Computed, Effect, EffectFn, Runtime, Signal

T = TypeVar("T")
_NO_STATE: Any = object()


@dataclass(frozen=True)
class InstanceSpec:
    """One instance to run: a factory, an instance name (default: the component name) and properties."""

    factory: type[Any]
    name: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)


class Context:
    """An instance's handle on the kernel, set as `self.ctx` before the class's `__init__` runs."""

    def __init__(self, kernel: Kernel, name: str, meta: ComponentMeta, properties: Mapping[str, Any]) -> None:
        self.kernel = kernel
        self.rt = kernel.rt
        self.name = name
        self.factory = meta.name
        self.version = meta.version
        self.properties: Mapping[str, Any] = MappingProxyType({**meta.properties, **properties})
        self._requires = meta.requires
        self._deps: dict[str, Computed[Any]] = {}
        self._computeds: dict[str, Computed[Any]] = {}
        self._effects: list[Effect] = []

    def __deepcopy__(self, memo: dict[int, Any]) -> Context:
        return self  # a snapshot may mention the context; it is never state to copy

    @property
    def scope(self) -> str:
        """What scoped providers key this instance by: its `target` property, else its name."""
        target = self.properties.get("target")
        return target if isinstance(target, str) else self.name

    def use(self, requirement: str) -> Any:
        """The injected provider(s) for a requirement. Tracked: readers re-run when providers change."""
        node = self._deps.get(requirement)
        if node is None:
            raise ComponentError(f"component {self.name!r} declares no requirement {requirement!r}")
        value = node.get()
        if value is None and self._requires[requirement].kind == "one":
            contract = self._requires[requirement].contract
            raise MissingProviderError(f"component {self.name!r}: no provider of {contract!r} for {requirement!r}")
        return value

    def signal(self, value: T, *, name: str = "") -> Signal[T]:
        return self.rt.signal(value, name=f"{self.name}.{name}" if name else self.name)

    def computed(self, fn: Callable[[], T], *, name: str = "") -> Computed[T]:
        """A computed disposed with this instance."""
        node = self.rt.computed(fn, name=f"{self.name}.{name}" if name else self.name)
        self._computeds[f"#{len(self._computeds)}"] = node  # '#' keys never clash with method names
        return node

    def effect(self, fn: EffectFn, *, name: str = "") -> Effect:
        """An effect disposed with this instance. It runs at once, so before any restore."""
        node = self.rt.effect(fn, name=f"{self.name}.{name}" if name else self.name)
        self._effects.append(node)
        return node

    def publish(self, topic: str, data: Any = None) -> None:
        self.kernel.publish(topic, data, caller=self.name)

    def invoke(self, address: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.kernel.invoke(address, params)

    def now(self) -> float:
        if self.kernel.clock is None:
            raise ComponentError(f"component {self.name!r} asked for the time, but the kernel has no clock")
        return self.kernel.clock()


@dataclass(eq=False)
class _Live:
    spec: InstanceSpec
    meta: ComponentMeta
    obj: Any
    ctx: Context
    slot: int  # place in subscription order, kept across reinstalls
    activated: bool = False


class Kernel:
    def __init__(
        self,
        *,
        clock: Callable[[], float] | None = None,
        logger: Callable[[str], None] | None = None,
        runtime: Runtime | None = None,
    ) -> None:
        self.rt = runtime if runtime is not None else Runtime()
        self.clock = clock
        self.bus = Bus(logger)
        self.booted = False
        self._logger = logger
        self._specs: dict[str, InstanceSpec] = {}
        self._live: dict[str, _Live] = {}
        self._contracts: dict[str, Signal[tuple[_Live, ...]]] = {}
        self._slots = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> Kernel:
        return self

    # -- configuration and lifecycle ---------------------------------------------------

    def instantiate(self, factory: type[Any], name: str | None = None, properties: Mapping[str, Any] | None = None) -> str:
        """Declare an instance to start at boot(); returns its name."""
        if self.booted:
            raise ComponentError("the kernel is booted: add instances with hot_add()")
        spec = self._spec(InstanceSpec(factory, name or "", properties or {}))
        if spec.name in self._specs:
            raise ComponentError(f"an instance named {spec.name!r} is already declared")
        self._specs[spec.name] = spec
        return spec.name

    def boot(self, state: Mapping[str, Any] | None = None) -> list[str]:
        """Activate every declared instance, providers first, ties by name; `state` restores named ones."""
        if self.booted:
            raise ComponentError("the kernel is already booted")
        state = dict(state or {})
        self._check_known(state)
        order = self._plan(self._specs)
        self._activate(order, state)
        self.booted = True
        return order

    def shutdown(self) -> None:
        """Tear every instance down, consumers first. Declarations stay, so boot() starts them again."""
        errors: list[Exception] = []
        with self.rt.batch():
            for name in reversed(self._plan(self._specs)):
                if name in self._live:
                    errors += self._teardown(self._live[name])
        self.booted = False
        raise_all(errors, "teardowns")

    def hot_add(self, *items: type[Any] | InstanceSpec) -> list[str]:
        """Add and activate instances (one or a bundle) in requirement order; all or nothing."""
        if not self.booted:
            raise ComponentError("hot_add() needs a booted kernel; declare instances with instantiate() before boot()")
        specs = [self._spec(i if isinstance(i, InstanceSpec) else InstanceSpec(i)) for i in items]
        names = [s.name for s in specs]
        taken = sorted({n for n in names if n in self._specs or names.count(n) > 1})
        if taken:
            raise ComponentError(f"instance names already in use: {', '.join(taken)}")
        planned = {**self._specs, **{s.name: s for s in specs}}
        order = [n for n in self._plan(planned) if n in names]
        self._specs = planned
        try:
            self._activate(order, {})
        except ActivationError:
            for n in names:
                del self._specs[n]
            raise
        return order

    def hot_remove(self, *names: str) -> None:
        """Deactivate and forget instances, consumers first; refused if a remaining one would lose a must-have."""
        self._check_known(dict.fromkeys(names))
        try:
            self._plan({n: s for n, s in self._specs.items() if n not in names})
        except MissingProviderError as exc:
            raise MissingProviderError(f"cannot remove {', '.join(map(repr, names))}: {exc}") from None
        errors: list[Exception] = []
        with self.rt.batch():
            for name in reversed(self._plan(self._specs)):
                if name in names:
                    if name in self._live:
                        errors += self._teardown(self._live[name])
                    del self._specs[name]
                    self.bus.clear_policy(name)
        raise_all(errors, "teardowns")

    def hot_update(self, new_factory: type[Any]) -> list[str]:
        """Replace every instance of the factory named like `new_factory`, carrying its state over.

        Per instance: snapshot -> teardown -> new instance -> activate -> restore -> effects start.
        If any new instance fails, all go back to the old version with the snapshot state.
        """
        meta = meta_of(new_factory)
        names = [n for n, s in self._specs.items() if meta_of(s.factory).name == meta.name]
        if not names:
            raise UnknownComponentError(f"no instance of component {meta.name!r} to update")
        planned = {**self._specs, **{n: replace(self._specs[n], factory=new_factory) for n in names}}
        self._plan(planned)
        if not self.booted:
            self._specs = planned
        else:
            self._replace(dict.fromkeys(names, new_factory), None)
        return names

    def snapshot(self) -> dict[str, Any]:
        """Every live instance's state, by instance name (a deep copy: later changes do not leak in)."""
        return {live.ctx.name: self._snapshot(live) for live in sorted(self._live.values(), key=lambda v: v.slot)}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Rebuild the named instances from `state` (restored before their effects run); all or nothing."""
        if not self.booted:
            raise ComponentError("restore() needs a booted kernel; pass the state to boot(state=...) instead")
        self._check_known(state)
        self._replace({n: self._specs[n].factory for n in state}, state)

    # -- use ---------------------------------------------------------------------------

    def invoke(self, address: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.bus.invoke(address, params)

    def publish(self, topic: str, data: Any = None, *, caller: str | None = None) -> None:
        self.bus.publish(topic, data, caller=caller)

    def set_policy(self, name: str, *, audit: bool = False, publish_allow: Sequence[str] | None = None) -> None:
        self._check_known({name: None})
        if isinstance(publish_allow, str):
            raise ComponentError(f"publish_allow of {name!r} must be a list of patterns, not the string {publish_allow!r}")
        allow = None if publish_allow is None else tuple(publish_allow)
        self.bus.set_policy(name, Policy(audit=audit, publish_allow=allow))

    @property
    def audit_log(self) -> list[dict[str, Any]]:
        return self.bus.audit_log

    def instance(self, name: str) -> Any:
        """The live component object called `name`."""
        live = self._live.get(name)
        if live is None:
            raise UnknownComponentError(f"no live component named {name!r} (live: {', '.join(self.names()) or 'none'})")
        return live.obj

    def names(self) -> list[str]:
        """Live instance names in activation order."""
        return [live.ctx.name for live in sorted(self._live.values(), key=lambda v: v.slot)]

    def operations(self) -> list[str]:
        return self.bus.operations()

    # -- planning ----------------------------------------------------------------------

    def _spec(self, spec: InstanceSpec) -> InstanceSpec:
        meta = meta_of(spec.factory)
        name = check_name(spec.name or meta.name, "instance")
        if not isinstance(spec.properties, Mapping):
            raise ComponentError(f"properties of {name!r} must be a mapping")
        target = spec.properties.get("target")
        if target is not None:
            check_name(target, f"target of {name!r}")  # no dots: scoped keys cannot reach another target
        return InstanceSpec(spec.factory, name, dict(spec.properties))

    def _check_known(self, names: Mapping[str, Any]) -> None:
        unknown = [n for n in names if n not in self._specs]
        if unknown:
            known = ", ".join(self._specs) or "none"
            raise UnknownComponentError(f"no component named {', '.join(map(repr, unknown))} (known: {known})")

    def _plan(self, specs: Mapping[str, InstanceSpec]) -> list[str]:
        """Activation order for a configuration, or a clear error if it is not a valid one."""
        metas = {n: meta_of(s.factory) for n, s in sorted(specs.items())}
        providers: dict[str, list[str]] = {}
        targets: dict[tuple[str, Any], str] = {}
        for n, m in metas.items():
            for c in m.provides:
                providers.setdefault(c, []).append(n)
            target = specs[n].properties.get("target", m.properties.get("target"))
            if target is not None and targets.setdefault((m.name, target), n) != n:
                raise ComponentError(f"{targets[(m.name, target)]!r} and {n!r} both serve target {target!r} of {m.name!r}")
        deps: dict[str, list[str]] = {}
        missing: list[str] = []
        for n, m in metas.items():
            found = {req: [p for p in providers.get(r.contract, []) if p != n] for req, r in m.requires.items()}
            missing += [
                f"{n!r} requires {r.contract!r} (as {req!r}) but no component provides it"
                for req, r in m.requires.items()
                if r.kind == "one" and not found[req]
            ]
            deps[n] = sorted({p for ps in found.values() for p in ps})
        if missing:
            raise MissingProviderError("; ".join(missing))
        users: dict[str, list[str]] = {n: [] for n in deps}
        for n, ds in deps.items():
            for d in ds:
                users[d].append(n)
        waiting = {n: len(ds) for n, ds in deps.items()}
        ready = [n for n, count in waiting.items() if not count]
        heapify(ready)
        order: list[str] = []
        while ready:
            n = heappop(ready)
            order.append(n)
            for u in users[n]:
                waiting[u] -= 1
                if not waiting[u]:
                    heappush(ready, u)
        if len(order) < len(deps):
            # Every stuck instance waits on another stuck one, so walking dependencies must loop.
            path = [min(n for n, count in waiting.items() if count)]
            while path.count(path[-1]) < 2:
                path.append(min(d for d in deps[path[-1]] if waiting[d]))
            cycle = path[path.index(path[-1]) :]
            raise CyclicRequirementError(f"cyclic requirements: {' -> '.join(cycle)} (each requires what the next provides)")
        return order

    # -- building and tearing down instances ---------------------------------------------

    def _activate(self, order: list[str], state: Mapping[str, Any]) -> None:
        installed: list[str] = []
        failure: ActivationError | None = None
        with self.rt.batch():
            for name in order:
                self._slots += 1
                try:
                    self._live[name] = self._install(self._specs[name], state.get(name, _NO_STATE), self._slots)
                except Exception as exc:
                    undone = ", ".join(reversed(installed)) or "nothing else"
                    failure = ActivationError(f"activating {name!r} failed: {exc!r}; rolled back: {undone}")
                    failure.__cause__ = exc
                    for done in reversed(installed):
                        _note(failure, self._teardown(self._live[done]))
                    break
                installed.append(name)
        if failure is not None:
            raise failure

    def _replace(self, factories: Mapping[str, type[Any]], states: Mapping[str, Any] | None) -> None:
        """Swap live instances for fresh ones of `factories`, restored from `states` (None: their own)."""
        names = [n for n in self._plan(self._specs) if n in factories]
        before = {n: (self._live[n], self._snapshot(self._live[n])) for n in names}
        done: list[str] = []
        failure: ActivationError | None = None
        with self.rt.batch():
            for name in names:
                old, snap = before[name]
                done.append(name)
                try:
                    raise_all(self._teardown(old), f"teardowns of {name!r}")
                    spec = replace(old.spec, factory=factories[name])
                    self._live[name] = self._install(spec, snap if states is None else states[name], old.slot)
                    self._specs[name] = spec
                except Exception as exc:
                    new = meta_of(factories[name])
                    failure = ActivationError(
                        f"replacing {name!r} by {new.name} {new.version} failed: {exc!r}; "
                        f"rolled back {', '.join(done)} to the previous version and state"
                    )
                    failure.__cause__ = exc
                    break
            if failure is not None:
                for name in reversed(done):
                    old, snap = before[name]
                    if name in self._live:
                        _note(failure, self._teardown(self._live[name]))
                    self._live[name] = self._install(old.spec, snap, old.slot)
                    self._specs[name] = old.spec
        if failure is not None:
            raise failure

    def _install(self, spec: InstanceSpec, state: Any, slot: int) -> _Live:
        meta = meta_of(spec.factory)
        ctx = Context(self, spec.name, meta, spec.properties)
        factory: Any = spec.factory
        obj = factory.__new__(factory)
        obj.ctx = ctx  # before __init__, so a constructor may already create signals through ctx
        live = _Live(spec, meta, obj, ctx, slot)
        rt = self.rt
        try:
            factory.__init__(obj)
            for req_name, req in meta.requires.items():
                ctx._deps[req_name] = rt.computed(_injector(self, live, req), name=f"{spec.name}<-{req_name}")
            for attr in meta.computeds:
                ctx._computeds[attr] = rt.computed(partial(getattr(spec.factory, attr).fn, obj), name=f"{spec.name}.{attr}")
            if callable(getattr(obj, "activate", None)):
                live.activated = True
                obj.activate()
            if state is not _NO_STATE:
                self._restore(live, state)
            for attr in meta.effects:  # after restore: a first run must already see the restored state
                ctx._effects.append(rt.effect(getattr(obj, attr), name=f"{spec.name}.{attr}"))
            for i, (pattern, attr) in enumerate(meta.subscriptions):
                self.bus.subscribe(spec.name, pattern, getattr(obj, attr), (slot, i))
            target = ctx.properties.get("target")
            self.bus.add_routes(spec.name, meta.name, target, {op: getattr(obj, op) for op in meta.operations})
            for contract in meta.provides:
                sig = self._contract(contract)
                sig.set(tuple(sorted((*sig.peek(), live), key=lambda v: v.ctx.name)))
        except Exception as exc:
            _note(exc, self._teardown(live))
            raise
        self._log(f"activated {spec.name} ({meta.name} {meta.version})")
        return live

    def _teardown(self, live: _Live) -> list[Exception]:
        """Unprovide, unroute, unsubscribe, dispose effects, deactivate. Returns errors, never stops early."""
        name = live.ctx.name
        if self._live.get(name) is live:
            del self._live[name]
        for contract in live.meta.provides:
            sig = self._contract(contract)
            sig.set(tuple(v for v in sig.peek() if v is not live))
        self.bus.remove(name)
        errors: list[Exception] = []
        for node in reversed(live.ctx._effects):
            try:
                node.dispose()
            except Exception as exc:
                errors.append(exc)
        if live.activated and callable(getattr(live.obj, "deactivate", None)):
            try:
                live.obj.deactivate()
            except Exception as exc:
                errors.append(exc)
        for computed in (*live.ctx._computeds.values(), *live.ctx._deps.values()):
            computed.dispose()
        self._log(f"deactivated {name}")
        return errors

    def _contract(self, contract: str) -> Signal[tuple[_Live, ...]]:
        sig = self._contracts.get(contract)
        if sig is None:
            sig = self._contracts[contract] = self.rt.signal((), name=f"providers of {contract}")
        return sig

    # -- state -------------------------------------------------------------------------

    def _snapshot(self, live: _Live) -> Any:
        obj = live.obj
        if callable(getattr(obj, "snapshot", None)):
            return self._copy(obj.snapshot())
        # No hooks: the plain instance attributes are the state; signals by their value.
        plain = {
            k: v.peek() if isinstance(v, Signal) else v
            for k, v in vars(obj).items()
            if k != "ctx" and not isinstance(v, (Computed, Effect))
        }
        return self._copy(plain)

    def _restore(self, live: _Live, state: Any) -> None:
        state = self._copy(state)  # the caller's snapshot stays intact for a later rollback
        obj = live.obj
        if callable(getattr(obj, "restore", None)):
            obj.restore(state)
            return
        if not isinstance(state, dict):
            raise ComponentError(f"state for {live.ctx.name!r} must be a dict of attributes, got {type(state).__name__}")
        for k, v in state.items():
            current = vars(obj).get(k)
            if isinstance(current, Signal):
                current.set(v)
            else:
                setattr(obj, k, v)

    def _copy(self, value: Any) -> Any:
        # Components and the runtime are referred to by state, never part of it: copy them as themselves.
        keep: list[object] = [self.rt, *(live.obj for live in self._live.values())]
        return copy.deepcopy(value, {id(x): x for x in keep})

    def _log(self, line: str) -> None:
        if self._logger is not None:
            self._logger(line)


def _injector(kernel: Kernel, consumer: _Live, req: Requires) -> Callable[[], Any]:
    """The body of the computed that holds what `consumer` gets for `req`."""
    providers = kernel._contract(req.contract)

    def inject() -> Any:
        found = [p for p in providers.get() if p is not consumer]
        if req.kind == "map":
            by_key: dict[Any, Any] = {}
            for p in found:
                key = p.ctx.properties.get(req.key or "")
                if key in by_key:
                    raise ComponentError(f"two providers of {req.contract!r} share {req.key}={key!r}")
                if key is not None:
                    by_key[key] = _view(p, consumer)
            return MappingProxyType(by_key)
        views = [_view(p, consumer) for p in found]
        if req.kind == "all":
            return tuple(views)
        return views[0] if views else None

    return inject


def _view(provider: _Live, consumer: _Live) -> Any:
    # A provider may hand each consumer its own scoped view (credentials, storage, logger).
    for_consumer = getattr(provider.obj, "for_consumer", None)
    return for_consumer(consumer.ctx) if callable(for_consumer) else provider.obj


def _note(exc: BaseException, errors: list[Exception]) -> None:
    for e in errors:
        exc.add_note(f"while rolling back: {e!r}")
