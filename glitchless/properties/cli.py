"""`glitchless fuzz`, `glitchless conformance` and `glitchless exhaustive`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any, TypeAlias

from glitchless.cli_support import (
    UsageError,
    progress,
    validate_count,
    validate_path,
    validate_seed,
    validate_target,
    write_atomic,
)
from glitchless.properties.hooks import properties, property_names
from glitchless.reports.report import record_properties
from glitchless.properties.targets import ALIASES, Target, TargetError, load_target
from glitchless.scale.cli import add_scale_options, choose_jobs, usage_errors

if TYPE_CHECKING:
    from glitchless.properties.exhaustive import ExhaustiveReport
    from glitchless.properties.machine import AnyFailure, FuzzReport, Options

"""Relative to the current directory (the project's root): what `glitchless report` reads."""

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
    p.add_argument("--examples", default="200", metavar="N", help="examples to generate (default: 200)")
    p.add_argument("--seed", default="0", metavar="S", help="search seed; the run is a function of it (default: 0)")
    p.add_argument("--steps", default="30", metavar="K", help="steps per example at most (default: 30)")
    p.add_argument("--checks", metavar="NAMES",
                   help="comma-separated properties or property/kind labels to check (default: all)")
    p.add_argument("--ignore", metavar="LABELS",
                   help="comma-separated property/kind labels not to report (e.g. a known bug)")
    p.add_argument("--database", metavar="DIR|redis://HOST:PORT/DB",
                   help="shared Hypothesis example database (a directory, or Redis): failures found by anyone "
                   "using it are replayed first")
    p.add_argument("--shards", default="1", metavar="K",
                   help="split the search into K shards with seeds derived from --seed (default: 1); "
                   "--jobs/--scheduler run them in parallel, with the same result")
    p.add_argument("--replay", metavar="PROGRAM",
                   help="run one program (JSON, as printed by a failure, or @FILE) instead of searching")
    p.add_argument("--no-shrink", action="store_true",
                   help="skip Hypothesis's shrinking (faster); the structural reduction still runs")
    p.add_argument("--no-reduce", action="store_true", help="report Hypothesis's shrunk program without further reduction")
    p.add_argument("--without", metavar="PARTS",
                   help="comma-separated parts of the contract not to generate: errors, dispose_in_runs, cascades, "
                   "transient, equals, interrupts, writes, ops (e.g. to check the rest on a kernel with known bugs "
                   "there)")
    add_scale_options(p)
    p.add_argument("--json", action="store_true", help="print cases, failures and workers as JSON")
    p.set_defaults(run=_run_fuzz)

    c = sub.add_parser(
        "conformance",
        help="run every property on every installed kernel and print a table",
        description="Run the machines once per property on each installed target. Exits non-zero only when "
        "the glitchless kernel itself fails a property (peers are expected to fail some).",
    )
    c.add_argument("--targets", metavar="LIST", help=f"comma-separated targets (default: every installed one of {', '.join(ALIASES)})")
    c.add_argument("--examples", default="100", metavar="N", help="examples per property and target (default: 100)")
    c.add_argument("--seed", default="0", metavar="S", help="search seed (default: 0)")
    c.add_argument("--steps", default="30", metavar="K", help="steps per example at most (default: 30)")
    c.add_argument("--without", metavar="PARTS", help="parts of the contract not to generate (see fuzz --without)")
    c.set_defaults(run=_run_conformance)

    e = sub.add_parser(
        "exhaustive",
        help="check every small graph and short operation sequence",
        description="Enumerate every case in a finite space (see glitchless.properties.exhaustive) and check "
        "each against the model, in fixed shards on local processes or a Dask cluster (docs/scale-out.md). "
        "Without bounds, runs the default tiers.",
    )
    e.add_argument("--target", default="glitchless", metavar="MOD:FACTORY",
                   help=f"runtime factory to check, or one of: {', '.join(ALIASES)} (default: glitchless)")
    e.add_argument("--nodes", metavar="N", help="graphs of up to N nodes")
    e.add_argument("--ops", metavar="K", help="sequences of up to K operations")
    e.add_argument("--signals", metavar="S", help="at most S signals per graph")
    e.add_argument("--writes", action=argparse.BooleanOptionalAction, default=None, help="effects that write signals")
    e.add_argument("--extras", action=argparse.BooleanOptionalAction, default=None,
                   help="raising fns, disposal, nested batches, equal-but-distinct writes, untracked reads")
    add_scale_options(e)
    e.add_argument("--json", action="store_true", help="print cases, failures and workers as JSON")
    e.set_defaults(run=_run_exhaustive)


# -- helpers -----------------------------------------------------------------


def _target(spec: str, flag: str = "--target") -> Target:
    validate_target(spec, flag, aliases=ALIASES)
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


def _failure_json(f: AnyFailure) -> dict[str, Any]:
    return {"label": f.label, "step": f.violation.step, "message": f.violation.message,
            "replay": f.replay_command()}


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
    from glitchless.scale import in_process
    from glitchless.scale.fuzz import fuzz_scaled

    examples = validate_count(args.examples, "--examples")
    steps = validate_count(args.steps, "--steps")
    seed = validate_seed(args.seed)
    shards = validate_count(args.shards, "--shards")
    if shards > examples:
        raise UsageError(f"--shards must be at most --examples ({examples}), got {shards}")
    database = args.database
    if database is not None and not database.startswith(("redis://", "rediss://", "unix://")):
        # Absolute: the workers of a cluster open it from their own working directories.
        database = str(validate_path(database, "--database", kind="dir", must_exist=False).absolute())
    ignore = _labels(args.ignore)
    _options(args.without)  # validated here; each shard builds its own from `without`
    without = tuple(name for name in (args.without or "").replace(" ", "").split(",") if name)
    jobs = choose_jobs(args)
    here = in_process(jobs, args.scheduler, shards)
    with progress(f"fuzzing {target.name}", total=examples if here else shards,
                  unit="runs" if here else "shards", quiet=args.json) as bar:
        if not args.json:  # inside the bar: Ctrl-C from here on says how far the search got
            print(f"fuzzing {target.name}: {examples} examples of up to {steps} steps, seed {seed}"
                  + (f", {shards} shards" if shards > 1 else "")
                  + (f", checks {','.join(sorted(checks))}" if checks else "")
                  + (f", database {database}" if database else ""), flush=True)
        with usage_errors():
            report, parts, workers = fuzz_scaled(
                args.target, examples=examples, seed=seed, shards=shards, steps=steps,
                checks=None if checks is None else tuple(sorted(checks)), ignore=tuple(sorted(ignore)),
                database=database, shrink=not args.no_shrink, reduce=not args.no_reduce, without=without,
                jobs=jobs, scheduler=args.scheduler,
                progress=None if here else (lambda done, total: bar.advance(done - bar.done)),
                runs_progress=(lambda runs: bar.advance(runs - bar.done)) if here else None)
    print(f"{report.runs} machine runs in {report.seconds:.1f} s on {workers} worker{'s' if workers != 1 else ''}",
          file=sys.stderr)
    return _print_report(report, args, workers, [p.seed for p in parts])


def _print_report(report: FuzzReport, args: argparse.Namespace, workers: int, seeds: list[int]) -> int:
    record_properties("fuzz", report.target, {
        "examples": report.examples, "runs": report.runs, "seed": report.seed, "seconds": round(report.seconds, 1),
        "passed": report.ok, "failures": [f.label for f in report.failures], "shards": len(seeds),
    })
    if args.json:
        print(json.dumps({
            "target": report.target, "examples": report.examples, "seed": report.seed, "shard_seeds": seeds,
            "cases": report.runs, "passed": report.ok, "failures": [_failure_json(f) for f in report.failures],
            "errors": report.errors, "workers": workers,
        }, indent=2))
        return 0 if report.ok else 1
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
    if int(args.steps) != 30:
        again += f" --steps {args.steps}"
    if len(seeds) > 1:
        again += f" --shards {len(seeds)}"
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
        path = validate_path(text[1:], "--replay", kind="file")
        try:
            text = path.read_text()
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

    examples = validate_count(args.examples, "--examples")
    steps = validate_count(args.steps, "--steps")
    seed = validate_seed(args.seed)
    names = [n.strip() for n in args.targets.split(",")] if args.targets else list(ALIASES)
    if args.targets:
        for name in names:
            validate_target(name, "--targets", aliases=ALIASES)
    targets: list[Target] = []
    for name in names:
        try:
            targets.append(load_target(name))
        except TargetError as exc:
            if args.targets:
                raise UsageError(str(exc)) from None
            print(f"skipping {name}: {exc}")
    props = properties()
    options = _options(args.without)
    print(f"conformance: {len(props)} properties x {len(targets)} targets, {examples} examples each, seed {seed}")
    results: dict[tuple[str, str], str] = {}
    details: list[tuple[str, AnyFailure]] = []
    start = time.perf_counter()
    with progress("conformance", total=len(props) * len(targets), unit="checks") as bar:
        for t in targets:
            for prop in props:
                if not t.supports(prop.needs):
                    results[(t.name, prop.name)] = "n/a"
                    bar.advance()
                    continue
                report = fuzz(t, examples=examples, seed=seed, steps=steps, checks={prop.name},
                              report_multiple=False, shrink=False, options=options)
                if report.ok:
                    results[(t.name, prop.name)] = "pass"
                else:
                    results[(t.name, prop.name)] = "FAIL"
                    details.extend((t.name, f) for f in report.failures)
                    for err in report.errors:
                        print(f"  {t.name} {prop.name}: error: {err}")
                bar.advance()
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
    for t in targets:
        record_properties("conformance", t.name, {p.name: results[(t.name, p.name)] for p in props})
    own = [t for t in targets if t.name == "glitchless"]
    return 1 if any(results[(t.name, p.name)] == "FAIL" for t in own for p in props) else 0


# -- exhaustive ----------------------------------------------------------------


def _run_exhaustive(args: argparse.Namespace) -> int:
    from glitchless.properties.exhaustive import DEFAULT_TIERS, Bounds
    from glitchless.scale.exhaustive import SHARDS, exhaustive_scaled

    target = _target(args.target)
    given = [args.nodes, args.ops, args.signals, args.writes, args.extras]
    if all(v is None for v in given):
        tiers = list(DEFAULT_TIERS)
    else:
        base = DEFAULT_TIERS[0]
        tiers = [Bounds(
            validate_count(args.nodes, "--nodes") if args.nodes is not None else base.max_nodes,
            validate_seed(args.ops, "--ops") if args.ops is not None else base.max_ops,
            validate_count(args.signals, "--signals") if args.signals is not None else base.max_signals,
            args.writes if args.writes is not None else base.effect_writes,
            args.extras if args.extras is not None else base.extras,
        )]
    jobs = choose_jobs(args)
    reports: list[ExhaustiveReport] = []
    workers = 0
    start = time.perf_counter()
    if not args.json:
        print(f"exhaustive check of {target.name}")
    with progress(f"exhaustive {target.name}", total=SHARDS * len(tiers), unit="shards", quiet=args.json) as bar:
        for bounds in tiers:
            if not args.json:
                print(f"  {bounds.describe()} ...", flush=True)
            with usage_errors():
                r, used = exhaustive_scaled(args.target, bounds, jobs=jobs, scheduler=args.scheduler,
                                            progress=lambda done, total: bar.advance(1))
            reports.append(r)
            workers = max(workers, used)
            if args.json:
                continue
            print(f"    {r.graphs} graphs, {r.cases} cases ({r.runs} runs, {r.steps} steps) in {r.seconds:.1f} s "
                  f"({r.cases / max(r.seconds, 1e-9):.0f} cases/s): "
                  + ("all passed" if r.ok else f"{r.failing_cases} failing runs, {len(r.failures)} distinct bugs (shrunk)"))
            for i, f in enumerate(r.failures, 1):
                print()
                _print_failure(i, f, indent="    ")
    seconds = time.perf_counter() - start
    total_cases = sum(r.cases for r in reports)
    failing = sum(r.failing_cases for r in reports)
    failures = [f for r in reports for f in r.failures]
    record_properties("exhaustive", target.name, {
        "cases": total_cases, "seconds": round(seconds, 1), "passed": not failing, "failing": failing,
        "bounds": [b.describe() for b in tiers],
    })
    if args.json:
        print(json.dumps({
            "target": target.name, "bounds": [b.describe() for b in tiers], "cases": total_cases,
            "failing_cases": failing, "passed": not failing, "failures": [_failure_json(f) for f in failures],
            "workers": workers,
        }, indent=2))
    else:
        print(f"{total_cases} cases checked in {seconds:.1f} s: "
              + ("no property failed" if not failing else f"{failing} failing runs"))
    print(f"checked on {workers} worker{'s' if workers != 1 else ''}", file=sys.stderr)
    return 1 if failing else 0
