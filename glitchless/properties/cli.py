"""`glitchless fuzz`, `glitchless conformance` and `glitchless exhaustive`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from glitchless.cli import UsageError
from glitchless.properties.hooks import properties, property_names
from glitchless.properties.targets import ALIASES, Target, TargetError, load_target

if TYPE_CHECKING:
    from glitchless.properties.machine import AnyFailure, FuzzReport, Options

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: SubParsers) -> None:
    p = sub.add_parser(
        "fuzz",
        help="model-check a kernel with Hypothesis stateful machines",
        description="Grow random graphs, apply random operations and check every step against the reference "
        "model. Failures are shrunk and printed as readable programs with a replay command.",
    )
    p.add_argument("--target", default="glitchless", metavar="MOD:FACTORY",
                   help=f"runtime factory to check, or one of: {', '.join(ALIASES)} (default: glitchless)")
    p.add_argument("--examples", type=int, default=200, metavar="N", help="examples to generate (default: 200)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="search seed; the run is a function of it (default: 0)")
    p.add_argument("--steps", type=int, default=30, metavar="K", help="steps per example at most (default: 30)")
    p.add_argument("--checks", metavar="NAMES",
                   help="comma-separated properties or property/kind labels to check (default: all)")
    p.add_argument("--ignore", metavar="LABELS",
                   help="comma-separated property/kind labels not to report (e.g. a known bug)")
    p.add_argument("--database", metavar="DIR",
                   help="shared Hypothesis example database: failures found by anyone using it are replayed first")
    p.add_argument("--replay", metavar="PROGRAM",
                   help="run one program (JSON, as printed by a failure, or @FILE) instead of searching")
    p.add_argument("--no-shrink", action="store_true",
                   help="skip Hypothesis's shrinking (faster); the structural reduction still runs")
    p.add_argument("--no-reduce", action="store_true", help="report Hypothesis's shrunk program without further reduction")
    p.add_argument("--without", metavar="PARTS",
                   help="comma-separated parts of the contract not to generate: errors, dispose_in_runs, cascades, "
                   "transient, equals (e.g. to check the rest on a kernel with known bugs there)")
    p.set_defaults(run=_run_fuzz)

    c = sub.add_parser(
        "conformance",
        help="run every property on every installed kernel and print a table",
        description="Run the machines once per property on each installed target. Exits non-zero only when "
        "the glitchless kernel itself fails a property (peers are expected to fail some).",
    )
    c.add_argument("--targets", metavar="LIST", help=f"comma-separated targets (default: every installed one of {', '.join(ALIASES)})")
    c.add_argument("--examples", type=int, default=100, metavar="N", help="examples per property and target (default: 100)")
    c.add_argument("--seed", type=int, default=0, metavar="S")
    c.add_argument("--steps", type=int, default=30, metavar="K")
    c.add_argument("--without", metavar="PARTS", help="parts of the contract not to generate (see fuzz --without)")
    c.set_defaults(run=_run_conformance)

    e = sub.add_parser(
        "exhaustive",
        help="check every small graph and short operation sequence",
        description="Enumerate every case in a finite space (see glitchless.properties.exhaustive) and check "
        "each against the model. Without bounds, runs the default tiers.",
    )
    e.add_argument("--target", default="glitchless", metavar="MOD:FACTORY")
    e.add_argument("--nodes", type=int, metavar="N", help="graphs of up to N nodes")
    e.add_argument("--ops", type=int, metavar="K", help="sequences of up to K operations")
    e.add_argument("--signals", type=int, metavar="S", help="at most S signals per graph")
    e.add_argument("--writes", action=argparse.BooleanOptionalAction, default=None, help="effects that write signals")
    e.add_argument("--extras", action=argparse.BooleanOptionalAction, default=None,
                   help="raising fns, disposal, nested batches, equal-but-distinct writes, untracked reads")
    e.add_argument("--jobs", type=int, default=None, metavar="J", help="worker processes (default: the CPU count)")
    e.set_defaults(run=_run_exhaustive)


# -- helpers -----------------------------------------------------------------


def _target(spec: str) -> Target:
    try:
        return load_target(spec)
    except TargetError as exc:
        raise UsageError(str(exc)) from None


def _checks(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    known = set(property_names())
    bad = sorted(n for n in names if n.split("/", 1)[0] not in known)
    if bad or not names:
        raise UsageError(f"unknown property {', '.join(bad) or '(none given)'}; known: {', '.join(sorted(known))}")
    return names


def _labels(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    labels = frozenset(n.strip() for n in text.split(",") if n.strip())
    known = set(property_names())
    bad = sorted(n for n in labels if "/" not in n or n.split("/", 1)[0] not in known)
    if bad:
        raise UsageError(f"--ignore takes property/kind labels (e.g. ordering/repeated-run), not {', '.join(bad)}")
    return labels


def _options(text: str | None) -> Options:
    from dataclasses import fields, replace

    from glitchless.properties.machine import Options

    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    known = [f.name for f in fields(Options)]
    bad = [p for p in parts if p not in known]
    if bad:
        raise UsageError(f"--without takes {', '.join(known)}; not {', '.join(bad)}")
    return replace(Options(), **{p: False for p in parts})


def _positive(value: int, flag: str) -> int:
    if value < 1:
        raise UsageError(f"{flag} must be at least 1, got {value}")
    return value


def _hypothesis() -> None:
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise UsageError("this command needs hypothesis (pip install 'glitchless[dev]')") from None


def _print_failure(i: int, f: AnyFailure, indent: str = "") -> None:
    print(f"{indent}[{i}] {f.label} at step {f.violation.step}:")
    print(f"{indent}    {f.violation.message}")
    print(f"{indent}  program ({len(f.program.steps)} steps):")
    for line in f.program.describe().splitlines():
        print(f"{indent}  {line}")
    print(f"{indent}  replay: {f.replay_command()}")


# -- fuzz --------------------------------------------------------------------


def _run_fuzz(args: argparse.Namespace) -> int:
    target = _target(args.target)
    checks = _checks(args.checks)
    if args.replay is not None:
        return _replay(target, args.replay, checks)
    _hypothesis()
    from glitchless.properties.machine import fuzz

    examples = _positive(args.examples, "--examples")
    steps = _positive(args.steps, "--steps")
    print(f"fuzzing {target.name}: {examples} examples of up to {steps} steps, seed {args.seed}"
          + (f", checks {','.join(sorted(checks))}" if checks else "")
          + (f", database {args.database}" if args.database else ""))
    start = time.perf_counter()
    every = max(1, examples // 10)

    def progress(runs: int) -> None:
        if runs % every == 0:
            print(f"  ... {runs} runs, {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)

    ignore = _labels(args.ignore)
    report = fuzz(target, examples=examples, seed=args.seed, steps=steps, checks=checks, ignore=ignore,
                  database=args.database, progress=progress, shrink=not args.no_shrink,
                  reduce=not args.no_reduce, options=_options(args.without))
    return _print_report(report, args)


def _print_report(report: FuzzReport, args: argparse.Namespace) -> int:
    from glitchless.reports.report import record_properties

    record_properties("fuzz", report.target, {
        "examples": report.examples, "runs": report.runs, "seed": report.seed, "seconds": round(report.seconds, 1),
        "passed": report.ok, "failures": [f.label for f in report.failures],
    })
    summary = f"up to {report.examples} examples ({report.runs} machine runs), seed {report.seed}, {report.seconds:.1f} s"
    if report.ok:
        print(f"passed: {summary}; no property failed")
        return 0
    n = len(report.failures)
    print(f"FAILED on {report.target}: {n} distinct failure{'s' if n != 1 else ''}; {summary}")
    for i, f in enumerate(report.failures, 1):
        print()
        _print_failure(i, f)
    for err in report.errors:
        print(f"\nerror: {err}")
    again = f"glitchless fuzz --target {report.target} --examples {report.examples} --seed {report.seed}"
    if args.steps != 30:
        again += f" --steps {args.steps}"
    if args.checks:
        again += f" --checks {args.checks}"
    if args.ignore:
        again += f" --ignore {args.ignore}"
    print(f"\nreproduce the search: {again}")
    return 1


def _replay(target: Target, text: str, checks: frozenset[str] | None) -> int:
    from glitchless.properties.program import Program
    from glitchless.properties.runner import InvalidStep, Session

    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as exc:
            raise UsageError(f"cannot read {text[1:]}: {exc.strerror}") from None
    try:
        program = Program.from_json(text)
    except ValueError as exc:
        raise UsageError(f"bad --replay program: {exc}") from None
    session = Session(target, program.domain, checks)
    try:
        found = session.run(program.steps)
    except InvalidStep as exc:
        raise UsageError(f"bad --replay program for {target.name}: step {len(session.steps) + 1}: {exc}") from None
    finally:
        session.close()
    print(f"replaying {len(program.steps)} steps on {target.name}:")
    print(program.describe())
    if not found:
        print("passed: no property failed")
        return 0
    print(f"FAILED: {len(found)} violation{'s' if len(found) != 1 else ''}")
    for v in found:
        print(f"  step {v.step}: {v.label}: {v.message}")
    return 1


# -- conformance ---------------------------------------------------------------


def _run_conformance(args: argparse.Namespace) -> int:
    _hypothesis()
    from glitchless.properties.machine import fuzz

    examples = _positive(args.examples, "--examples")
    steps = _positive(args.steps, "--steps")
    names = [n.strip() for n in args.targets.split(",")] if args.targets else list(ALIASES)
    targets: list[Target] = []
    for name in names:
        try:
            targets.append(load_target(name))
        except TargetError as exc:
            if args.targets:
                raise UsageError(str(exc)) from None
            print(f"skipping {name}: {exc}")
    props = properties()
    print(f"conformance: {len(props)} properties x {len(targets)} targets, {examples} examples each, seed {args.seed}")
    results: dict[tuple[str, str], str] = {}
    details: list[tuple[str, AnyFailure]] = []
    start = time.perf_counter()
    for t in targets:
        for prop in props:
            if not t.supports(prop.needs):
                results[(t.name, prop.name)] = "n/a"
                continue
            report = fuzz(t, examples=examples, seed=args.seed, steps=steps, checks={prop.name},
                          report_multiple=False, shrink=False, options=_options(args.without))
            if report.ok:
                results[(t.name, prop.name)] = "pass"
            else:
                results[(t.name, prop.name)] = "FAIL"
                details.extend((t.name, f) for f in report.failures)
                for err in report.errors:
                    print(f"  {t.name} {prop.name}: error: {err}")
            print(f"  {t.name:<12} {prop.name:<16} {results[(t.name, prop.name)]}  ({report.seconds:.1f} s)",
                  file=sys.stderr, flush=True)
    width = max(len(p.name) for p in props) + 2
    cols = [max(len(t.name), 6) + 2 for t in targets]
    print()
    print("property".ljust(width) + "".join(t.name.ljust(w) for t, w in zip(targets, cols)))
    for prop in props:
        print(prop.name.ljust(width) + "".join(results[(t.name, prop.name)].ljust(w) for t, w in zip(targets, cols)))
    totals = []
    for t in targets:
        cells = [results[(t.name, p.name)] for p in props]
        applicable = [c for c in cells if c != "n/a"]
        totals.append(f"{sum(c == 'pass' for c in applicable)}/{len(applicable)}")
    print("passed".ljust(width) + "".join(s.ljust(w) for s, w in zip(totals, cols)))
    if details:
        print("\nfailures (shrunk):")
        for i, (name, f) in enumerate(details, 1):
            print()
            _print_failure(i, f, indent="  ")
    print(f"\n{time.perf_counter() - start:.1f} s")
    from glitchless.reports.report import record_properties

    for t in targets:
        record_properties("conformance", t.name, {p.name: results[(t.name, p.name)] for p in props})
    own = [t for t in targets if t.name == "glitchless"]
    return 1 if any(results[(t.name, p.name)] == "FAIL" for t in own for p in props) else 0


# -- exhaustive ----------------------------------------------------------------


def _run_exhaustive(args: argparse.Namespace) -> int:
    from glitchless.properties.exhaustive import DEFAULT_TIERS, Bounds, exhaustive_check

    target = _target(args.target)
    jobs = None if args.jobs is None else _positive(args.jobs, "--jobs")
    given = [args.nodes, args.ops, args.signals, args.writes, args.extras]
    if all(v is None for v in given):
        tiers = list(DEFAULT_TIERS)
    else:
        base = DEFAULT_TIERS[0]
        tiers = [Bounds(
            _positive(args.nodes, "--nodes") if args.nodes is not None else base.max_nodes,
            args.ops if args.ops is not None else base.max_ops,
            _positive(args.signals, "--signals") if args.signals is not None else base.max_signals,
            args.writes if args.writes is not None else base.effect_writes,
            args.extras if args.extras is not None else base.extras,
        )]
        if tiers[0].max_ops < 0:
            raise UsageError("--ops must be at least 0")
    failing = 0
    total_cases = 0
    start = time.perf_counter()
    print(f"exhaustive check of {target.name}")
    for bounds in tiers:
        print(f"  {bounds.describe()} ...", flush=True)
        r = exhaustive_check(target, bounds, jobs=jobs)
        total_cases += r.cases
        failing += r.failing_cases
        print(f"    {r.graphs} graphs, {r.cases} cases ({r.runs} runs, {r.steps} steps) in {r.seconds:.1f} s "
              f"({r.cases / max(r.seconds, 1e-9):.0f} cases/s): "
              + ("all passed" if r.ok else f"{r.failing_cases} failing runs, {len(r.failures)} distinct bugs (shrunk)"))
        for i, f in enumerate(r.failures, 1):
            print()
            _print_failure(i, f, indent="    ")
    seconds = time.perf_counter() - start
    print(f"{total_cases} cases checked in {seconds:.1f} s: "
          + ("no property failed" if not failing else f"{failing} failing runs"))
    from glitchless.reports.report import record_properties

    record_properties("exhaustive", target.name, {
        "cases": total_cases, "seconds": round(seconds, 1), "passed": not failing, "failing": failing,
        "bounds": [b.describe() for b in tiers],
    })
    return 1 if failing else 0
