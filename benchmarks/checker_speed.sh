#!/bin/sh
# Old (main at 39e1e93, in its own checkout with a venv) and new property checkers, side by side, equal bounds.
# Usage: benchmarks/checker_speed.sh /path/to/old/checkout
set -e
OLD=${1:?old checkout}
(cd "$OLD" && .venv/bin/python - <<'PY'
import time
from glitchless.properties.machine import fuzz
from glitchless.properties.exhaustive import Bounds, exhaustive_check
r = fuzz("glitchless", examples=300, seed=0, shrink=False, reduce=False, report_multiple=False)
print(f"old fuzz 300 examples: {r.runs} runs in {r.seconds:.1f} s = {r.runs / r.seconds:.0f} runs/s")
b = Bounds(4, 2, 2, False)
t = time.perf_counter(); e = exhaustive_check("glitchless", b, jobs=1); s = time.perf_counter() - t
print(f"old exhaustive: {e.cases} cases in {s:.1f} s = {e.cases / s:.0f} cases/s")
PY
)
.venv/bin/python - <<'PY'
import time
from glitchless.properties.machine import Options, fuzz
from glitchless.properties.exhaustive import Bounds, exhaustive_check
kept = Options(errors=False, dispose_in_runs=False, cascades=False, transient=False, writes=False)
r = fuzz("glitchless", examples=300, seed=0, shrink=False, reduce=False, report_multiple=False, options=kept)
print(f"new fuzz 300 examples: {r.runs} runs in {r.seconds:.1f} s = {r.runs / r.seconds:.0f} runs/s")
b = Bounds(4, 2, 2, False, False)
t = time.perf_counter(); e = exhaustive_check("glitchless", b, jobs=1, shrink_failures=False); s = time.perf_counter() - t
print(f"new exhaustive: {e.cases} cases in {s:.1f} s = {e.cases / s:.0f} cases/s ({e.failing_cases} failing runs)")
PY
