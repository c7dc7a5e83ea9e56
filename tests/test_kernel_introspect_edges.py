"""kernel_graph edges: owners found from names, and one edge per source however often it is read."""

from __future__ import annotations

import asyncio

from glitchless.fakes import simulate
from glitchless.kernel import Component, Kernel, Runtime, component, computed, effect
from glitchless.kernel.introspect import Graph, kernel_graph


def booted_graph(*instances: tuple[type[Component], str]) -> Graph:
    async def main() -> Graph:
        k = Kernel(runtime=Runtime(scheduler=asyncio.get_running_loop()))
        for factory, name in instances:
            k.instantiate(factory, name=name)
        k.boot()
        await asyncio.sleep(1)  # every async first step has run
        return kernel_graph(k)

    return simulate(main)


@component("shop", provides=["IShop"])
class Shop(Component):
    def __init__(self) -> None:
        self.count = self.ctx.signal(1, name="count")


@component("till", requires={"shop": "IShop"})
class Till(Component):
    @effect
    def show(self) -> None:
        self.ctx.use("shop").count.get()


def test_a_kernel_node_with_spaces_in_its_name_is_not_given_to_the_instance_named_like_its_first_word() -> None:
    g = booted_graph((Shop, "providers"), (Till, "till"))
    assert g.owners == ["providers", "till"]
    assert [(n.kind, n.name, n.owner) for n in g.nodes] == [
        ("signal", "providers.count", "providers"),
        ("computed", "till<-shop", "till"),
        ("effect", "till.show", "till"),
        ("signal", "providers of IShop", None),
    ]


@component("rereader")
class Rereader(Component):
    def __init__(self) -> None:
        self.value = self.ctx.signal(3, name="value")

    @computed
    def twice(self) -> int:
        return self.value.get() + self.value.get()

    @effect
    def show(self) -> None:
        self.twice()
        self.twice()


def test_a_source_read_several_times_in_one_run_gives_one_edge() -> None:
    g = booted_graph((Rereader, "rereader"))
    names = {n.id: n.name for n in g.nodes}
    assert [(names[a], names[b]) for a, b in g.edges] == [
        ("rereader.value", "rereader.twice"),
        ("rereader.twice", "rereader.show"),
    ]
