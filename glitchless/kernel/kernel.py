"""The kernel: builds component instances over one Runtime, wires them, and changes them while running.

Every public method keeps one invariant: the declared instances form a valid configuration
(each mandatory requirement has a provider, no requirement cycle, targets unique per factory),
and once booted every declared instance is live. A change that would break it is refused before
anything moves; a change that fails half-way is rolled back to the very same instances, so the
kernel stays usable (docs/kernel-contract.md, rules C1-C8).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from types import MappingProxyType
from typing import Any, TypeVar

from glitchless.kernel.bus import Bus, Policy, collected, raise_all
from glitchless.kernel.components import Requires, check_name, meta_of
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
class _Change:
    """A planned change: the target configuration, the instances to build in order, their states."""

    specs: dict[str, InstanceSpec]
    names: list[str]
    states: Mapping[str, Any]
    replaced: dict[str, Context]


@dataclass(frozen=True)
class InstanceSpec:
    """One instance to run: a factory, an instance name (default: the component name) and properties."""

    factory: type[Any]
    name: str = ""
    properties: Mapping[str, Any] = field(default_factory=dict)


class Context:
    """An instance's handle on the kernel, set as `self.ctx` before the class's `__init__` runs.

    It doubles as the kernel's record of the instance: what to dispose and unregister at teardown.
    """

    def __init__(self, kernel: Kernel, spec: InstanceSpec, slot: int) -> None:
        self.kernel, self.rt, self.name, self.meta = kernel, kernel.rt, spec.name, meta_of(spec.factory)
        self.factory, self.version = self.meta.name, self.meta.version
        self.properties: Mapping[str, Any] = MappingProxyType({**self.meta.properties, **spec.properties})
        self._spec = spec
        self._slot = slot  # place in subscription order, kept across reinstalls
        self._obj: Any = None
        self._activated = False
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
        req = self.meta.requires[requirement]
        if value is None and req.kind == "one":
            raise MissingProviderError(f"component {self.name!r}: no provider of {req.contract!r} for {requirement!r}")
        return value

    def signal(self, value: T, *, name: str = "") -> Signal[T]:
        return self.rt.signal(value, name=f"{self.name}.{name}" if name else self.name)

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
        self._live: dict[str, Context] = {}
        self._contracts: dict[str, Signal[tuple[Context, ...]]] = {}
        self._slots = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> Kernel:
        return self

    # -- configuration and lifecycle ---------------------------------------------------

    def instantiate(
        self, factory: type[Any], name: str | None = None, properties: Mapping[str, Any] | None = None
    ) -> str:
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
        self._check_known(state or {})
        order = self._plan(self._specs)
        self._transition(dict(self._specs), order, state or {}, commit=lambda: setattr(self, "booted", True))
        return order

    def shutdown(self) -> None:
        """Tear every instance down, consumers first. Declarations stay, so boot() starts them again."""
        self.booted = False
        self._teardown_all(list(self._live))

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
        self._transition(planned, order, {})
        return order

    def hot_remove(self, *names: str) -> None:
        """Deactivate and forget instances, consumers first; refused if one left would lose a must-have."""
        self._check_known(dict.fromkeys(names))
        try:
            self._plan({n: s for n, s in self._specs.items() if n not in names})
        except MissingProviderError as exc:
            raise MissingProviderError(f"cannot remove {', '.join(map(repr, names))}: {exc}") from None
        for name in names:
            self._specs.pop(name, None)
            self.bus.clear_policy(name)
        self._teardown_all([n for n in names if n in self._live])

    def hot_update(self, new_factory: type[Any]) -> list[str]:
        """Replace every instance of the component named like `new_factory`, carrying its state over.

        Per instance: snapshot -> detach the old -> new instance -> activate -> restore -> effects start;
        once all succeeded the old instances are stopped. If any new instance fails, the old ones
        are put back as they were.
        """
        meta = meta_of(new_factory)
        names = [n for n, s in self._specs.items() if meta_of(s.factory).name == meta.name]
        if not names:
            raise UnknownComponentError(f"no instance of component {meta.name!r} to update")
        planned = {**self._specs, **{n: replace(self._specs[n], factory=new_factory) for n in names}}
        order = [n for n in self._plan(planned) if n in names]
        if self.booted:
            self._transition(planned, order, {})
        else:
            self._specs = planned
        return order

    def snapshot(self) -> dict[str, Any]:
        """Every live instance's state, by instance name (a deep copy: later changes do not leak in)."""
        return {name: self._snapshot(self._live[name]) for name in self.names()}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Rebuild the named instances from `state` (restored before their effects run); all or nothing."""
        if not self.booted:
            raise ComponentError("restore() needs a booted kernel; pass the state to boot(state=...) instead")
        self._check_known(state)
        self._transition(dict(self._specs), [n for n in self._plan(self._specs) if n in state], state)

    # -- use ---------------------------------------------------------------------------

    def invoke(self, address: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.bus.invoke(address, params)

    def publish(self, topic: str, data: Any = None, *, caller: str | None = None) -> None:
        self.bus.publish(topic, data, caller=caller)

    def set_policy(self, name: str, *, audit: bool = False, publish_allow: Sequence[str] | None = None) -> None:
        self._check_known({name: None})
        if isinstance(publish_allow, str):
            raise ComponentError(f"publish_allow of {name!r} must be a list of patterns, not {publish_allow!r}")
        allow = None if publish_allow is None else tuple(publish_allow)
        self.bus.set_policy(name, Policy(audit=audit, publish_allow=allow))

    @property
    def audit_log(self) -> list[dict[str, Any]]:
        return self.bus.audit_log

    def instance(self, name: str) -> Any:
        """The live component object called `name`."""
        if name not in self._live:
            raise UnknownComponentError(f"no live component named {name!r} (live: {', '.join(self.names()) or 'none'})")
        return self._live[name]._obj

    def names(self) -> list[str]:
        """Live instance names in activation order."""
        return sorted(self._live, key=lambda n: self._live[n]._slot)

    def operations(self) -> list[str]:
        return self.bus.operations()

    # -- planning ----------------------------------------------------------------------

    def _spec(self, spec: InstanceSpec) -> InstanceSpec:
        name = check_name(spec.name or meta_of(spec.factory).name, "instance")
        if not isinstance(spec.properties, Mapping):
            raise ComponentError(f"properties of {name!r} must be a mapping")
        if spec.properties.get("target") is not None:  # no dots: scoped keys cannot reach another target
            check_name(spec.properties["target"], f"target of {name!r}")
        return InstanceSpec(spec.factory, name, dict(spec.properties))

    def _check_known(self, names: Mapping[str, Any]) -> None:
        unknown = [n for n in names if n not in self._specs]
        if unknown:
            known = ", ".join(self._specs) or "none"
            raise UnknownComponentError(f"no component named {', '.join(map(repr, unknown))} (known: {known})")

    def _plan(self, specs: Mapping[str, InstanceSpec]) -> list[str]:
        """Activation order of a configuration (providers first, ties by name), or why it is invalid."""
        metas = {n: meta_of(specs[n].factory) for n in sorted(specs)}
        providers: dict[str, list[str]] = {}
        targets: dict[tuple[str, Any], str] = {}
        for n, m in metas.items():
            for contract in m.provides:
                providers.setdefault(contract, []).append(n)
            target = specs[n].properties.get("target", m.properties.get("target"))
            if target is not None and targets.setdefault((m.name, target), n) != n:
                raise ComponentError(f"{targets[(m.name, target)]!r} and {n!r} both serve target {target!r}")
        deps: dict[str, set[str]] = {}
        missing: list[str] = []
        for n, m in metas.items():
            deps[n] = set()
            for req_name, req in m.requires.items():
                found = [p for p in providers.get(req.contract, []) if p != n]
                deps[n].update(found)
                if req.kind == "one" and not found:
                    missing.append(f"{n!r} requires {req.contract!r} (as {req_name!r}) but no component provides it")
        if missing:
            raise MissingProviderError("; ".join(missing))
        order: list[str] = []
        placed: set[str] = set()
        while len(order) < len(deps):
            todo = [n for n in deps if n not in placed]
            ready = [n for n in todo if deps[n] <= placed]
            if not ready:
                # Each stuck instance waits on another stuck one, so following dependencies must loop.
                path = [todo[0]]
                while path.count(path[-1]) < 2:
                    path.append(min(deps[path[-1]] - placed))
                cycle = " -> ".join(path[path.index(path[-1]) :])
                raise CyclicRequirementError(f"cyclic requirements: {cycle} (each requires what the next provides)")
            order.append(ready[0])
            placed.add(ready[0])
        return order

    # -- building and tearing down instances ---------------------------------------------
    #
    # A change moves in three steps. _plan_change decides and snapshots; nothing moves yet.
    # _apply builds the new instances in order; an instance being replaced is only detached
    # (unprovided, unrouted, unsubscribed), never stopped, so _undo can put the very same
    # object back with its state without calling any of its hooks. Only a change that applied
    # completely stops the replaced instances (_retire).

    def _transition(
        self,
        specs: dict[str, InstanceSpec],
        names: list[str],
        states: Mapping[str, Any],
        commit: Callable[[], None] = lambda: None,
    ) -> None:
        """Move to configuration `specs` by (re)building `names` in order; all or nothing."""
        plan = self._plan_change(specs, names, states)
        applied: list[str] = []
        error: BaseException | None = None
        try:
            with self.rt.batch():
                try:
                    for name in plan.names:
                        applied.append(name)
                        self._apply(plan, name)
                except BaseException as exc:
                    error = self._undo(plan, applied, self._failure(plan, applied, exc))
                else:
                    # Committed before the batch flushes: a dependent's effect failing in that flush is
                    # its own error, raised after, and must find the kernel already in the new configuration.
                    self._specs = specs
                    commit()
                    error = self._retire(plan)
        except BaseException as flush_error:  # only the flush can raise here; the change's own error comes first
            if error is None:
                raise
            raise _note(error, [flush_error], "in the flush after it")
        if error is not None:
            raise error

    def _plan_change(self, specs: dict[str, InstanceSpec], names: list[str], states: Mapping[str, Any]) -> _Change:
        replaced = {n: self._live[n] for n in names if n in self._live}
        # A rebuilt instance without a given state carries its own over (a snapshot hook may refuse: nothing moved).
        carried = {n: self._snapshot(ctx) for n, ctx in replaced.items() if n not in states}
        return _Change(specs, names, {**carried, **states}, replaced)

    def _apply(self, plan: _Change, name: str) -> None:
        old = plan.replaced.get(name)
        if old is None:
            self._slots += 1
            slot, order = self._slots, []
        else:
            self._detach(old)
            slot, order = old._slot, _effect_order(old)
        self._install(plan.specs[name], plan.states.get(name, _NO_STATE), slot, order)

    def _failure(self, plan: _Change, applied: list[str], exc: BaseException) -> BaseException:
        if not isinstance(exc, Exception):
            return exc  # an interrupt stays what it is; the change is still undone
        name = applied[-1]
        meta = meta_of(plan.specs[name].factory)
        failure = ActivationError(
            f"activating {name!r} as {meta.name} {meta.version} failed: {exc!r}; "
            f"rolled back: {', '.join(reversed(applied))}"
        )
        failure.__cause__ = exc
        return failure

    def _undo(self, plan: _Change, applied: list[str], error: BaseException) -> BaseException:
        """Take back every applied step, newest first. A failing step does not stop the others."""
        problems: list[BaseException] = []
        for name in reversed(applied):
            new = self._live.get(name)
            if new is not None:
                problems += self._teardown(new)
            old = plan.replaced.get(name)
            if old is not None:
                self._connect(old)
        return _note(error, problems)

    def _retire(self, plan: _Change) -> BaseException | None:
        """Stop the instances the committed change replaced, consumers first. The change stands either way."""
        failed: list[BaseException] = []
        for name in reversed(plan.names):
            if name in plan.replaced:
                error = collected(self._shutdown(plan.replaced[name]), f"teardowns of {name!r}")
                if error is not None:
                    failed.append(error)
        cause = collected(failed, "replaced instances' teardowns")
        if cause is None or not isinstance(cause, Exception):
            return cause  # nothing, or an interrupt
        error = ActivationError(
            f"the change to {', '.join(map(repr, plan.names))} is in place, "
            f"but stopping the instances it replaced failed: {cause!r}"
        )
        error.__cause__ = cause
        return error

    def _install(self, spec: InstanceSpec, state: Any, slot: int, effect_order: Sequence[int] = ()) -> Context:
        ctx = Context(self, spec, slot)
        meta, rt, name = ctx.meta, self.rt, spec.name
        factory: Any = spec.factory
        obj = ctx._obj = factory.__new__(factory)
        obj.ctx = ctx  # before __init__, so a constructor may already create signals through ctx
        try:
            factory.__init__(obj)
            for req_name, req in meta.requires.items():
                ctx._deps[req_name] = rt.computed(_injector(self, ctx, req), name=f"{name}<-{req_name}")
            for attr in meta.computeds:
                ctx._computeds[attr] = rt.computed(partial(getattr(factory, attr).fn, obj), name=f"{name}.{attr}")
            if callable(getattr(obj, "activate", None)):
                obj.activate()
            ctx._activated = True  # deactivate() only pairs with an activate() that completed
            if state is not _NO_STATE:
                self._restore(ctx, state)
            for attr in meta.effects:  # after restore: a first run must already see the restored state
                ctx._effects.append(rt.effect(getattr(obj, attr), name=f"{name}.{attr}"))
            _take_flush_places(rt, ctx._effects, effect_order)
            self._connect(ctx)
            self._log(f"activated {name} ({meta.name} {meta.version})")
        except BaseException as exc:
            raise _note(exc, self._teardown(ctx))
        return ctx

    def _connect(self, ctx: Context) -> None:
        """Make an activated instance reachable: live, subscribed, routed and providing. Runs no user code."""
        obj, meta, name = ctx._obj, ctx.meta, ctx.name
        for i, (pattern, attr) in enumerate(meta.subscriptions):
            self.bus.subscribe(name, pattern, getattr(obj, attr), (ctx._slot, i))
        ops = {op: getattr(obj, op) for op in meta.operations}
        self.bus.add_routes(name, meta.name, ctx.properties.get("target"), ops)
        for contract in meta.provides:
            sig = self._contract(contract)
            sig.set(tuple(sorted((*sig.peek(), ctx), key=lambda c: c.name)))
        self._live[name] = ctx

    def _detach(self, ctx: Context) -> None:
        """The inverse of _connect: unreachable, but still running. Runs no user code."""
        if self._live.get(ctx.name) is ctx:
            del self._live[ctx.name]
        for contract in ctx.meta.provides:
            sig = self._contract(contract)
            sig.set(tuple(c for c in sig.peek() if c is not ctx))
        self.bus.remove(ctx.name)

    def _shutdown(self, ctx: Context) -> list[BaseException]:
        """Dispose effects, deactivate, dispose computeds. Returns errors, never stops early."""
        errors: list[BaseException] = []
        hooks: list[Callable[[], object]] = [e.dispose for e in reversed(ctx._effects)]
        if ctx._activated and callable(getattr(ctx._obj, "deactivate", None)):
            hooks.append(ctx._obj.deactivate)
        hooks += [node.dispose for node in (*ctx._computeds.values(), *ctx._deps.values())]
        hooks.append(partial(self._log, f"deactivated {ctx.name}"))
        for hook in hooks:
            try:
                hook()
            except BaseException as exc:  # an interrupt too: it is raised once the instance is down
                errors.append(exc)
        return errors

    def _teardown(self, ctx: Context) -> list[BaseException]:
        self._detach(ctx)
        return self._shutdown(ctx)

    def _teardown_all(self, names: list[str]) -> None:
        errors: list[BaseException] = []
        with self.rt.batch():
            for name in reversed(self._plan({n: self._live[n]._spec for n in self._live})):
                if name in names:
                    errors += self._teardown(self._live[name])
        raise_all(errors, "teardowns")

    def _contract(self, contract: str) -> Signal[tuple[Context, ...]]:
        if contract not in self._contracts:
            self._contracts[contract] = self.rt.signal((), name=f"providers of {contract}")
        return self._contracts[contract]

    # -- state -------------------------------------------------------------------------

    def _snapshot(self, ctx: Context) -> Any:
        obj = ctx._obj
        if callable(getattr(obj, "snapshot", None)):
            return self._copy(obj.snapshot())
        # No hooks: the plain instance attributes are the state; signals by their value.
        return self._copy(
            {
                k: v.peek() if isinstance(v, Signal) else v
                for k, v in vars(obj).items()
                if k != "ctx" and not isinstance(v, (Computed, Effect))
            }
        )

    def _restore(self, ctx: Context, state: Any) -> None:
        state = self._copy(state)  # the caller's snapshot stays intact for a later rollback
        obj = ctx._obj
        if callable(getattr(obj, "restore", None)):
            obj.restore(state)
        elif not isinstance(state, dict):
            raise ComponentError(f"state for {ctx.name!r} must be a dict of attributes, got {type(state).__name__}")
        else:
            for k, v in state.items():
                current = vars(obj).get(k)
                if isinstance(current, Signal):
                    current.set(v)
                else:
                    setattr(obj, k, v)

    def _copy(self, value: Any) -> Any:
        # Components and the runtime are referred to by state, never part of it: copy them as themselves.
        keep: list[object] = [self.rt, *(ctx._obj for ctx in self._live.values())]
        return copy.deepcopy(value, {id(x): x for x in keep})

    def _log(self, line: str) -> None:
        if self._logger is not None:
            self._logger(line)


def _injector(kernel: Kernel, consumer: Context, req: Requires) -> Callable[[], Any]:
    """The body of the computed that holds what `consumer` gets for `req`."""
    providers = kernel._contract(req.contract)

    def inject() -> Any:
        found = [p for p in providers.get() if p is not consumer]
        if req.kind == "map":
            by_key: dict[Any, Any] = {}
            for p in found:
                key = p.properties.get(req.key or "")
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


def _view(provider: Context, consumer: Context) -> Any:
    # A provider may hand each consumer its own scoped view (credentials, storage, logger).
    for_consumer = getattr(provider._obj, "for_consumer", None)
    return for_consumer(consumer) if callable(for_consumer) else provider._obj


def _effect_order(ctx: Context) -> list[int]:
    """Where the instance's effects stand in the reactive core's flush order (creation order)."""
    return [ctx.rt.flush_order(e) for e in ctx._effects]


def _take_flush_places(rt: Runtime, effects: Sequence[Effect], places: Sequence[int]) -> None:
    # A rebuilt instance takes its predecessor's place in the flush order, as on the bus.
    for new_effect, place in zip(effects, places):
        rt.set_flush_order(new_effect, place)


def _note(exc: BaseException, errors: Sequence[BaseException], when: str = "while rolling back") -> BaseException:
    """Note on `exc` what else went wrong; an interrupt among it is what gets raised instead."""
    for e in errors:
        exc.add_note(f"{when}: {e!r}")
    interrupt = next((e for e in errors if not isinstance(e, Exception)), None)
    if interrupt is not None and isinstance(exc, Exception):
        interrupt.add_note(f"raised {when} after: {exc!r}")
        return interrupt
    return exc
