"""`glitchless checker-score`: how strong the property machines are, measured with mutmut.

mutmut mutates `glitchless/kernel/reactive.py` and, for each mutant, runs only
the property machines: a fixed-budget fuzz and a small exhaustive check, both
through the entry points behind `glitchless fuzz` and `glitchless exhaustive`
(see `fuzz_failures` and `exhaustive_failures`). A mutant the machines report
a failure on is killed. The score is killed / scored, where scored leaves out
the reviewed equivalent mutants of `mutation-equivalents.toml`: an equivalent
mutant changes no behaviour, whichever tests look at it.

mutmut reads its settings from the pyproject.toml in its working directory and
copies the project into mutants/ there. So the run happens in a scratch copy
(`.checker-score/`) whose pyproject.toml carries its own [tool.mutmut]: the
results of `glitchless mutate` in mutants/ stay untouched, and mutmut's cache
in the scratch copy lets an interrupted run resume where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

from glitchless.reports.mutation import (
    EQUIVALENTS_PATH,
    MutationReport,
    collect,
    collect_statuses,
    format_summary,
    load_equivalents,
    run_mutmut,
)
from glitchless.reports.project import Project, load

SCRATCH = Path(".checker-score")
REPORT_PATH = Path("reports/checker-score.json")
SUMMARY_PATH = Path("reports/checker-score.md")
MUTATED = "glitchless/kernel/reactive.py"
# mutmut's test command: a pytest file outside the normal run (its name does not start with test_).
SELECTION = "tests/checker_score_selection.py"
GOAL_PERCENT = 90.0

# The fixed budget per mutant: about 20 CPU seconds when nothing fails, a few when the quick exhaustive tier
# (run first) fails. 1,000 examples kill six in a hundred more mutants than 100 did, at five times the cost.
FUZZ_EXAMPLES = 1000
FUZZ_SEED = 0
# The two other property machines, on the kernel parts the graph machines do not drive: async effects on the
# deterministic scheduler, and the component layer's snapshot/restore over effects and computeds.
OTHER_MACHINE_EXAMPLES = 50
# And rule 8's deep chains, where a kernel stops nesting fn calls (a second or so for these).
DEPTH_EXAMPLES = 20
# mutmut's trampolines make a level of a chain about 10 frames instead of 4: a limit that a kernel stopping
# at 100 nested fns keeps (about 1,100 frames), and one recursing through 300 to 600 levels (3,000 and more)
# overruns.
DEPTH_RECURSION_LIMIT = 2500
# (max_nodes, max_ops, max_signals, effect_writes), as glitchless.properties.exhaustive.Bounds takes them.
EXHAUSTIVE_TIERS: tuple[tuple[int, int, int, bool], ...] = ((3, 2, 2, False),)
# mutmut stops a mutant after (test time + 1 s) * multiplier * 2 CPU seconds; its default, 15, lets each
# mutant that loops forever cost minutes.
TIMEOUT_MULTIPLIER = 4.0


# -- the test command ------------------------------------------------------------
# The only functions that call the property machines. If their public entry points
# are renamed, adapt these; the rest of the score does not depend on them.


def machine_failures() -> list[str]:
    """The first pass that fails, cheapest first: the exhaustive tier (seconds), then fuzz, then the other
    machines. A mutant that makes the kernel loop forever in one pass is usually caught by an earlier one;
    run in any other order, it would cost mutmut's whole time limit and count as a time-out."""
    for found in (exhaustive_failures, fuzz_failures, other_machine_failures):
        failures = found()
        if failures:
            return failures
    return []


def fuzz_failures() -> list[str]:
    """What `glitchless fuzz --examples FUZZ_EXAMPLES --seed FUZZ_SEED` finds on the whole contract, unshrunk."""
    from glitchless.properties.machine import fuzz

    report = fuzz("glitchless", examples=FUZZ_EXAMPLES, seed=FUZZ_SEED, report_multiple=False, shrink=False,
                  reduce=False)
    return [f.label for f in report.failures] + list(report.errors)


def exhaustive_failures() -> list[str]:
    """What `glitchless exhaustive` finds on the kernel within EXHAUSTIVE_TIERS."""
    from glitchless.properties.exhaustive import Bounds, exhaustive_check

    found: list[str] = []
    for tier in EXHAUSTIVE_TIERS:
        # One process (mutmut runs mutants side by side already), unshrunk: a failure is all that counts.
        # Without the interrupting effects: they cost a fifth more cases, and fuzz drives interrupts already.
        report = exhaustive_check("glitchless", Bounds(*tier, interrupts=False), jobs=1, shrink_failures=False)
        found += [v.label for v, _ in report.examples]
        if found:
            break
    return found


