"""`glitchless report`: scenarios, properties, coverage and mutation results in one place.

Writes reports/summary.md and reports/index.html (one self-contained file, charts as
inline SVG, readable offline). Scenarios are run afresh; the other sections are read
from what `glitchless fuzz/conformance/exhaustive`, `glitchless coverage` and
`glitchless mutate` last wrote under reports/, and say how to produce them when absent.
"""

from __future__ import annotations

import html
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPORTS = Path("reports")
PROPERTIES_JSON = REPORTS / "properties.json"
COVERAGE_JSON = REPORTS / "coverage" / "summary.json"
MUTATION_JSON = REPORTS / "mutation.json"
CHECKER_SCORE_JSON = REPORTS / "checker-score.json"


@dataclass(frozen=True)
class ScenarioRow:
    name: str
    passed: int
    total: int
    verdict: bool
    wall_ms: float
    failed_checks: list[str]


def run_scenarios(seed: int = 0) -> list[ScenarioRow]:
    from glitchless.scenarios import ordered_scenarios, run_scenario

    rows = []
    for name in [sc.name for sc in ordered_scenarios()]:
        started = time.perf_counter()  # how long the scenario took to run, for the report only
        result = run_scenario(name, seed)
        wall_ms = (time.perf_counter() - started) * 1000
        ok = sum(c.passed for c in result.checks)
        failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.passed]
        rows.append(ScenarioRow(name, ok, len(result.checks), result.passed, wall_ms, failed))
    return rows


def record_properties(section: str, key: str, value: Any) -> None:
    """Keep the latest property-run figures in reports/properties.json for `glitchless report`."""
    data = _load(PROPERTIES_JSON) or {}
    data.setdefault(section, {})[key] = value
    PROPERTIES_JSON.parent.mkdir(parents=True, exist_ok=True)
    PROPERTIES_JSON.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Inputs:
    scenarios: list[ScenarioRow]
    properties: dict[str, Any] | None
    coverage: dict[str, Any] | None
    mutation: dict[str, Any] | None
    checker_score: dict[str, Any] | None = None


def gather(seed: int = 0) -> Inputs:
    return Inputs(run_scenarios(seed), _load(PROPERTIES_JSON), _load(COVERAGE_JSON), _load(MUTATION_JSON),
                  _load(CHECKER_SCORE_JSON))


def _scores_md(inp: Inputs) -> list[str]:
    """The two mutation scores side by side: the unit tests' and the property machines' alone."""
    rows = ["| killed by | mutated | killed | scored | equivalent | score |", "|---|---|---|---|---|---|"]
    m = inp.mutation
    if m is None:
        rows.append("| unit tests | glitchless/kernel | - | - | - | not run: `glitchless mutate` |")
    else:
        rows.append(f"| unit tests | glitchless/kernel | {m['counts'].get('killed', 0)} | "
                    f"{m.get('scored', m['total'] - m['equivalent'])} | "
                    f"{m['equivalent']} | {m['killed_percent']:.1f}% |")
    c = inp.checker_score
    if c is None:
        rows.append("| property machines only | reactive.py | - | - | - | not run: `glitchless checker-score` |")
    else:
        partial = []
        if c.get("sample_every", 1) > 1:
            partial.append(f"every {c['sample_every']}th mutant")
        if c.get("not_checked"):
            partial.append(f"{c['not_checked']} not checked")
        note = f" ({', '.join(partial)})" if partial else ""
        rows.append(f"| property machines only | reactive.py | {c['killed']} | {c['scored']} | {c['equivalent']} | "
                    f"{c['killed_percent']:.1f}% (goal {c['goal_percent']:.0f}%){note} |")
    return rows


# -- markdown -------------------------------------------------------------------


