"""`glitchless report`: one project's scenarios, coverage, graph coverage and mutation results in one place.

Writes reports/summary.md and reports/index.html (one self-contained file, charts as inline
SVG, readable offline) from a Jinja2 template. The project's scenarios are run afresh; the
other sections are read from what `glitchless coverage`, `glitchless mutate` and the property
commands last wrote under reports/, each labelled with its age and commit, and say how to
produce them when absent. reports/history.jsonl gives the trend across runs.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from glitchless.reports.project import Project, stamp

REPORTS = Path("reports")
PROPERTIES_JSON = REPORTS / "properties.json"
COVERAGE_JSON = REPORTS / "coverage" / "summary.json"
GRAPH_JSON = REPORTS / "graph-coverage.json"
MUTATION_JSON = REPORTS / "mutation.json"
CHECKER_JSON = REPORTS / "checker-score.json"
HISTORY = REPORTS / "history.jsonl"


@dataclass(frozen=True)
class ScenarioRow:
    name: str
    passed: int
    total: int
    verdict: bool
    wall_ms: float
    failed_checks: list[str]
    description: str = ""
    timeline: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)


def run_scenarios(project: Project | None = None, seed: int = 0) -> list[ScenarioRow]:
    """The project's registered scenarios (all of them when no project is given), run at `seed`."""
    from glitchless.scenarios import ordered_scenarios, run_scenario
    from glitchless.scenarios.cli import timeline_line

    rows = []
    for sc in ordered_scenarios():
        if project is not None and not project.owns(getattr(sc.body, "__module__", "")):
            continue
        started = time.perf_counter()  # how long the scenario took to run, for the report only
        result = run_scenario(sc.name, seed)
        wall_ms = (time.perf_counter() - started) * 1000
        ok = sum(c.passed for c in result.checks)
        failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.passed]
        timeline = [line for e in result.trace if (line := timeline_line(e)) is not None]
        checks = [(c.name, c.passed, c.detail) for c in result.checks]
        rows.append(ScenarioRow(sc.name, ok, len(result.checks), result.passed, wall_ms, failed,
                                sc.description, timeline, checks))
    return rows


def record_properties(section: str, key: str, value: Any) -> None:
    """Keep the latest property-run figures in reports/properties.json for `glitchless report`, whole or not at all."""
    from glitchless.cli_support import write_atomic  # a file that cannot be written: one-line UsageError

    data = _load(PROPERTIES_JSON) or {}
    data.setdefault(section, {})[key] = value
    write_atomic(PROPERTIES_JSON, json.dumps(data, indent=2, sort_keys=True) + "\n", what="property figures")


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load_history(path: Path) -> list[dict[str, Any]]:
    out = []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a torn last line from an interrupted write: skip it, keep the rest
        if isinstance(entry, dict) and isinstance(entry.get("kind"), str):
            out.append(entry)
    return out


@dataclass(frozen=True)
class Inputs:
    scenarios: list[ScenarioRow]
    properties: dict[str, Any] | None
    coverage: dict[str, Any] | None
    mutation: dict[str, Any] | None
    graph: dict[str, Any] | None = None
    checker: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)
    ages: dict[str, str] = field(default_factory=dict)  # section -> "measured 2 h ago at abc123"


def gather(project: Project, seed: int = 0) -> Inputs:
    root = project.root
    info = stamp(project)
    parts = {
        "properties": _load(root / PROPERTIES_JSON),
        "coverage": _load(root / COVERAGE_JSON),
        "graph": _load(root / GRAPH_JSON),
        "mutation": _load(root / MUTATION_JSON),
        "checker": _load(root / CHECKER_JSON),
    }
    paths = {"properties": PROPERTIES_JSON, "coverage": COVERAGE_JSON, "graph": GRAPH_JSON,
             "mutation": MUTATION_JSON, "checker": CHECKER_JSON}
    ages = {}
    now = datetime.fromisoformat(info["generated_at"])
    for name, data in parts.items():
        if data is None:
            continue
        ages[name] = age_label(data, root / paths[name], now, info["commit"])
    return Inputs(run_scenarios(project, seed), parts["properties"], parts["coverage"], parts["mutation"],
                  parts["graph"], parts["checker"], load_history(root / HISTORY), info, ages)


