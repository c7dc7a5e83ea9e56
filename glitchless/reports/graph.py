"""Reactive-graph coverage: which operations, subscriptions, effects and computeds a run exercised.

Line coverage says a handler's lines ran; it cannot say that `cart.checkout` was never
invoked through the bus, or that no test ever published a topic `billing` subscribes to.
A `GraphRecorder` answers that. While active it observes the four places where the
kernel hands a component's members to the reactive core and the bus (`Runtime.computed`,
`Runtime.effect`, `Bus.subscribe`, `Bus.add_routes`) and wraps each member it is given so
that a call is counted. Nothing in the kernel changes; deactivating puts the four
methods back.

The universe ("missed" = declared or created, never run) is the members every component
class of the measured packages declares, plus the named nodes created during the run.
Names: operations `component.op`, subscriptions `component.handler[pattern]`, effects and
computeds `component.member` (or the node's own name for nodes made by hand).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import pkgutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from glitchless.kernel.bus import Bus
from glitchless.kernel.components import ComponentMeta
from glitchless.kernel.reactive import Runtime

KINDS = ("operations", "subscriptions", "effects", "computeds")
_META = "__glitchless_component__"


def _unwrap(fn: Any) -> Any:
    """The member itself, under another recorder's wrapper (recorders can nest)."""
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    return fn


def _module_of(fn: Any) -> str:
    fn = _unwrap(fn)
    target = getattr(fn, "func", fn)  # functools.partial
    owner = getattr(target, "__self__", None)
    if owner is not None and not isinstance(owner, type):
        return type(owner).__module__
    return str(getattr(target, "__module__", "") or "")


def _component_of(fn: Any) -> tuple[str, str] | None:
    """(component name, member name) for a component's bound method or per-instance computed."""
    fn = _unwrap(fn)
    target = getattr(fn, "func", fn)
    obj = getattr(target, "__self__", None)
    if obj is None and isinstance(fn, functools.partial) and fn.args:
        obj = fn.args[0]  # a @computed: partial(method.fn, instance)
    meta = getattr(getattr(obj, "ctx", None), "meta", None)
    if not isinstance(meta, ComponentMeta):
        return None
    return meta.name, getattr(target, "__name__", "?")


