"""Subcommands: coverage, mutate, checker-score, report. Each but checker-score measures the project in the current directory."""

from __future__ import annotations

import argparse
import sys

from glitchless.cli_support import UsageError, validate_count, validate_int, validate_percent
from glitchless.reports.project import ConfigError, Project, load


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "coverage",
        help="this project's tests and scenarios with line, branch and reactive-graph coverage; write reports/",
        description="Run the current project's tests and registered scenarios under pytest-cov, measuring the "
        "packages [tool.glitchless] source names; record which operations, subscriptions, effects and computeds "
        "ran. Writes reports/coverage/ and reports/graph-coverage.json; fails below the configured floors.",
    )
    p.add_argument("pytest_args", nargs="*", help="extra arguments for pytest (after --)")
    p.set_defaults(run=_coverage)

    p = sub.add_parser(
        "report",
        help="gather this project's scenarios, coverage and mutation results into reports/index.html and summary.md",
        description="Run the current project's scenarios and gather them with the latest coverage, graph coverage, "
        "property and mutation results into reports/index.html and reports/summary.md.",
    )
    p.set_defaults(run=_report)

    p = sub.add_parser(
        "mutate",
        help="mutation-test this project's packages with mutmut; write reports/mutation.json and .md",
        description="Mutation-test the packages [tool.glitchless] source names (or [tool.mutmut]) with mutmut "
        "against the project's tests; write reports/mutation.json and reports/mutation.md.",
    )
    p.add_argument("--max-children", default=None, metavar="N", help="parallel mutant runs (default: CPU count)")
    p.set_defaults(run=_mutate)

    p = sub.add_parser(
        "checker-score",
        help="mutation-test the reactive core against the property machines only; write reports/checker-score.json",
        description="Run mutmut over glitchless/kernel/reactive.py with only the property machines (a fixed-budget "
        "fuzz and a small exhaustive check) as the test command, in a scratch copy (.checker-score/), and report "
        "killed / non-equivalent mutants. Reviewed equivalents come from mutation-equivalents.toml.",
    )
    p.add_argument("--max-children", default=None, metavar="N", help="parallel mutant runs (default: CPU count)")
    p.add_argument("--fail-under", default=None, metavar="PCT",
                   help="exit 1 when the score (killed / scored) is below PCT")
    p.add_argument("--sample", default="1", metavar="K",
                   help="run and report only every K-th mutant in mutmut's listing, by name (a quick estimate; "
                   "the mutants are generated first when no earlier run left them)")
    p.add_argument("--offset", default="0", metavar="J",
                   help="with --sample K, start at the J-th mutant (0 to K-1): the K offsets are K disjoint samples")
    p.add_argument("--report-only", action="store_true",
                   help="run no mutants: write the report from the last (maybe interrupted) run")
    p.set_defaults(run=_checker_score)


def _project() -> Project:
    try:
        return load()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _coverage(args: argparse.Namespace) -> int:
    from glitchless.reports.coverage import format_summary, run_coverage
    from glitchless.reports.graph import summary_line

    project = _project()
    run = run_coverage(project, args.pytest_args)
    if run.summary is None:
        print("glitchless: error: the test run wrote no coverage data")
        return run.status or 1
    print(format_summary(run.summary))
    if run.graph is not None:
        print(summary_line(run.graph))
        missed = run.graph.get("operations", {}).get("missed", [])
        if missed:
            print(f"operations never invoked: {', '.join(missed)}")
    print("wrote reports/coverage/ (html/index.html, coverage.xml, coverage.json, summary.json) "
          "and reports/graph-coverage.json")
    for s in run.below:
        print(f"FAIL: {s}")
    return run.status or (1 if run.below else 0)


def _mutate(args: argparse.Namespace) -> int:
    from glitchless.reports.mutation import format_summary, run_mutation

    children = None if args.max_children is None else validate_count(args.max_children, "--max-children")
    project = _project()
    try:
        report = run_mutation(project, children)
    except (RuntimeError, ValueError) as exc:  # mutmut failed, or a malformed mutation-equivalents.toml
        print(f"glitchless: error: {exc}", file=sys.stderr)
        return 1
    print(format_summary(report).split("\n## ")[0])
    print("wrote reports/mutation.json and reports/mutation.md")
    return 0


def _checker_score(args: argparse.Namespace) -> int:
    from glitchless.reports.checker_score import REPORT_PATH, SUMMARY_PATH, format_checker_summary, run_checker_score

    children = None if args.max_children is None else validate_count(args.max_children, "--max-children")
    sample = validate_count(args.sample, "--sample")
    offset = validate_int(args.offset, "--offset", minimum=0)
    if offset >= sample:
        raise UsageError(f"--offset must be below --sample ({sample}), got {offset}")
    fail_under = None if args.fail_under is None else validate_percent(args.fail_under, "--fail-under")
    try:
        report, not_checked = run_checker_score(children, run=not args.report_only, sample=sample, offset=offset)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    print(format_checker_summary(report, not_checked, sample, offset).split("\n## ")[0])
    print(f"wrote {REPORT_PATH} and {SUMMARY_PATH}")
    if fail_under is not None and report.killed_percent < fail_under:
        print(f"FAIL: checker score {report.killed_percent:.1f}% < {fail_under}%")
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    from glitchless.reports.report import write_report

    project = _project()
    md, page, inp = write_report(project)
    missing = [name for name, data in (("properties", inp.properties), ("coverage", inp.coverage),
                                       ("mutation", inp.mutation)) if data is None]
    print(f"wrote {page} and {md}")
    if missing:
        print(f"not yet measured (see the report for the command): {', '.join(missing)}")
    return 0 if all(r.verdict for r in inp.scenarios) else 1