def age_label(data: dict[str, Any], path: Path, now: datetime, commit: str) -> str:
    """"measured 3 h ago at commit abc123 (now def456)": when a result came from, so old ones stand out."""
    when: datetime | None = None
    if isinstance(data.get("generated_at"), str):
        try:
            when = datetime.fromisoformat(data["generated_at"])
        except ValueError:
            when = None
    if when is None:
        try:
            when = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        except OSError:
            return "age unknown"
    text = f"measured {ago((now - when).total_seconds())}"
    then = data.get("commit")
    if isinstance(then, str) and then:
        text += f" at commit {then}"
        if commit and then != commit:
            text += f" (now {commit})"
    return text


def change(diff: object) -> str:
    """A mutant's diff as one line: `before -> after`, for the survivor list."""
    from glitchless.reports.mutation import changed_lines

    before, after = changed_lines(str(diff))
    text = f"{before} → {after or '(removed)'}".replace("\n", "; ")
    return text if len(text) <= 110 else text[:107] + "..."


def when(iso: object) -> str:
    """`2026-12-01T02:33:58+00:00` -> `2026-12-01 02:33 UTC`; anything else as it is."""
    try:
        t = datetime.fromisoformat(str(iso)).astimezone(timezone.utc)
    except ValueError:
        return str(iso)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def ago(seconds: float) -> str:
    if seconds < 90:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return "just now"


# -- markdown -------------------------------------------------------------------


def to_markdown(inp: Inputs) -> str:
    i = inp.info
    out = [f"# {i.get('project', 'glitchless')}: glitchless report", "",
           f"{i.get('generated_at', '')} · commit {i.get('commit') or 'unknown'} · glitchless {i.get('glitchless', '')} "
           f"· Python {i.get('python', '')}", ""]
    passed = sum(r.verdict for r in inp.scenarios)
    out += [f"## Scenarios: {passed}/{len(inp.scenarios)} pass (seed 0)", ""]
    if inp.scenarios:
        out += ["| scenario | checks | verdict |", "|---|---|---|"]
        for r in inp.scenarios:
            out.append(f"| {r.name} | {r.passed}/{r.total} | {'PASS' if r.verdict else 'FAIL'} |")
        for r in inp.scenarios:
            out += [f"- {r.name} failed: {f}" for f in r.failed_checks]
    else:
        out.append("No scenarios registered by this project (entry-point group `glitchless.scenarios`).")
    if inp.properties is not None:
        out += ["", "## Properties", "", f"_{inp.ages.get('properties', '')}_", ""]
        out += _properties_md(inp.properties)
    out += ["", "## Coverage", ""]
    if inp.coverage is None:
        out.append("Not measured yet: run `glitchless coverage`.")
    else:
        out += [f"_{inp.ages.get('coverage', '')}_", ""]
        t = inp.coverage.get("tests") or {}
        if t:
            state = "FAILING" if t.get("failed") or t.get("errors") or t.get("exit_status") else "passing"
            out += [f"Tests {state}: {t.get('passed', 0)} passed, {t.get('failed', 0)} failed, "
                    f"{t.get('errors', 0)} errors, {t.get('skipped', 0)} skipped", ""]
            out += [f"- failing: {n}" for n in t.get("failing", [])]
        out += ["| package | line % | branch % |", "|---|---|---|"]
        for name, f in [*inp.coverage["packages"].items(), ("total", inp.coverage["total"])]:
            out.append(f"| {name} | {f['line_percent']:.1f} | {f['branch_percent']:.1f} |")
        out += [f"- below floor: {b}" for b in inp.coverage.get("below_floors", [])]
    out += ["", "## Graph coverage", ""]
    if inp.graph is None:
        out.append("Not measured yet: run `glitchless coverage`.")
    else:
        out += ["| kind | covered | missed |", "|---|---|---|"]
        for kind, d in inp.graph.items():
            out.append(f"| {kind} | {len(d['covered'])} | {', '.join(d['missed']) or '-'} |")
    out += ["", f"## Mutation testing ({(inp.mutation or {}).get('title', 'not run')})", ""]
    if inp.mutation is None:
        out.append("Not run yet: run `glitchless mutate`.")
    else:
        m = inp.mutation
        c = m["counts"]
        out += [
            f"_{inp.ages.get('mutation', '')}_", "",
            f"- mutants {m['total']}: killed {c.get('killed', 0)}, timed out {c.get('timeout', 0)}, "
            f"reviewed equivalent {m['equivalent']} (of the survived {c.get('survived', 0)} and no-tests "
            f"{c.get('no tests', 0)}), unexplained survivors {len(m['survivors'])}",
            f"- score {m['killed_percent']:.1f}% killed ({m['detected_percent']:.1f}% detected), run time {m['seconds']:.0f} s",
            f"- survivors: {len(m['survivors'])} (details in reports/mutation.md)",
        ]
    if inp.checker is not None:
        out += ["", "## Checker score", "", f"_{inp.ages.get('checker', '')}_", "", _checker_text(inp.checker)]
    return "\n".join(out) + "\n"


