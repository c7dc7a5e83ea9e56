"""Kernel bugs the property work found, kept as regression tests now that they are fixed.

The first was found by the machines (glitchless fuzz --seed 4 --steps 60
--examples 3000), then reduced by hand; the cold chain was found by probing
rule 8 by hand. The foreign-thread and failed-creation findings live with
the other rules in tests/test_reactive_core.py.
"""

from glitchless.kernel import Runtime


def test_an_effect_is_not_rerun_by_its_write_to_a_signal_it_no_longer_reads():
    rt = Runtime()
    a = rt.signal(0)
    flag = rt.signal(0)
    runs = []

    def body():
        f = flag.get()
        runs.append(f)
        if not f:
            a.get()  # read only while flag is 0
        else:
            a.set(5)  # a is not read on this run

    rt.effect(body)
    flag.set(1)
    assert runs == [0, 1]


def _cold_chain(rt, length, runs):
    node = head = rt.signal(0)
    for _ in range(length):
        node = (lambda prev: rt.computed(lambda: runs.append(1) or prev.get() + 1))(node)
    return head, node


def test_the_first_read_of_a_cold_10000_deep_chain():
    rt = Runtime()
    runs = []
    head, tail = _cold_chain(rt, 10_000, runs)
    assert tail.get() == 10_000
    seen = []
    rt.effect(lambda: seen.append(tail.get()))
    head.set(1)
    assert seen == [10_000, 10_001]


def test_a_cold_chain_first_read_from_an_effect():
    rt = Runtime()
    head, tail = _cold_chain(rt, 5_000, [])
    seen = []
    rt.effect(lambda: seen.append(tail.get()))
    head.set(2)
    assert seen == [5_000, 5_002]


def test_a_shallow_cold_chain_runs_each_fn_exactly_once():
    rt = Runtime()
    runs = []
    _, tail = _cold_chain(rt, 50, runs)  # well inside the nesting bound: no deferred reads
    assert tail.get() == 50
    assert len(runs) == 50


def test_an_update_through_a_warm_10000_deep_chain_works():
    rt = Runtime()
    base = node = rt.signal(0)
    chain = []
    for _ in range(10_000):
        node = (lambda prev: rt.computed(lambda: prev.get() + 1))(node)
        chain.append(node)
    for c in chain[::100]:  # warm it from the bottom up, 100 levels at a time
        c.get()
    seen = []
    rt.effect(lambda: seen.append(node.get()))
    base.set(1)
    assert seen == [10_000, 10_001]
