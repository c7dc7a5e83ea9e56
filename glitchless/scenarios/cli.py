"""`glitchless list | run | explore | replay | graph`: scenarios from the command line.

Everything printed on stdout depends only on the scenario and seed (wall-clock timings go to
the `run --all` table and to stderr), so the same command prints the same thing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import glitchless
from glitchless.cli_support import UsageError, progress, validate_count, validate_seed, write_atomic
from glitchless.fakes import TraceEvent, dumps
from glitchless.kernel.introspect import Graph, kernel_graph
from glitchless.scenarios.framework import (
    Scenario,
    ScenarioResult,
    Script,
    UnknownScenarioError,
    get_scenario,
    run_scenario,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "list",
        help="list the scenarios",
        description="List every scenario, built-in and from installed packages, one line each. "
        "A name two packages both define is reported on stderr (exit 1) and left out.",
    )
    p.set_defaults(run=cmd_list)

    p = sub.add_parser(
        "run",
        help="run a scenario (or --all) and show its timeline and checks",
        description="Run one scenario in virtual time and print its timeline and a verdict per check "
        "(exit 0 only if all pass), or every scenario with --all followed by a table of verdicts.",
    )
    p.add_argument("name", nargs="?", help="scenario name (see `glitchless list`)")
    p.add_argument("--all", action="store_true", help="run every scenario and print a table of verdicts")
    p.add_argument("--seed", default="0", help="scheduling seed, a non-negative integer (default 0)")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of the timeline")
    p.add_argument("--trace", metavar="FILE", help="write the JSON-lines trace to FILE")
    p.set_defaults(run=cmd_run)

    p = sub.add_parser(
        "explore",
        help="run a scenario under many seeds and report the failing ones",
        description="Run a scenario under N consecutive scheduling seeds; print every failing seed with "
        "the command that replays it (exit 1 if any fails). A progress bar with the ETA shows on a terminal.",
    )
    p.add_argument("name", help="scenario name (see `glitchless list`)")
    p.add_argument("--seeds", required=True, metavar="N", help="how many seeds to run, a positive integer")
    p.add_argument("--start", default="0", metavar="S", help="first seed (default 0)")
    # scale-out (glitchless.scale.explore): --jobs, --scheduler, --json
    from glitchless.scale.explore import add_options as add_explore_options

    add_explore_options(p)
    p.set_defaults(run=cmd_explore)

    p = sub.add_parser(
        "replay",
        help="re-run a written trace and confirm it is reproduced byte for byte",
        description="Read a trace written by `glitchless run NAME --trace FILE`, run its scenario and seed "
        "again and compare; a difference is reported with its line and column (exit 1).",
    )
    p.add_argument("file", help="a trace file written by `run --trace`")
    p.set_defaults(run=cmd_replay)

    p = sub.add_parser(
        "graph",
        help="print the reactive graph of a scenario's kernel(s) as Graphviz DOT",
        description="Run a scenario and print its kernels' reactive graphs (signals, computeds, effects, "
        "grouped by component) as Graphviz DOT: `glitchless graph NAME | dot -Tsvg > graph.svg`.",
    )
    p.add_argument("name", help="scenario name (see `glitchless list`)")
    p.add_argument("--seed", default="0", help="scheduling seed (default 0)")
    p.set_defaults(run=cmd_graph)


# -- helpers ---------------------------------------------------------------------------


def known_scenario(name: str) -> str:
    try:
        return get_scenario(name).name
    except UnknownScenarioError as exc:
        raise UsageError(str(exc.args[0])) from None
    except ImportError as exc:  # a downstream scenario module that does not import
        raise UsageError(str(exc)) from None


def run(name: str, seed: int, keep: list[Script] | None = None) -> ScenarioResult:
    return run_scenario(known_scenario(name), seed, keep=keep)


def trace_text(result: ScenarioResult) -> str:
    """The trace file: a header line, then the events as JSON lines."""
    header = {"kind": "header", "scenario": result.scenario, "seed": result.seed, "glitchless": glitchless.__version__}
    return dumps(header) + "\n" + result.trace.to_jsonl()


def clock(t: float) -> str:
    days, rest = divmod(t, 86400.0)
    hours, rest = divmod(rest, 3600.0)
    minutes, seconds = divmod(rest, 60.0)
    return f"{int(days)}d {int(hours):02d}:{int(minutes):02d}:{seconds:06.3f}"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} s"
    days, rest = divmod(seconds, 86400.0)
    hours, rest = divmod(rest, 3600.0)
    minutes, secs = divmod(rest, 60.0)
    parts = [f"{int(days)}d" if days else "", f"{int(hours)}h" if hours else "", f"{int(minutes)}m" if minutes else ""]
    parts.append(f"{secs:g}s" if secs else "")
    return " ".join(p for p in parts if p)


def _short(value: Any, width: int = 100) -> str:
    text = dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def timeline_line(e: TraceEvent) -> str | None:
    d = e.data
    at = clock(e.t)
    if e.kind == "step":
        extra = {k: v for k, v in d.items() if k != "title"}
        return f"{at}  == {d['title']}" + (f"  {_short(extra)}" if extra else "")
    if e.kind == "note":
        extra = {k: v for k, v in d.items() if k != "what"}
        return f"{at}     {d['what']}" + (f"  {_short(extra)}" if extra else "")
    if e.kind == "fault":
        return f"{at}  !! fault: {d['what']}"
    if e.kind == "advance":
        seconds = d["seconds"]
        return f"{at}     ... {duration(seconds) if isinstance(seconds, (int, float)) else seconds} pass"
    if e.kind == "check":
        verdict = "PASS" if d["passed"] else "FAIL"
        return f"{at}  {verdict} {d['name']}" + (f"  ({d['detail']})" if d.get("detail") else "")
    if e.kind == "observe":
        return f"{at}     => {d['key']} = {_short(d['value'])}"
    if e.kind == "start":
        return f"{at}  scenario {d['scenario']} (seed {d['seed']})"
    return None  # "end": the verdict follows


def print_timeline(result: ScenarioResult) -> None:
    for e in result.trace:
        line = timeline_line(e)
        if line is not None:
            print(line)
    passed = sum(c.passed for c in result.checks)
    print(f"{result.scenario}: {passed}/{len(result.checks)} checks passed -- {'PASS' if result.passed else 'FAIL'}")


def write_trace(path: str, result: ScenarioResult) -> None:
    write_atomic(path, trace_text(result), encoding="ascii", what="trace", make_parents=False)


# -- commands --------------------------------------------------------------------------


def ordered_scenarios() -> list[Scenario]:
    from glitchless.scenarios import ordered_scenarios as ordered

    try:
        return ordered()
    except ImportError as exc:  # a downstream scenario module that does not import
        raise UsageError(str(exc)) from None


def report_clashes() -> bool:
    """Print one error line per scenario name two packages both define; whether there was any."""
    from glitchless.scenarios import clashes

    found = clashes()
    for message in found:
        print(f"glitchless: error: {message}", file=sys.stderr)
    return bool(found)


def cmd_list(args: argparse.Namespace) -> int:
    scenarios = ordered_scenarios()
    width = max((len(sc.name) for sc in scenarios), default=0)
    for sc in scenarios:
        print(f"{sc.name:<{width}}  {sc.description}")
    return 1 if report_clashes() else 0


def cmd_run(args: argparse.Namespace) -> int:
    seed = validate_seed(args.seed)
    if args.all:
        if args.name is not None:
            raise UsageError("give a scenario name or --all, not both")
        if args.trace is not None:
            raise UsageError("--trace writes one scenario's trace: give a scenario name, not --all")
        return run_all(seed, as_json=args.json)
    if args.name is None:
        raise UsageError("give a scenario name (see `glitchless list`) or --all")
    result = run(args.name, seed)
    if args.trace is not None:
        write_trace(args.trace, result)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print_timeline(result)
    return 0 if result.passed else 1


def run_all(seed: int, *, as_json: bool) -> int:
    rows: list[tuple[str, str, str, str]] = []
    results: list[ScenarioResult] = []
    names = [sc.name for sc in ordered_scenarios()]
    with progress("running", total=len(names), unit="scenarios", quiet=as_json) as bar:
        for name in names:
            started = time.perf_counter()
            result = run_scenario(name, seed)
            wall_ms = (time.perf_counter() - started) * 1000
            results.append(result)
            passed = sum(c.passed for c in result.checks)
            rows.append((name, f"{passed}/{len(result.checks)}", "PASS" if result.passed else "FAIL", f"{wall_ms:.0f}"))
            if not as_json:
                print_timeline(result)
                print()
            bar.advance()
    table = format_table(("scenario", "checks", "verdict", "wall ms"), rows)
    if as_json:
        print(json.dumps([r.to_json() for r in results], indent=2))
        print(table, file=sys.stderr)
    else:
        print(table)
    clashed = report_clashes()
    return 0 if results and all(r.passed for r in results) and not clashed else 1


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    right = {1, 3}

    def line(row: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def cmd_explore(args: argparse.Namespace) -> int:
    # Seeds run in shards on local processes or a Dask cluster: glitchless.scale.explore.
    from glitchless.scale.explore import explore_command

    return explore_command(args)


class ReplayMismatch(Exception):
    pass


def cmd_replay(args: argparse.Namespace) -> int:
    path = args.file
    try:
        with open(path, "rb") as fp:
            raw = fp.read()
    except OSError as exc:
        raise UsageError(f"cannot read trace {path!r}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise UsageError(f"trace {path!r} is not a glitchless trace: non-ASCII byte at offset {exc.start}") from None
    first, _, _ = text.partition("\n")
    try:
        header = json.loads(first)
    except ValueError:
        header = None
    if (
        not isinstance(header, dict)
        or header.get("kind") != "header"
        or not isinstance(header.get("scenario"), str)
        or not isinstance(header.get("seed"), int)
        or isinstance(header.get("seed"), bool)
    ):
        raise UsageError(f"trace {path!r} has no glitchless header on line 1 (scenario, seed, version)")
    seed = header["seed"]
    if seed < 0:
        raise UsageError(f"trace {path!r}: seed in the header must be non-negative, got {seed}")
    name = known_scenario(header["scenario"])
    expected = trace_text(run_scenario(name, seed)).encode("ascii")
    if raw == expected:
        events = expected.count(b"\n") - 1
        print(f"replayed {name} --seed {seed}: {events} events, byte-identical")
        return 0
    problem = first_difference(raw.decode("ascii").split("\n"), expected.decode("ascii").split("\n"))
    version = header.get("glitchless")
    if version != glitchless.__version__:
        problem += f" (trace written by glitchless {version}, this is {glitchless.__version__})"
    print(f"glitchless: error: trace {path!r} is not reproduced: {problem}", file=sys.stderr)
    return 1


def first_difference(found: list[str], expected: list[str]) -> str:
    for i, (a, b) in enumerate(zip(found, expected), start=1):
        if a != b:
            if i == len(found) and b.startswith(a):  # the file stops here
                if a:
                    return f"truncated in line {i} of {len(expected) - 1}"
                return f"truncated after line {i - 1} of {len(expected) - 1}"
            col = next((j for j, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            return f"line {i} differs at column {col + 1}: expected {_clip(b, col)}, found {_clip(a, col)}"
    if len(found) < len(expected):
        return f"truncated after line {len(found) - 1} of {len(expected) - 1}"
    return f"extra content from line {len(expected)}: {_clip(found[len(expected) - 1])}"


def _clip(line: str, around: int = 0, width: int = 60) -> str:
    """Up to `width` characters of `line` centred on column `around`, so a difference is visible."""
    start = max(0, min(around - width // 2, len(line) - width))
    piece = line[start : start + width]
    return repr(("..." if start else "") + piece + ("..." if start + width < len(line) else ""))


def cmd_graph(args: argparse.Namespace) -> int:
    seed = validate_seed(args.seed)
    keep: list[Script] = []
    result = run(args.name, seed, keep)
    graphs = [kernel_graph(k) for k in keep[0].kernels] if keep else []
    print(to_dot(result.scenario, graphs))
    return 0


_SHAPES = {"signal": "ellipse", "computed": "box", "effect": "hexagon", "async effect": "doubleoctagon"}


def _q(text: str) -> str:
    return json.dumps(text)


def to_dot(title: str, graphs: Sequence[Graph]) -> str:
    out = [f"digraph {_q(title)} {{", "  rankdir=LR;", "  node [fontsize=10];"]
    for ki, g in enumerate(graphs):
        pre = f"k{ki}_" if len(graphs) > 1 else ""
        ind = "  "
        if len(graphs) > 1:
            out.append(f"  subgraph {_q(f'cluster_kernel_{ki}')} {{")
            out.append(f"    label={_q(f'kernel {ki}')};")
            ind = "    "
        by_owner: dict[str | None, list[Any]] = {}
        for node in g.nodes:
            by_owner.setdefault(node.owner, []).append(node)
        for ci, owner in enumerate(g.owners):
            nodes = by_owner.get(owner, [])
            out.append(f"{ind}subgraph {_q(f'cluster_{pre}{ci}')} {{")
            out.append(f"{ind}  label={_q(owner)};")
            for node in nodes:
                label = node.name
                for sep in (".", "<-"):
                    if label.startswith(owner + sep):
                        label = ("<- " if sep == "<-" else "") + label[len(owner) + len(sep) :]
                out.append(f"{ind}  {pre}{node.id} [label={_q(label)}, shape={_SHAPES[node.kind]}];")
            out.append(f"{ind}}}")
        for node in by_owner.get(None, []):
            out.append(f"{ind}{pre}{node.id} [label={_q(node.name)}, shape={_SHAPES[node.kind]}, style=dashed];")
        for src, dst in g.edges:
            out.append(f"{ind}{pre}{src} -> {pre}{dst};")
        if len(graphs) > 1:
            out.append("  }")
    out.append("}")
    return "\n".join(out)
