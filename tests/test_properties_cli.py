"""The fuzz, conformance and exhaustive commands."""

import json

import pytest

from glitchless.cli import main


@pytest.fixture(autouse=True)
def _reports_in_tmp(tmp_path, monkeypatch):
    # The commands record their figures under ./reports for `glitchless report`.
    monkeypatch.chdir(tmp_path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("target", ["nope", "os:nothing", "os:path", "no.such.module:f", "glitchless.kernel:ReactiveError"])
def test_a_bad_target_is_one_line_and_exit_2_without_traceback(capsys, target):
    code, out, err = run(capsys, "fuzz", "--target", target, "--examples", "5")
    assert code == 2
    assert err.startswith("glitchless: error: ") and err.count("\n") == 1
    assert "Traceback" not in out + err


def test_bad_arguments_are_usage_errors(capsys):
    assert run(capsys, "fuzz", "--examples", "0")[0] == 2
    assert run(capsys, "fuzz", "--checks", "nonsense")[0] == 2
    assert run(capsys, "fuzz", "--replay", "{not json")[0] == 2
    assert run(capsys, "fuzz", "--replay", '{"domain":3,"steps":[["signal",0],["read",4,"get"]]}')[0] == 2
    assert run(capsys, "conformance", "--targets", "nope")[0] == 2
    assert run(capsys, "fuzz", "--ignore", "ordering")[0] == 2
    assert run(capsys, "fuzz", "--without", "gravity")[0] == 2


# What today's kernel keeps already; the hardened kernel keeps the rest (tests/test_properties_fuzz.py).
KEPT = "errors,dispose_in_runs,cascades,transient,writes"


def test_fuzz_passes_on_glitchless_with_progress(capsys, tmp_path):
    code, out, err = run(capsys, "fuzz", "--examples", "40", "--seed", "5", "--without", KEPT)
    assert code == 0
    assert "passed: up to 40 examples" in out and "seed 5" in out
    assert "machine runs in" in err and "on 1 worker" in err  # the summary line
    recorded = json.loads((tmp_path / "reports" / "properties.json").read_text())["fuzz"]["glitchless"]
    assert recorded["examples"] == 40 and recorded["seed"] == 5 and recorded["passed"] is True


@pytest.mark.peer
def test_fuzz_on_signalpy_fails_with_shrunk_steps_and_replay_commands(capsys):
    pytest.importorskip("signalpy.kernel.reactive")
    code, out, _ = run(capsys, "fuzz", "--target", "signalpy", "--examples", "150", "--no-shrink")
    assert code == 1
    assert "cutoff/spurious-run" in out
    assert "ordering/missed-run" in out
    assert "  1. s0 = signal(" in out
    replays = [line.split("replay: ", 1)[1] for line in out.splitlines() if "replay: glitchless fuzz" in line]
    assert replays and all("--target signalpy --replay" in r for r in replays)
    assert "reproduce the search: glitchless fuzz --target signalpy --examples 150 --seed 0" in out


def test_replay_runs_one_program(capsys):
    program = json.dumps({"domain": 3, "steps": [["signal", {"init": 0}], ["effect", {"fn": "sum", "inputs": [0],
                                                                            "write": [0, "const", 1]}]]})
    code, out, _ = run(capsys, "fuzz", "--replay", program)
    assert code == 0 and "passed" in out and "e1 = effect(reads sum(s0); writes s0 := 1)" in out
    pytest.importorskip("signalpy.kernel.reactive")
    code, out, _ = run(capsys, "fuzz", "--target", "signalpy", "--replay", program)
    assert code == 1 and "ordering/missed-run" in out


def test_replay_reads_a_program_file(capsys, tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"domain":3,"steps":[["signal",{"init":1}],["computed",{"fn":"max","inputs":[0,0]}],'
                    '["read",{"node":1,"how":"peek"}]]}')
    code, out, _ = run(capsys, "fuzz", "--replay", f"@{path}")
    assert code == 0 and "c1.peek()" in out


def test_conformance_prints_a_table_of_properties_per_kernel(capsys):
    code, out, _ = run(capsys, "conformance", "--targets", "glitchless", "--examples", "10", "--without", KEPT)
    assert code == 0
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("property"))
    assert "glitchless" in header
    for prop in ("glitch_freedom", "ordering", "cutoff", "disposal", "laziness", "errors", "round_bound",
                 "snapshot_restore", "scheduler_determinism", "depth"):
        assert any(line.startswith(prop) and "pass" in line for line in lines)
    assert any(line.startswith("passed") and "11/11" in line for line in lines)


@pytest.mark.peer
def test_conformance_marks_missing_features_not_applicable(capsys):
    pytest.importorskip("signalpy.kernel.reactive")
    code, out, _ = run(capsys, "conformance", "--targets", "signalpy", "--examples", "60")
    assert code == 0  # only the glitchless kernel's own failures fail the command
    # no round bound to judge, no component layer, no async effects
    for prop in ("round_bound", "snapshot_restore", "scheduler_determinism"):
        assert "n/a" in next(line for line in out.splitlines() if line.startswith(prop))
    assert "FAIL" in next(line for line in out.splitlines() if line.startswith("ordering"))


def test_exhaustive_reports_its_case_count(capsys):
    code, out, _ = run(capsys, "exhaustive", "--nodes", "3", "--ops", "1", "--signals", "2", "--writes")
    assert code == 0
    assert "cases checked" in out and "no property failed" in out


@pytest.mark.peer
def test_ignored_failure_kinds_are_not_reported(capsys):
    pytest.importorskip("signalpy.kernel.reactive")
    code, out, _ = run(capsys, "fuzz", "--target", "signalpy", "--examples", "100", "--no-shrink",
                       "--checks", "ordering", "--ignore", "ordering/missed-run")
    assert "] ordering/missed-run" not in out


@pytest.mark.parametrize("argv, message", [
    (["fuzz", "--seed", "-1"], "--seed must be non-negative, got -1"),
    (["fuzz", "--examples", "many"], "--examples must be an integer, got 'many'"),
    (["fuzz", "--examples", "4", "--shards", "5"], "--shards must be at most --examples (4), got 5"),
    (["fuzz", "--replay", "@no-such-program.json"], "--replay: no such file: 'no-such-program.json'"),
    (["fuzz", "--target", "not a target"], "--target must be MOD:FACTORY"),
    (["fuzz", "--jobs", "0"], "--jobs must be at least 1, got 0"),
    (["conformance", "--seed", "-3"], "--seed must be non-negative, got -3"),
    (["exhaustive", "--nodes", "0"], "--nodes must be at least 1, got 0"),
    (["exhaustive", "--ops", "-1"], "--ops must be non-negative, got -1"),
    (["exhaustive", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:9"], "give --jobs or --scheduler, not both"),
])
def test_the_property_commands_share_the_validators(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("glitchless: error: ") and message in err and err.count("\n") == 1


def test_exhaustive_json_carries_cases_failures_and_workers(capsys):
    code, out, _ = run(capsys, "exhaustive", "--nodes", "3", "--ops", "1", "--json", "--jobs", "1")
    doc = json.loads(out)
    assert code == 0 and doc["cases"] == 736 and doc["failures"] == [] and doc["workers"] == 1


def test_properties_json_that_cannot_be_written_is_one_line(capsys, tmp_path):
    (tmp_path / "reports").write_text("a file where the directory should be")
    code, out, err = run(capsys, "exhaustive", "--nodes", "2", "--ops", "1", "--jobs", "1")
    assert code == 2
    assert err.splitlines()[-1].startswith("glitchless: error: cannot write property figures 'reports/properties.json'")
    assert "Traceback" not in out + err
