"""kernel_graph: the live reactive graph of a kernel, as `glitchless graph` draws it."""

from __future__ import annotations

import asyncio
from typing import Any

from glitchless.fakes import simulate
from glitchless.kernel import Component, Config, Kernel, Runtime, component, computed, effect
from glitchless.kernel.introspect import Graph, GraphNode, kernel_graph


@component("store", provides=["IStore"])
class Store(Component):
    def __init__(self) -> None:
        self.count = self.ctx.signal(1, name="count")
        self.label = "not a node"

    @computed
    def doubled(self) -> int:
        return self.count.get() * 2

    @effect
    def log(self) -> None:
        self.doubled()


@component("view", requires={"store": "IStore"})
class View(Component):
    def __init__(self) -> None:
        self.loose = self.ctx.rt.signal(5)  # unnamed: shown by its repr

    def activate(self) -> None:
        async def watch() -> None:
            self.ctx.use("store").count.get()

        self.job = self.ctx.rt.effect(watch)  # an attribute: labelled by the attribute name
        self.ctx.effect(self.show, name="show")
        self.ctx.effect(self.show_async)  # type: ignore[arg-type]  # an async ctx effect: the instance name

    async def show_async(self) -> None:
        self.loose.get()

    def show(self) -> None:
        self.ctx.use("store").doubled()
        self.loose.get()


def graph_of_booted_kernel() -> Graph:
    async def main() -> Graph:
        k = Kernel(runtime=Runtime(scheduler=asyncio.get_running_loop()))
        k.instantiate(View)
        k.instantiate(Store)
        k.boot()
        await asyncio.sleep(1)  # every async first step has run
        return kernel_graph(k)

    return simulate(main)


def test_kernel_graph_lists_every_instance_node_with_its_kind_name_and_owner() -> None:
    g = graph_of_booted_kernel()
    assert g.owners == ["store", "view"]
    assert g.nodes == [
        GraphNode("n0", "signal", "store.count", "store"),
        GraphNode("n1", "computed", "store.doubled", "store"),
        GraphNode("n2", "effect", "store.log", "store"),
        GraphNode("n3", "signal", "Signal(=5)", "view"),
        GraphNode("n4", "async effect", "job", "view"),
        GraphNode("n5", "computed", "view<-store", "view"),
        GraphNode("n6", "effect", "view.show", "view"),
        GraphNode("n7", "async effect", "view", "view"),
        GraphNode("n8", "signal", "providers of IStore", None),
    ]


def test_kernel_graph_edges_run_from_each_source_to_its_reader() -> None:
    g = graph_of_booted_kernel()
    assert g.edges == [
        ("n0", "n1"),  # store.count -> store.doubled
        ("n1", "n2"),  # store.doubled -> store.log
        ("n5", "n4"),  # view<-store -> job
        ("n0", "n4"),  # store.count -> job
        ("n8", "n5"),  # providers of IStore -> view<-store
        ("n5", "n6"),
        ("n1", "n6"),
        ("n3", "n6"),
        ("n3", "n7"),
    ]


def test_a_node_found_upstream_is_owned_by_the_instance_its_name_starts_with() -> None:
    @component("reader", requires={"config": "IConfig"})
    class Reader(Component):
        def activate(self) -> None:
            self.ctx.effect(lambda: self.ctx.use("config").get("a.b"), name="peeks")

    k = Kernel()
    k.instantiate(Config, properties={"defaults": {"a": {"b": 1}}})
    k.instantiate(Reader)
    k.boot()
    g = kernel_graph(k)
    assert g.owners == ["config", "reader"]
    assert g.nodes == [
        GraphNode("n0", "computed", "reader<-config", "reader"),
        GraphNode("n1", "effect", "reader.peeks", "reader"),
        GraphNode("n2", "signal", "providers of IConfig", None),
        GraphNode("n3", "signal", "config.a.b", "config"),  # the config's own signal, kept in a dict
    ]
    assert g.edges == [("n2", "n0"), ("n0", "n1"), ("n3", "n1")]


def test_an_empty_kernel_has_an_empty_graph() -> None:
    g = kernel_graph(Kernel())
    assert (g.owners, g.nodes, g.edges) == ([], [], [])