def other_machine_failures() -> list[str]:
    """What the scheduler_determinism and snapshot_restore machines find in OTHER_MACHINE_EXAMPLES examples each,
    and the depth machine in DEPTH_EXAMPLES."""
    from glitchless.properties import depth, scheduler, snapshot
    from glitchless.properties.targets import load_target

    found: list[str] = []
    target = load_target("glitchless")
    reports = [scheduler.run_machine(target, examples=OTHER_MACHINE_EXAMPLES, seed=FUZZ_SEED, steps=20, shrink=False),
               snapshot.run_machine(target, examples=OTHER_MACHINE_EXAMPLES, seed=FUZZ_SEED, steps=20, shrink=False),
               depth.run_machine(target, examples=DEPTH_EXAMPLES, seed=FUZZ_SEED, steps=0, shrink=False,
                                 recursion_limit=DEPTH_RECURSION_LIMIT)]
    for report in reports:
        found += [f.label for f in report.failures] + list(report.errors)
    return found


def describe_selection() -> str:
    tiers = "; ".join(f"up to {n} nodes, {o} operations, {s} signals, effects {'with' if w else 'without'} writes"
                      for n, o, s, w in EXHAUSTIVE_TIERS)
    return (f"exhaustive ({tiers}); then fuzz {FUZZ_EXAMPLES} examples (seed {FUZZ_SEED}) on the whole contract; "
            f"then {OTHER_MACHINE_EXAMPLES} examples each of scheduler_determinism and snapshot_restore, "
            f"{DEPTH_EXAMPLES} of depth; "
            "stopping at the first that fails")


# -- the scratch copy --------------------------------------------------------------


def mutmut_section() -> str:
    quoted = json.dumps  # a TOML basic string or array of them is valid JSON
    return "\n".join([
        "[tool.mutmut]",
        "# Written by `glitchless checker-score`: the property machines alone against mutants of the reactive core.",
        f"source_paths = {quoted(['glitchless/kernel/'])}",
        f"only_mutate = {quoted(['*' + MUTATED])}",
        f"also_copy = {quoted(['glitchless/'])}",
        f"pytest_add_cli_args_test_selection = {quoted([SELECTION])}",
        f"pytest_add_cli_args = {quoted(['-p', 'no:cacheprovider', '-q'])}",
        f"timeout_multiplier = {TIMEOUT_MULTIPLIER}",
        "",
    ])


def scratch_pyproject(original: str) -> str:
    """The project's pyproject.toml with its [tool.mutmut] table replaced by the checker score's."""
    kept: list[str] = []
    skipping = False
    for line in original.splitlines():
        header = re.match(r"\s*\[\[?([^\]]+)\]", line)
        if header:
            skipping = header.group(1).strip() == "tool.mutmut"
        if not skipping:
            kept.append(line)
    return "\n".join(kept).rstrip() + "\n\n" + mutmut_section()


def mutmut_settings() -> dict[str, Any]:
    """[tool.mutmut] for the scratch copy, as `glitchless.reports.mutmut_launch` takes it."""
    data: dict[str, Any] = tomllib.loads(mutmut_section())["tool"]["mutmut"]
    return data


def scratch_project(root: Path = Path(".")) -> Project:
    """The project, moved to its scratch copy and given the checker score's mutmut settings."""
    return dataclasses.replace(load(root.resolve()), root=(root / SCRATCH).resolve(), mutmut=mutmut_settings())


def prepare(root: Path = Path(".")) -> Path:
    """Refresh the scratch copy under `root` (package, test command, settings); mutmut's mutants/ stays."""
    for needed in (root / "glitchless", root / SELECTION, root / "pyproject.toml"):
        if not needed.exists():
            raise FileNotFoundError(f"{needed} not found: run checker-score from the project's root directory")
    scratch = root / SCRATCH
    shutil.rmtree(scratch / "glitchless", ignore_errors=True)
    shutil.copytree(root / "glitchless", scratch / "glitchless", ignore=shutil.ignore_patterns("__pycache__"))
    (scratch / "tests").mkdir(exist_ok=True)
    for name in ("conftest.py", Path(SELECTION).name):
        shutil.copy2(root / "tests" / name, scratch / "tests" / name)
    (scratch / "pyproject.toml").write_text(scratch_pyproject((root / "pyproject.toml").read_text()))
    return scratch


# -- run and report ------------------------------------------------------------------