class GraphRecorder:
    """Counts graph members of the packages `owns` accepts while active (a context manager)."""

    def __init__(self, owns: Callable[[str], bool]) -> None:
        self._owns = owns
        self.covered: dict[str, set[str]] = {k: set() for k in KINDS}
        self.created: dict[str, set[str]] = {k: set() for k in KINDS}
        self._saved: list[tuple[type, str, Any]] = []

    # -- what is recorded ------------------------------------------------------------

    def _watch(self, kind: str, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        self.created[kind].add(name)
        hits = self.covered[kind]
        if inspect.iscoroutinefunction(fn):

            async def run_async(*args: Any, **kwargs: Any) -> Any:
                hits.add(name)
                return await fn(*args, **kwargs)

            run_async.__wrapped__ = fn  # type: ignore[attr-defined]
            return run_async

        def run(*args: Any, **kwargs: Any) -> Any:
            hits.add(name)
            return fn(*args, **kwargs)

        run.__wrapped__ = fn  # type: ignore[attr-defined]
        return run

    def _node_name(self, fn: Any, given: str | None) -> str | None:
        """The name a computed/effect is counted under, or None if it is not the project's."""
        if not self._owns(_module_of(fn)):
            return None
        member = _component_of(fn)
        if member is not None:
            return f"{member[0]}.{member[1]}"
        if not given or "<-" in given:  # unnamed, or the kernel's own injection node
            return None
        return given

    # -- activation --------------------------------------------------------------------

    def __enter__(self) -> GraphRecorder:
        self.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.deactivate()

    def activate(self) -> None:
        if self._saved:
            raise RuntimeError("this GraphRecorder is already active")
        rec = self
        computed, effect = Runtime.computed, Runtime.effect
        subscribe, add_routes = Bus.subscribe, Bus.add_routes

        def rt_computed(rt: Runtime, fn: Callable[[], Any], **kw: Any) -> Any:
            name = rec._node_name(fn, kw.get("name"))
            return computed(rt, fn if name is None else rec._watch("computeds", name, fn), **kw)

        def rt_effect(rt: Runtime, fn: Any, **kw: Any) -> Any:
            name = rec._node_name(fn, kw.get("name"))
            return effect(rt, fn if name is None else rec._watch("effects", name, fn), **kw)

        def bus_subscribe(bus: Bus, owner: str, pattern: str, handler: Any, order: tuple[int, int]) -> None:
            member = _component_of(handler) if rec._owns(_module_of(handler)) else None
            if member is not None:
                handler = rec._watch("subscriptions", f"{member[0]}.{member[1]}[{pattern}]", handler)
            subscribe(bus, owner, pattern, handler, order)

        def bus_add_routes(bus: Bus, owner: str, factory: str, target: str | None, ops: Any) -> None:
            wrapped = {
                op: rec._watch("operations", f"{factory}.{op}", fn) if rec._owns(_module_of(fn)) else fn
                for op, fn in ops.items()
            }
            add_routes(bus, owner, factory, target, wrapped)

        for cls, attr, new in (
            (Runtime, "computed", rt_computed),
            (Runtime, "effect", rt_effect),
            (Bus, "subscribe", bus_subscribe),
            (Bus, "add_routes", bus_add_routes),
        ):
            self._saved.append((cls, attr, vars(cls)[attr]))
            setattr(cls, attr, new)

    def deactivate(self) -> None:
        for cls, attr, old in reversed(self._saved):
            setattr(cls, attr, old)
        self._saved.clear()

    # -- result ------------------------------------------------------------------------

    def result(self, declared: dict[str, set[str]]) -> dict[str, dict[str, list[str]]]:
        out = {}
        for kind in KINDS:
            universe = declared.get(kind, set()) | self.created[kind] | self.covered[kind]
            out[kind] = {
                "covered": sorted(self.covered[kind]),
                "missed": sorted(universe - self.covered[kind]),
            }
        return out


def declared_members(packages: Iterable[str], *, import_all: bool = True) -> dict[str, set[str]]:
    """What the component classes in `packages` declare, by kind (importing their modules first)."""
    packages = list(packages)
    if import_all:
        for pkg in packages:
            for name in _modules_of(pkg):
                try:
                    importlib.import_module(name)
                except Exception:  # a module that cannot import declares nothing we could count
                    continue
    out: dict[str, set[str]] = {k: set() for k in KINDS}
    for modname, module in list(sys.modules.items()):
        if module is None or not any(modname == p or modname.startswith(p + ".") for p in packages):
            continue
        for value in list(vars(module).values()):
            meta = vars(value).get(_META) if isinstance(value, type) else None
            if not isinstance(meta, ComponentMeta) or value.__module__ != modname:
                continue
            out["operations"].update(f"{meta.name}.{op}" for op in meta.operations)
            out["subscriptions"].update(f"{meta.name}.{attr}[{p}]" for p, attr in meta.subscriptions)
            out["effects"].update(f"{meta.name}.{e}" for e in meta.effects)
            out["computeds"].update(f"{meta.name}.{c}" for c in meta.computeds)
    return out


def _modules_of(package: str) -> list[str]:
    try:
        root = importlib.import_module(package)
    except Exception:
        return []
    names = [package]
    path = getattr(root, "__path__", None)
    if path is not None:
        names += [m.name for m in pkgutil.walk_packages(path, prefix=package + ".")]
    return names


def write(path: Path, data: dict[str, dict[str, list[str]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def summary_line(data: dict[str, Any]) -> str:
    parts = []
    for kind in KINDS:
        d = data.get(kind, {"covered": [], "missed": []})
        total = len(d["covered"]) + len(d["missed"])
        parts.append(f"{kind} {len(d['covered'])}/{total}")
    return "graph coverage: " + ", ".join(parts)
