"""The reference model: evaluation from the signals, staleness, and the flush rule."""

from glitchless.properties.model import (
    AddComputed,
    AddEffect,
    AddSignal,
    Copy,
    EffectWrite,
    ReferenceModel,
    apply,
    same,
)


def build(*nodes):
    m = ReferenceModel(3)
    for n in nodes:
        m.add(n)
    return m


def test_functions_of_the_closed_set_read_only_what_they_need():
    values = [0, 2, 1]
    seen = []

    def read(i):
        seen.append(i)
        return values[i]

    assert apply("if", 3, read, 3) == 1 and seen == [0, 2]
    seen.clear()
    assert apply("coalesce", 3, read, 3) == 2 and seen == [0, 1]
    assert apply("sum", 3, lambda i: values[i], 3) == 0
    assert apply("parity", 3, lambda i: values[i], 3) == 1
    assert apply("max", 3, lambda i: values[i], 3) == 2
    assert apply("min", 3, lambda i: values[i], 3) == 0


def test_evaluate_recomputes_everything_from_the_signals():
    m = build(AddSignal(1), AddSignal(2), AddComputed("sum", (0, 1)), AddComputed("if", (0, 2, 1)))
    assert m.evaluate() == [1, 2, 0, 0]
    m.write(0, 0)
    assert m.evaluate() == [0, 2, 2, 2]


def test_equal_writes_change_nothing_including_equal_copies():
    m = build(AddSignal(1))
    assert not m.write(0, 1)
    assert not m.write(0, Copy(1))
    assert m.signals[0] is 1  # noqa: F632 - the object is kept
    assert same(Copy(1), 1) and Copy(1) is not 1  # noqa: F632


def test_nodes_may_only_read_earlier_signals_and_computeds():
    m = build(AddSignal(0), AddEffect("sum", (0,)))
    for bad in (AddComputed("sum", (2,)), AddComputed("sum", (1,)), AddEffect("sum", (0,), write=EffectWrite(1, "const", 1))):
        try:
            m.add(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} accepted")


def test_an_effect_is_stale_only_when_a_value_it_read_changed():
    m = build(AddSignal(0), AddSignal(0), AddComputed("max", (0, 1)), AddEffect("sum", (2,)))
    obs = {}
    runs = m.flush(obs, first=3)
    assert [(r.effect, r.reads) for r in runs] == [(3, ((2, 0),))]
    m.write(0, 1)
    assert m.is_stale(obs[3])  # c2 is now 1
    m.write(0, 0)
    assert not m.is_stale(obs[3])  # back to 0: what e3 read is current again
    m.write(1, 0)
    assert not m.is_stale(obs[3])


def test_flush_runs_rounds_in_creation_order_and_settles_self_writes():
    # e2 reads s0 and clamps it to 1; e3 reads s0. Writing 2: round 1 runs e2 (sees 2, writes 1)
    # and e3 (sees 1, already the new value); round 2 re-runs e2, which now sees 1 and writes nothing.
    m = build(AddSignal(0), AddSignal(0), AddEffect("sum", (0,), write=EffectWrite(0, "clamp", 1)), AddEffect("sum", (0,)))
    obs = {}
    m.flush(obs, first=2)
    m.flush(obs, first=3)
    m.write(0, 2)
    runs = m.flush(obs)
    assert [(r.effect, r.reads) for r in runs] == [(2, ((0, 2), (0, 2))), (3, ((0, 1),)), (2, ((0, 1), (0, 1)))]
    assert m.signals[0] == 1
    assert not m.round_members(obs)


def test_dynamic_reads_are_what_an_effect_depends_on():
    m = build(AddSignal(0), AddSignal(0), AddSignal(0), AddEffect("if", (0, 1, 2)))
    obs = {}
    m.flush(obs, first=3)
    assert [n for n, _ in obs[3]] == [0, 2]
    m.write(1, 1)  # not read while s0 is 0
    assert not m.round_members(obs)
    m.write(2, 1)
    assert m.round_members(obs) == [3]


def test_disposed_effects_never_run():
    m = build(AddSignal(0), AddEffect("sum", (0,)))
    obs = {}
    m.flush(obs, first=1)
    m.dispose(1)
    m.write(0, 1)
    assert m.flush(obs) == []