def _checker_text(data: dict[str, Any]) -> str:
    """The property machines' own mutation score, as `glitchless checker-score` wrote it."""
    try:
        text = (f"{data['killed_percent']:.1f}% of the scored mutants of {data.get('mutated', 'the kernel')} killed by "
                f"the property machines alone (goal {data.get('goal_percent', 90):.0f}%): {data['killed']} killed of "
                f"{data['scored']} scored, {data['equivalent']} reviewed equivalent")
    except (KeyError, TypeError, ValueError):
        shown = {k: v for k, v in data.items() if isinstance(v, (int, float, str)) and k not in ("generated_at", "commit")}
        return ", ".join(f"{k}: {v}" for k, v in shown.items()) or json.dumps(data)
    counts = data.get("counts") or {}
    if counts.get("no tests"):
        text += f", {counts['no tests']} never reached"
    partial = []
    if data.get("sample_every", 1) > 1:
        partial.append(f"a sample: every {data['sample_every']}th mutant"
                       + (f" from #{data['sample_offset']}" if data.get("sample_offset") else ""))
    if data.get("not_checked"):
        partial.append(f"{data['not_checked']} not checked yet")
    if partial:
        text += f" ({'; '.join(partial)})"
    if data.get("selection"):
        text += f". Test command: {data['selection']}; survivors in reports/checker-score.md."
    return text


def _properties_md(p: dict[str, Any] | None) -> list[str]:
    if p is None:
        return ["Not run yet: run `glitchless fuzz`, `glitchless exhaustive` and `glitchless conformance`."]
    out = []
    for target, f in sorted(p.get("fuzz", {}).items()):
        verdict = "passed" if f["passed"] else f"FAILED ({', '.join(f['failures'])})"
        out.append(f"- fuzz on {target}: {f['examples']} examples ({f['runs']} machine runs, seed {f['seed']}), "
                   f"{f['seconds']:.1f} s: {verdict}")
    for target, e in sorted(p.get("exhaustive", {}).items()):
        out.append(f"- exhaustive on {target}: {e['cases']} cases checked in {e['seconds']:.1f} s: "
                   + ("passed" if e["passed"] else f"{e['failing']} failing"))
    table = p.get("conformance", {})
    if table:
        props = sorted({k for row in table.values() for k in row})
        out += ["", "| kernel | " + " | ".join(props) + " |", "|---|" + "---|" * len(props)]
        for kernel, row in table.items():
            out.append(f"| {kernel} | " + " | ".join(row.get(k, "-") for k in props) + " |")
    return out


# -- html -------------------------------------------------------------------------


def stacked(segments: list[tuple[str, int, str]], width: int = 700) -> str:
    shown = [s for s in segments if s[1] > 0]
    total = sum(n for _, n, _ in shown) or 1
    x, parts = 0.0, [f'<svg width="{width}" height="46" role="img" xmlns="http://www.w3.org/2000/svg">']
    legend_x = 0
    for label, n, colour in shown:
        w = width * n / total
        parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="20" fill="{colour}"/>')
        parts.append(f'<rect x="{legend_x}" y="28" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="37" font-size="12">{html.escape(label)} {n}</text>')
        x += w
        legend_x += 140
    parts.append("</svg>")
    return "".join(parts)