def to_markdown(inp: Inputs) -> str:
    out = ["# glitchless report", ""]
    passed = sum(r.verdict for r in inp.scenarios)
    out += [f"## Scenarios: {passed}/{len(inp.scenarios)} pass (seed 0)", "",
            "| scenario | checks | verdict | wall ms |", "|---|---|---|---|"]
    for r in inp.scenarios:
        out.append(f"| {r.name} | {r.passed}/{r.total} | {'PASS' if r.verdict else 'FAIL'} | {r.wall_ms:.1f} |")
    for r in inp.scenarios:
        out += [f"- {r.name} failed: {f}" for f in r.failed_checks]
    out += ["", "## Properties", ""]
    out += _properties_md(inp.properties)
    out += ["", "## Coverage", ""]
    if inp.coverage is None:
        out.append("Not measured yet: run `glitchless coverage`.")
    else:
        out += ["| package | line % | branch % |", "|---|---|---|"]
        for name, f in [*inp.coverage["packages"].items(), ("total", inp.coverage["total"])]:
            out.append(f"| {name} | {f['line_percent']:.1f} | {f['branch_percent']:.1f} |")
    out += ["", "## Mutation testing (glitchless/kernel)", ""]
    if inp.mutation is None:
        out.append("Not run yet: run `glitchless mutate` (about 5 minutes on 2 cores).")
    else:
        m = inp.mutation
        c = m["counts"]
        out += [
            f"- mutants {m['total']}: killed {c.get('killed', 0)}, timed out {c.get('timeout', 0)}, "
            f"reviewed equivalent {m['equivalent']} (of the survived {c.get('survived', 0)} and no-tests "
            f"{c.get('no tests', 0)}), unexplained survivors {len(m['survivors'])}",
            f"- score {m['killed_percent']:.1f}% killed ({m['detected_percent']:.1f}% detected), run time {m['seconds']:.0f} s",
            f"- survivors: {len(m['survivors'])} (details in reports/mutation.md)",
        ]
    out += ["", "### Checker strength: the same kind of score, the property machines alone", ""]
    out += _scores_md(inp)
    if inp.checker_score is not None:
        out += ["", f"Test command: {inp.checker_score['selection']}; survivors in reports/checker-score.md."]
    return "\n".join(out) + "\n"


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


