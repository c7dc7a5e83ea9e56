"""The checker on hand-written traces: what it accepts and what it flags.

A `Tracer` produces the events an instrumented kernel would log when it runs
effects in a chosen order, so each test states one schedule and the verdict.
"""

from glitchless.properties.checker import Begin, End, Mark, Monitor, ReadBegin, ReadEnd, Write
from glitchless.properties.model import AddComputed, AddEffect, AddSignal, EffectWrite, ReferenceModel


class Tracer:
    def __init__(self, *nodes):
        self.model = ReferenceModel(3)  # the tracer's own view, to produce the values a run reads
        self.monitor = Monitor(ReferenceModel(3))
        self.nodes = nodes
        for n in nodes:
            self.model.add(n)
        self.added = 0
        self.step = 0
        self.events = []
        self._add_until(next(i for i, n in enumerate(nodes) if isinstance(n, AddEffect)) - 1)

    def _add_until(self, last):
        while self.added <= last:
            self.monitor.add_node(self.nodes[self.added])
            self.added += 1

    def run(self, e):
        r = self.model.observe(e)
        self.events.append(Begin(e))
        for n, v in r.reads:
            self.events += [ReadBegin(n, e), ReadEnd(n, v, e, "get")]
        if r.wrote is not None:
            self.events.append(Write(*r.wrote, e))
            self.model.write(*r.wrote)
        self.events.append(End(e, None))
        return self

    def create(self, e):
        self._add_until(e)
        self.events.append(Mark("create", e))
        return self.run(e)

    def write(self, s, v):
        self.events += [Write(s, v, None), Mark("flush")]
        self.model.write(s, v)
        return self

    def batch(self, *writes):
        for s, v in writes:
            self.events.append(Write(s, v, None))
            self.model.write(s, v)
        self.events.append(Mark("flush"))
        return self

    def check(self, phase="idle"):
        self.step += 1
        found = self.monitor.process(self.step, self.events, phase)
        self.events = []
        return sorted(v.label for v in found)


def graph():
    # e2 reads s0 and clamps it to 1; e3 reads c1 = parity(s0).
    t = Tracer(AddSignal(0), AddComputed("parity", (0,)), AddEffect("sum", (0,), write=EffectWrite(0, "clamp", 1)),
               AddEffect("sum", (1,)))
    assert t.create(2).check() == [] and t.create(3).check() == []
    return t


def test_the_strict_round_order_is_accepted():
    # s0 := 2: round 1 is [e2] (c1 = parity(2) = 0 is unchanged); e2 writes s0 = 1, so round 2 is [e2, e3].
    t = graph()
    assert t.write(0, 2).run(2).run(2).run(3).check() == []


def test_a_touched_effect_may_run_in_the_round_it_became_stale_in():
    # A push-pull kernel queues e3 at the start (s0 changed upstream of c1), and by e3's turn e2 has
    # written s0 = 1, so c1 = 1: e3 runs in round 1, e2 again in round 2. Also correct.
    t = graph()
    assert t.write(0, 2).run(2).run(3).run(2).check() == []


def test_running_a_later_effect_before_a_due_earlier_one_is_out_of_order():
    t = Tracer(AddSignal(0), AddEffect("sum", (0,)), AddEffect("sum", (0,)))
    assert t.create(1).check() == [] and t.create(2).check() == []
    assert t.write(0, 1).run(2).run(1).check() == ["ordering/out-of-order"]
    assert t.write(0, 2).run(1).run(2).check() == []


def test_a_missing_rerun_of_a_self_writing_effect_is_stale():
    t = graph()
    assert t.write(0, 2).run(2).run(3).check() == ["quiescence/stale-self-writing-effect"]
    t = graph()
    assert t.write(0, 2).run(2).check() == ["quiescence/stale-effect", "quiescence/stale-self-writing-effect"]


def test_runs_without_a_change_are_spurious_and_runs_in_a_batch_are_flagged():
    t = graph()
    t.events += [Write(0, 0, None), Mark("flush")]
    assert t.run(3).check() == ["ordering/missing-cutoff-equal-write"]
    t = graph()
    t.events.append(Write(0, 2, None))
    t.model.write(0, 2)
    t.run(2)  # inside the batch, before the flush mark
    t.events.append(Mark("flush"))
    assert "ordering/run-in-batch" in t.check("batch")


def test_a_transient_change_may_or_may_not_rerun_an_effect():
    def fresh():
        t = Tracer(AddSignal(0), AddEffect("sum", (0,)))
        assert t.create(1).check() == []
        return t

    assert fresh().batch((0, 1), (0, 0)).run(1).check() == []  # version-based kernels re-run
    assert fresh().batch((0, 1), (0, 0)).check() == []  # value-based ones need not


def test_a_read_that_disagrees_with_the_model_is_a_glitch():
    t = graph()
    t.events += [Write(0, 2, None), Mark("flush"), Begin(2), ReadBegin(0, 2), ReadEnd(0, 0, 2, "get")]
    t.model.write(0, 2)
    assert "glitch_freedom/inconsistent-read" in t.check()
