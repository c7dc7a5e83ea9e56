"""The scenario commands: list, run, explore, replay, graph, and their error paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from glitchless.cli import main
from glitchless.scenarios import SCENARIOS, Script, load_all, scenario

ROOT = Path(__file__).resolve().parent.parent
MINE = ["reactive-intent", "secret-rotation", "circuit-breaker", "hot-update"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def flaky() -> Iterator[str]:
    """A scenario that fails under odd seeds, registered only for the test."""
    load_all()

    @scenario("test-flaky", "fails under odd seeds")
    async def body(s: Script) -> None:
        s.step("check the seed")
        s.expect("seed is even", s.seed % 2, 0)

    yield "test-flaky"
    del SCENARIOS["test-flaky"]


def test_list_shows_each_scenario_with_a_one_line_description(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "list")
    lines = out.splitlines()
    assert status == 0
    for name in MINE:
        line = next(line for line in lines if line.split()[0] == name)
        assert len(line.split()) > 2
    assert [line.split()[0] for line in lines if line.split()[0] in MINE] == MINE


def test_run_prints_a_timeline_with_virtual_time_and_a_verdict_per_check(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "run", "circuit-breaker")
    assert status == 0
    assert "0d 00:00:00.000  == boot: config, ext-api, payment-svc" in out
    assert "!! fault: API down" in out
    assert "PASS event log" in out
    assert out.rstrip().splitlines()[-1] == "circuit-breaker: 15/15 checks passed -- PASS"


def test_run_json_is_one_document_with_checks_and_observations(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "run", "hot-update", "--seed", "4", "--json")
    doc = json.loads(out)
    assert status == 0
    assert set(doc) == {"scenario", "seed", "passed", "checks", "observations"}
    assert (doc["scenario"], doc["seed"], doc["passed"]) == ("hot-update", 4, True)
    assert set(doc["checks"][0]) == {"name", "passed", "detail"}
    assert doc["observations"]["total_queries"] == 2


def test_run_exits_nonzero_when_a_check_fails(capsys: pytest.CaptureFixture[str], flaky: str) -> None:
    assert run_cli(capsys, "run", flaky, "--seed", "2")[0] == 0
    status, out, _ = run_cli(capsys, "run", flaky, "--seed", "3")
    assert status == 1
    assert "FAIL seed is even" in out


def test_run_all_prints_a_verdict_table_and_exits_zero_when_all_pass(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "run", "--all")
    lines = out.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.split()[:3] == ["scenario", "checks", "verdict"]) :]
    assert status == 0
    assert table[0].split() == ["scenario", "checks", "verdict", "wall", "ms"]
    rows = {line.split()[0]: line.split() for line in table[2:]}
    for name in MINE:
        assert rows[name][2] == "PASS"
        passed, total = rows[name][1].split("/")
        assert passed == total


def test_run_all_json_is_a_list_of_results(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "run", "--all", "--json")
    docs = json.loads(out)
    assert status == 0
    assert [d["scenario"] for d in docs if d["scenario"] in MINE] == MINE


def test_run_all_fails_when_one_scenario_fails(capsys: pytest.CaptureFixture[str], flaky: str) -> None:
    status, out, _ = run_cli(capsys, "run", "--all", "--seed", "1")
    assert status == 1
    assert any(line.split()[:3] == [flaky, "0/1", "FAIL"] for line in out.splitlines())


def cli_process(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "glitchless", *argv], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("name", MINE)
def test_same_scenario_and_seed_in_two_processes_write_byte_identical_traces(name: str, tmp_path: Path) -> None:
    for f in ("a.jsonl", "b.jsonl"):
        done = cli_process("run", name, "--seed", "17", "--trace", f, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    a, b = (tmp_path / "a.jsonl").read_bytes(), (tmp_path / "b.jsonl").read_bytes()
    assert a == b
    header = json.loads(a.splitlines()[0])
    assert header == {"kind": "header", "scenario": name, "seed": 17, "glitchless": "0.1.0"}


def test_replay_confirms_an_untouched_trace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl"
    run_cli(capsys, "run", "secret-rotation", "--seed", "9", "--trace", str(trace))
    status, out, _ = run_cli(capsys, "replay", str(trace))
    assert status == 0
    assert out.startswith("replayed secret-rotation --seed 9:") and out.rstrip().endswith("byte-identical")


def written_trace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    trace = tmp_path / "t.jsonl"
    run_cli(capsys, "run", "circuit-breaker", "--seed", "2", "--trace", str(trace))
    return trace


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("glitchless: error: ")
    return lines[0]


def test_replay_rejects_a_tampered_trace_naming_the_first_differing_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = written_trace(capsys, tmp_path)
    lines = trace.read_text().splitlines(keepends=True)
    lines[6] = lines[6].replace('"t":', '"t":1')
    trace.write_text("".join(lines))
    status, _, err = run_cli(capsys, "replay", str(trace))
    assert status == 1
    assert "line 7 differs" in one_error_line(err)


def test_replay_rejects_a_truncated_trace(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = written_trace(capsys, tmp_path)
    lines = trace.read_text().splitlines(keepends=True)
    trace.write_text("".join(lines[:10]))
    status, _, err = run_cli(capsys, "replay", str(trace))
    assert status == 1
    assert f"truncated after line 10 of {len(lines)}" in one_error_line(err)


def test_replay_rejects_a_trace_with_a_changed_seed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = written_trace(capsys, tmp_path)
    trace.write_text(trace.read_text().replace('"seed":2', '"seed":3', 1))
    status, _, err = run_cli(capsys, "replay", str(trace))
    assert status == 1
    assert "line 2 differs" in one_error_line(err)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not json\n", "no glitchless header"),
        (b"", "no glitchless header"),
        (b'{"kind":"header","scenario":"hot-update","seed":"0"}\n', "no glitchless header"),
        (b'{"kind":"header","scenario":"nope","seed":0}\n', "unknown scenario 'nope'"),
        (b'{"kind":"header","scenario":"hot-update","seed":-4}\n', "must be non-negative"),
        (b"\xff\xfe\n", "non-ASCII byte at offset 0"),
    ],
)
def test_replay_of_an_unusable_trace_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, problem: str
) -> None:
    trace = tmp_path / "bad.jsonl"
    trace.write_bytes(content)
    status, _, err = run_cli(capsys, "replay", str(trace))
    assert status == 2
    assert problem in one_error_line(err)


def test_replay_of_a_missing_file_is_a_one_line_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run_cli(capsys, "replay", str(tmp_path / "missing.jsonl"))
    assert status == 2
    assert "cannot read trace" in one_error_line(err)


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["run", "no-such-scenario"], "unknown scenario 'no-such-scenario'; known scenarios: "),
        (["run", "hot-update", "--seed", "abc"], "--seed must be an integer, got 'abc'"),
        (["run", "hot-update", "--seed", "-3"], "--seed must be non-negative, got -3"),
        (["run", "hot-update", "--seed", "1.5"], "--seed must be an integer"),
        (["run"], "give a scenario name"),
        (["run", "hot-update", "--all"], "not both"),
        (["run", "--all", "--trace", "x.jsonl"], "--trace writes one scenario's trace"),
        (["explore", "no-such-scenario", "--seeds", "3"], "unknown scenario"),
        (["explore", "hot-update", "--seeds", "0"], "--seeds must be at least 1"),
        (["explore", "hot-update", "--seeds", "ten"], "--seeds must be an integer"),
        (["explore", "hot-update", "--seeds", "2", "--start", "-1"], "--start must be non-negative"),
        (["graph", "no-such-scenario"], "unknown scenario"),
        (["graph", "hot-update", "--seed", "x"], "--seed must be an integer"),
    ],
)
def test_bad_input_is_a_one_line_error_with_exit_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], problem: str
) -> None:
    status, out, err = run_cli(capsys, *argv)
    assert status == 2
    assert problem in one_error_line(err)


def test_run_trace_to_an_unwritable_path_is_a_one_line_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run_cli(capsys, "run", "hot-update", "--trace", str(tmp_path / "no" / "dir" / "t.jsonl"))
    assert status == 2
    assert "cannot write trace" in one_error_line(err)


def test_explore_reports_each_failing_seed_with_the_command_that_replays_it(
    capsys: pytest.CaptureFixture[str], flaky: str
) -> None:
    status, out, _ = run_cli(capsys, "explore", flaky, "--seeds", "4", "--start", "10")
    assert status == 1
    assert out.splitlines() == [
        "seed 11: FAIL -- seed is even: expected 0, got 1",
        f"  replay: glitchless run {flaky} --seed 11",
        "seed 13: FAIL -- seed is even: expected 0, got 1",
        f"  replay: glitchless run {flaky} --seed 13",
        f"{flaky}: 4 seeds from 10, 2 failing",
    ]


@pytest.mark.parametrize("name", MINE)
def test_explore_finds_no_failing_seed_in_my_scenarios(capsys: pytest.CaptureFixture[str], name: str) -> None:
    status, out, _ = run_cli(capsys, "explore", name, "--seeds", "25")
    assert (status, out) == (0, f"{name}: 25 seeds from 0, 0 failing\n")


def test_graph_prints_dot_with_components_as_clusters_and_source_to_dependent_edges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run_cli(capsys, "graph", "circuit-breaker")
    assert status == 0
    assert out.startswith('digraph "circuit-breaker" {')
    assert out.rstrip().endswith("}")
    for owner in ("config", "ext-api", "payment-svc"):
        assert f'label="{owner}";' in out
    ids = {}
    for line in out.splitlines():
        line = line.strip()
        if "[label=" in line:
            ids[line.split('label="')[1].split('"')[0]] = line.split()[0]
    edges = {tuple(line.strip().rstrip(";").split(" -> ")) for line in out.splitlines() if " -> " in line}
    assert (ids["state"], ids["log_transitions"]) in edges  # the breaker's state signal feeds the logging effect
    assert (ids["health"], ids["apply_health"]) in edges
    assert (ids["circuit.failure_threshold"], ids["threshold"]) in edges