def run_checker_score(
    max_children: int | None = None, *, run: bool = True, sample: int = 1, offset: int = 0
) -> tuple[MutationReport, int]:
    """Run mutmut in the scratch copy (unless `run` is False: then report its last, maybe partial, run).

    With `sample` K > 1, only every K-th mutant (in mutmut's listing, by name, from the `offset`-th on)
    is run and reported: a quick estimate, from the mutants an earlier run left (generated first when
    there are none).
    Returns the report over the mutants checked and the number not checked yet (an interrupted
    run resumes where it stopped when started again).
    """
    equivalents = load_equivalents(EQUIVALENTS_PATH)
    scratch = SCRATCH
    chosen: set[str] | None = None
    statuses: dict[str, str] = {}
    if run:
        prepare()
    if sample > 1:
        statuses = _listing()
        if not statuses and run:
            statuses = _generate_mutants()
        if not statuses:
            raise FileNotFoundError(f"no mutants in {scratch}/ to sample: run `glitchless checker-score --sample "
                                    f"{sample}` without --report-only first")
        chosen = set(sorted(statuses)[offset::sample])
    if run:
        print(f"checker score: mutants of {MUTATED} against the property machines only ({describe_selection()})"
              + (f", every {sample}th mutant from #{offset}" if chosen else ""), flush=True)
        if chosen is None:
            seconds = run_mutmut(scratch_project(), max_children)
        else:
            todo = sorted(n for n in chosen if statuses[n] == "not checked")
            seconds = run_mutmut(scratch_project(), max_children, names=todo) if todo else 0.0
    else:
        if not (scratch / "mutants").is_dir():
            raise FileNotFoundError(f"no checker-score run in {scratch}/ yet: run `glitchless checker-score`")
        previous = _load_previous()
        seconds = float(previous.get("seconds", 0.0)) if previous else 0.0
    collected = collect(scratch_project(), seconds, equivalents, names=chosen)
    considered = collected.mutants
    checked = [m for m in considered if m.status != "not checked"]
    report = MutationReport(checked, seconds, title=MUTATED, info=collected.info)
    write(report, len(considered) - len(checked), sample, offset)
    return report, len(considered) - len(checked)


def _generate_mutants() -> dict[str, str]:
    """Have mutmut generate the mutants in the prepared scratch copy (and time the clean tests) without
    testing any, to sample from them."""
    from glitchless.cli_support import progress
    from glitchless.reports.mutation import _mutmut

    with progress("checker score: generating the mutants to sample", total=None, unit="mutants", quiet=False):
        # mutmut has no "generate only" command: a run asked for a mutant that does not exist generates
        # them all, times the clean tests, then stops on finding no such mutant. Its output says just that.
        _mutmut(scratch_project(), "run", "glitchless.kernel.reactive.x_no_such_function__mutmut_0")
    return _listing()


def _listing() -> dict[str, str]:
    """mutmut's mutants in the scratch copy and their status (empty before any run)."""
    if not (SCRATCH / "mutants").is_dir():
        return {}
    return {m.name: m.status for m in collect_statuses(scratch_project())}


def _load_previous() -> dict[str, Any] | None:
    try:
        data = json.loads(REPORT_PATH.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def to_json(report: MutationReport, not_checked: int = 0, sample: int = 1, offset: int = 0) -> dict[str, Any]:
    data = report.to_json()
    data.update({
        "mutated": MUTATED,
        "selection": describe_selection(),
        "killed": report.counts.get("killed", 0),
        "not_checked": not_checked,
        "sample_every": sample,
        "sample_offset": offset,
        "goal_percent": GOAL_PERCENT,
    })
    return data


def format_checker_summary(report: MutationReport, not_checked: int = 0, sample: int = 1, offset: int = 0) -> str:
    text = format_summary(report, title=f"Checker strength: the property machines against mutants of {MUTATED}")
    head, _, rest = text.partition("\n\n")
    notes = [f"Test command: {describe_selection()}. Goal: {GOAL_PERCENT:.0f}% killed."]
    if sample > 1:
        notes.append(f"Sample: every {sample}th mutant of mutmut's listing (sorted by name), from #{offset} "
                     "(counting from 0).")
    if not_checked:
        notes.append(f"Partial run: {len(report.mutants)} of {len(report.mutants) + not_checked} mutants checked; "
                     "the figures are over those. `glitchless checker-score` resumes the run.")
    return f"{head}\n\n" + "\n\n".join(notes) + f"\n\n{rest}"


def write(report: MutationReport, not_checked: int = 0, sample: int = 1, offset: int = 0) -> None:
    from glitchless.cli_support import write_atomic

    write_atomic(REPORT_PATH, json.dumps(to_json(report, not_checked, sample, offset), indent=2, sort_keys=True,
                                         ensure_ascii=False) + "\n")
    write_atomic(SUMMARY_PATH, format_checker_summary(report, not_checked, sample, offset) + "\n")
