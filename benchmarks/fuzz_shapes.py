"""Share of fuzz runs whose graph has a chain of depth >= 6 and a diamond joining at depth >= 4."""
import sys
import hypothesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from glitchless.properties.machine import Options, make_machine
from glitchless.properties.program import AddComputed, AddEffect

KEPT = Options(errors=False, dispose_in_runs=False, cascades=False, transient=False, equals=False, writes=False)
stats = []

def shape(specs):
    depth, up = [], []
    chain = diamond = 0
    for n, s in enumerate(specs):
        ins = s.inputs if isinstance(s, AddComputed | AddEffect) else ()
        depth.append(1 + max((depth[i] for i in ins), default=-1))
        anc = [up[i] | {i} for i in dict.fromkeys(ins)]
        up.append(set().union(*anc) if anc else set())
        chain = max(chain, depth[n])
        if any(anc[a] & anc[b] for a in range(len(anc)) for b in range(a + 1, len(anc))):
            diamond = max(diamond, depth[n])
    return chain, diamond

cls = make_machine("glitchless", options=KEPT)
def teardown(self):
    stats.append(shape(self.session.specs))
    self.session.close()
cls.teardown = teardown
hypothesis.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 0)(cls)
run_state_machine_as_test(cls, settings=settings(max_examples=int(sys.argv[1]), stateful_step_count=30, deadline=None,
                          database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
n = len(stats)
print(f"{n} runs: chain depth >= 6 in {sum(c >= 6 for c, _ in stats) / n:.0%}, "
      f"diamond joining at depth >= 4 in {sum(d >= 4 for _, d in stats) / n:.0%}, both in "
      f"{sum(c >= 6 and d >= 4 for c, d in stats) / n:.0%}")
