"""Read-only introspection of a kernel's reactive graph, for tools (`glitchless graph`).

The one place outside the core that reads its private fields: nothing here changes a node.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from glitchless.kernel.async_effect import AsyncEffect
from glitchless.kernel.reactive import Computed, Effect, Signal

if TYPE_CHECKING:
    from glitchless.kernel.kernel import Kernel

NodeKind = Literal["signal", "computed", "effect", "async effect"]
Node = Signal[Any] | Computed[Any] | Effect


@dataclass(frozen=True)
class GraphNode:
    id: str
    kind: NodeKind
    name: str
    owner: str | None  # the instance it belongs to, None for the kernel's own nodes


@dataclass
class Graph:
    """Nodes in discovery order and edges from source to dependent."""

    owners: list[str] = field(default_factory=list)  # live instances, in activation order
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)


def kernel_graph(kernel: Kernel) -> Graph:
    """The live reactive graph of `kernel`: every instance's nodes and everything upstream of them."""
    graph = Graph(owners=kernel.names())
    ids: dict[int, str] = {}
    kinds: dict[int, NodeKind] = {}
    queue: deque[tuple[Node, str | None, str | None]] = deque()

    def visit(node: Node, owner: str | None, label: str | None = None, kind: NodeKind | None = None) -> None:
        if id(node) in ids:
            return
        ids[id(node)] = f"n{len(ids)}"
        kinds[id(node)] = kind or _kind(node)
        queue.append((node, owner, label))

    for name in graph.owners:
        ctx = kernel._live[name]
        for attr, value in vars(ctx._obj).items():
            if isinstance(value, AsyncEffect):
                visit(value._watch, name, value.name or attr, "async effect")
            elif isinstance(value, (Signal, Computed, Effect)):
                visit(value, name)
        for computed in (*ctx._deps.values(), *ctx._computeds.values()):
            visit(computed, name)
        for e in ctx._effects:
            if isinstance(e, AsyncEffect):
                visit(e._watch, name, e.name, "async effect")
            else:
                visit(e, name)

    live = set(graph.owners)
    while queue:
        node, owner, label = queue.popleft()
        name = label or node.name or repr(node)
        if owner is None:
            prefix = name.split("<-")[0].split(".")[0]
            owner = prefix if prefix in live else None
        graph.nodes.append(GraphNode(ids[id(node)], kinds[id(node)], name, owner))
        if isinstance(node, (Computed, Effect)):
            for src in node._sources:
                visit(src, None)
                graph.edges.append((ids[id(src)], ids[id(node)]))
    return graph


def _kind(node: Node) -> NodeKind:
    if isinstance(node, Signal):
        return "signal"
    if isinstance(node, Computed):
        return "computed"
    return "effect"
