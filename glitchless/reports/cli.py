"""Subcommands: coverage, mutate, checker-score, report."""

from __future__ import annotations

import argparse

from glitchless.cli import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("coverage", help="run the tests with line and branch coverage; write reports/coverage/")
    p.add_argument("--kernel-lines", type=float, default=98.0, metavar="PCT", help="minimum kernel line coverage")
    p.add_argument("--kernel-branches", type=float, default=95.0, metavar="PCT", help="minimum kernel branch coverage")
    p.add_argument("pytest_args", nargs="*", help="extra arguments for pytest (after --)")
    p.set_defaults(run=_coverage)

    p = sub.add_parser("report", help="gather scenarios, properties, coverage and mutation into reports/index.html and summary.md")
    p.set_defaults(run=_report)

    p = sub.add_parser("mutate", help="mutation-test the kernel with mutmut; write reports/mutation.json and .md")
    p.add_argument("--max-children", type=int, default=None, help="parallel mutant runs (default: CPU count)")
    p.set_defaults(run=_mutate)

    p = sub.add_parser(
        "checker-score",
        help="mutation-test the reactive core against the property machines only; write reports/checker-score.json",
        description="Run mutmut over glitchless/kernel/reactive.py with only the property machines (a fixed-budget "
        "fuzz and a small exhaustive check) as the test command, in a scratch copy (.checker-score/), and report "
        "killed / non-equivalent mutants. Reviewed equivalents come from mutation-equivalents.toml.",
    )
    p.add_argument("--max-children", type=int, default=None, help="parallel mutant runs (default: CPU count)")
    p.add_argument("--fail-under", type=float, default=None, metavar="PCT",
                   help="exit 1 when the score (killed / scored) is below PCT")
    p.add_argument("--sample", type=int, default=1, metavar="K",
                   help="run and report only every K-th mutant (a quick estimate; needs the mutants of an "
                   "earlier, possibly interrupted, run)")
    p.add_argument("--report-only", action="store_true",
                   help="run no mutants: write the report from the last (maybe interrupted) run")
    p.set_defaults(run=_checker_score)


def _coverage(args: argparse.Namespace) -> int:
    from glitchless.reports.coverage import format_summary, run_coverage

    status, summary = run_coverage(args.pytest_args)
    if summary is None:
        print("glitchless: error: the test run wrote no coverage data")
        return status or 1
    print(format_summary(summary))
    print("HTML: reports/coverage/html/index.html  XML: reports/coverage/coverage.xml  JSON: reports/coverage/coverage.json")
    kernel = summary.kernel
    short = []
    if kernel.line_percent < args.kernel_lines:
        short.append(f"kernel line coverage {kernel.line_percent:.1f}% < {args.kernel_lines}%")
    if kernel.branch_percent < args.kernel_branches:
        short.append(f"kernel branch coverage {kernel.branch_percent:.1f}% < {args.kernel_branches}%")
    for s in short:
        print(f"FAIL: {s}")
    return status or (1 if short else 0)


def _mutate(args: argparse.Namespace) -> int:
    from glitchless.reports.mutation import format_summary, run_mutation

    if args.max_children is not None and args.max_children < 1:
        raise UsageError(f"--max-children must be at least 1, got {args.max_children}")
    report = run_mutation(args.max_children)
    print(format_summary(report).split("\n## ")[0])
    print("wrote reports/mutation.json and reports/mutation.md")
    return 0


def _checker_score(args: argparse.Namespace) -> int:
    from glitchless.reports.checker_score import REPORT_PATH, SUMMARY_PATH, format_checker_summary, run_checker_score

    if args.max_children is not None and args.max_children < 1:
        raise UsageError(f"--max-children must be at least 1, got {args.max_children}")
    if args.sample < 1:
        raise UsageError(f"--sample must be at least 1, got {args.sample}")
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise UsageError(f"--fail-under must be a percentage from 0 to 100, got {args.fail_under}")
    try:
        report, not_checked = run_checker_score(args.max_children, run=not args.report_only, sample=args.sample)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    print(format_checker_summary(report, not_checked, args.sample).split("\n## ")[0])
    print(f"wrote {REPORT_PATH} and {SUMMARY_PATH}")
    if args.fail_under is not None and report.killed_percent < args.fail_under:
        print(f"FAIL: checker score {report.killed_percent:.1f}% < {args.fail_under}%")
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    from glitchless.reports.report import write_report

    md, page, inp = write_report()
    missing = [name for name, data in (("properties", inp.properties), ("coverage", inp.coverage),
                                       ("mutation", inp.mutation)) if data is None]
    print(f"wrote {page} and {md}")
    if missing:
        print(f"not yet measured (see the report for the command): {', '.join(missing)}")
    return 0 if all(r.verdict for r in inp.scenarios) else 1