def trend(points: list[tuple[str, float]], *, label: str, width: int = 520, height: int = 120) -> str | None:
    """A line over runs, or None when it would carry no information (fewer than two runs, or all equal)."""
    values = [v for _, v in points]
    if len(points) < 2 or max(values) == min(values):
        return None
    lo, hi = min(values), max(values)
    pad, left = 14, 48
    step = (width - left - pad) / (len(points) - 1)

    def y(v: float) -> float:
        return pad + (height - 2 * pad) * (hi - v) / (hi - lo)

    coords = " ".join(f"{left + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(label)}" '
             'xmlns="http://www.w3.org/2000/svg">',
             f'<text x="{left - 6}" y="{y(hi) + 4:.1f}" text-anchor="end" font-size="11">{hi:.1f}</text>',
             f'<text x="{left - 6}" y="{y(lo) + 4:.1f}" text-anchor="end" font-size="11">{lo:.1f}</text>',
             f'<polyline points="{coords}" fill="none" stroke="#3b7dd8" stroke-width="2"/>']
    for i, (when, v) in enumerate(points):
        parts.append(f'<circle cx="{left + i * step:.1f}" cy="{y(v):.1f}" r="3" fill="#3b7dd8">'
                     f"<title>{html.escape(when)}: {v:.1f}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def _template() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("glitchless.reports", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = when
    env.filters["change"] = change
    env.filters["bar"] = lambda pct: f"background:linear-gradient(90deg,#d6e6fb {pct:.1f}%,transparent {pct:.1f}%)"
    return env.get_template("report.html.j2")


def to_html(inp: Inputs) -> str:
    from markupsafe import Markup

    cov = inp.coverage
    mutation_chart = None
    m = inp.mutation
    if m is not None and m["total"]:
        c = m["counts"]
        open_survivors = [s["status"] for s in m["survivors"]]
        mutation_chart = Markup(stacked([
            ("killed", c.get("killed", 0), "#2e9e5b"), ("timed out", c.get("timeout", 0), "#8fbf3f"),
            ("equivalent", m["equivalent"], "#9aa0a6"), ("survived", open_survivors.count("survived"), "#d8453b"),
            ("no tests", open_survivors.count("no tests"), "#e0a030"),
        ]))
    trends = []
    cov_runs = [h for h in inp.history if h["kind"] == "coverage"]
    mut_runs = [h for h in inp.history if h["kind"] == "mutation"]
    for title, runs, key in (("total line coverage %", cov_runs, "line_percent"),
                             ("total branch coverage %", cov_runs, "branch_percent"),
                             ("mutation score %", mut_runs, "killed_percent")):
        points = [(str(h.get("generated_at", "")), float(h[key])) for h in runs if isinstance(h.get(key), (int, float))]
        chart = trend(points, label=title)
        if chart is not None:
            trends.append((title, Markup(chart)))
    tests = (cov or {}).get("tests") or {}
    failing = bool(tests.get("failed") or tests.get("errors") or tests.get("exit_status"))
    return str(_template().render(
        inp=inp, info=inp.info, ages=inp.ages, mutation_chart=mutation_chart,
        trends=trends, history=inp.history[-12:], tests=tests, tests_failing=failing,
        properties_lines=_properties_md(inp.properties) if inp.properties is not None else [],
        checker_text=_checker_text(inp.checker) if inp.checker is not None else "",
        passed=sum(r.verdict for r in inp.scenarios),
    ))


def write_report(project: Project, seed: int = 0) -> tuple[Path, Path, Inputs]:
    from glitchless.cli_support import write_atomic

    inp = gather(project, seed)
    reports = project.root / REPORTS
    md, page = reports / "summary.md", reports / "index.html"
    write_atomic(md, to_markdown(inp))
    write_atomic(page, to_html(inp))
    return REPORTS / "summary.md", REPORTS / "index.html", inp