def _bars(items: list[tuple[str, float]], *, maximum: float, unit: str, width: int = 520) -> str:
    """A horizontal bar chart as inline SVG."""
    row, label_w = 22, 150
    h = row * len(items) + 10
    parts = [f'<svg width="{width + label_w + 60}" height="{h}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        w = 0 if maximum <= 0 else max(1.0, width * value / maximum)
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">{html.escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="14" fill="#3b7dd8"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" font-size="12">{value:.1f}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _stacked(segments: list[tuple[str, int, str]], width: int = 700) -> str:
    total = sum(n for _, n, _ in segments) or 1
    x, parts = 0.0, [f'<svg width="{width}" height="46" role="img" xmlns="http://www.w3.org/2000/svg">']
    legend_x = 0
    for label, n, colour in segments:
        w = width * n / total
        parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="20" fill="{colour}"/>')
        parts.append(f'<rect x="{legend_x}" y="28" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="37" font-size="12">{html.escape(label)} {n}</text>')
        x += w
        legend_x += 140
    parts.append("</svg>")
    return "".join(parts)


def to_html(inp: Inputs) -> str:
    esc = html.escape
    body = ["<h1>glitchless report</h1>"]
    passed = sum(r.verdict for r in inp.scenarios)
    body.append(f"<h2>Scenarios: {passed}/{len(inp.scenarios)} pass (seed 0)</h2>")
    body.append("<table><tr><th>scenario</th><th>checks</th><th>verdict</th><th>wall ms</th></tr>")
    for r in inp.scenarios:
        cls = "pass" if r.verdict else "fail"
        body.append(
            f"<tr><td>{esc(r.name)}</td><td>{r.passed}/{r.total}</td>"
            f'<td class="{cls}">{"PASS" if r.verdict else "FAIL"}</td><td>{r.wall_ms:.1f}</td></tr>'
        )
    body.append("</table>")
    body.append(_bars([(r.name, r.wall_ms) for r in inp.scenarios],
                      maximum=max([r.wall_ms for r in inp.scenarios] or [1.0]), unit=" ms"))
    for r in inp.scenarios:
        body += [f"<p class='fail'>{esc(r.name)} failed: {esc(f)}</p>" for f in r.failed_checks]
    body.append("<h2>Properties</h2>")
    body.append(_md_list_to_html(_properties_md(inp.properties)))
    body.append("<h2>Coverage</h2>")
    if inp.coverage is None:
        body.append("<p>Not measured yet: run <code>glitchless coverage</code>.</p>")
    else:
        pk = inp.coverage["packages"]
        body.append("<h3>Line coverage per package</h3>")
        body.append(_bars([(k, v["line_percent"]) for k, v in pk.items()], maximum=100, unit="%"))
        body.append("<h3>Branch coverage per package</h3>")
        body.append(_bars([(k, v["branch_percent"]) for k, v in pk.items()], maximum=100, unit="%"))
        body.append("<p>Line by line: <a href='coverage/html/index.html'>coverage/html/index.html</a></p>")
    body.append("<h2>Mutation testing (glitchless/kernel)</h2>")
    if inp.mutation is None:
        body.append("<p>Not run yet: run <code>glitchless mutate</code>.</p>")
    else:
        m, c = inp.mutation, inp.mutation["counts"]
        body.append(
            f"<p>{m['total']} mutants; score <b>{m['killed_percent']:.1f}%</b> killed "
            f"({m['detected_percent']:.1f}% detected); run time {m['seconds']:.0f} s; "
            f"{m['equivalent']} reviewed equivalent.</p>"
        )
        open_survivors = [s["status"] for s in m["survivors"]]
        body.append(_stacked([
            ("killed", c.get("killed", 0), "#2e9e5b"), ("timed out", c.get("timeout", 0), "#8fbf3f"),
            ("equivalent", m["equivalent"], "#9aa0a6"), ("survived", open_survivors.count("survived"), "#d8453b"),
            ("no tests", open_survivors.count("no tests"), "#e0a030"),
        ]))
        if m["survivors"]:
            body.append("<h3>Survivors</h3>")
            for s in m["survivors"]:
                body.append(f"<details><summary>{esc(s['file'])}:{s['line']} ({esc(s['status'])})</summary>"
                            f"<pre>{esc(s['diff'])}</pre></details>")
    body.append("<h3>Checker strength: the property machines alone</h3>")
    body.append(_md_list_to_html(_scores_md(inp)))
    if inp.checker_score is not None:
        body.append(f"<p>Test command: {esc(inp.checker_score['selection'])}; survivors in "
                    "<code>checker-score.md</code>.</p>")
    style = (
        "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0;display:block;overflow-x:auto}td,th{border:1px solid #ccc;padding:3px 10px;text-align:left}"
        ".pass{color:#1d7a3e;font-weight:600}.fail{color:#b3261e;font-weight:600}pre{background:#f6f6f6;padding:8px}"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>glitchless report</title>"
        f"<style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def _md_list_to_html(lines: list[str]) -> str:
    """The properties section's few markdown shapes (bullets and one table) as HTML."""
    esc = html.escape
    out, in_table = [], False
    for ln in lines:
        if ln.startswith("|---"):
            continue
        if ln.startswith("| "):
            cells = [c.strip() for c in ln.strip("|").split("|")]
            tag = "th" if not in_table else "td"
            out.append(("<table>" if not in_table else "") + "<tr>" + "".join(
                f"<{tag} class='{'pass' if c == 'pass' else 'fail' if c == 'FAIL' else ''}'>{esc(c)}</{tag}>" for c in cells
            ) + "</tr>")
            in_table = True
            continue
        if in_table:
            out.append("</table>")
            in_table = False
        if ln:
            text = esc(ln[2:] if ln.startswith("- ") else ln)
            out.append("<p>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", text) + "</p>")
    if in_table:
        out.append("</table>")
    return "".join(out)


def write_report(seed: int = 0) -> tuple[Path, Path, Inputs]:
    inp = gather(seed)
    REPORTS.mkdir(exist_ok=True)
    md, page = REPORTS / "summary.md", REPORTS / "index.html"
    md.write_text(to_markdown(inp))
    page.write_text(to_html(inp))
    return md, page, inp
