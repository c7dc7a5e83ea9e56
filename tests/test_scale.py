"""Scale-out (glitchless.scale): shards run in-process, on local worker processes or on a Dask
cluster give the same results, in the same order; a worker killed mid-run changes nothing;
Ctrl-C cancels what is left.

The `cluster` tests start a real cluster on loopback: `dask scheduler` and two `dask worker`
processes (one thread each), started and stopped here. Deselect them with `-m 'not cluster'`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import glitchless.scale as scale
from glitchless.cli import main
from glitchless.properties.exhaustive import Bounds, exhaustive_check
from glitchless.properties.hooks import Violation
from glitchless.properties.machine import Failure, FuzzReport
from glitchless.properties.program import Program
from glitchless.scale import ScaleError, Shard, chunks, run_shards
from glitchless.scale.exhaustive import exhaustive_scaled
from glitchless.scale.explore import explore
from glitchless.scale.fuzz import fuzz_scaled, merge, open_database, shard_seed, split_examples
from glitchless.scenarios import SCENARIOS

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SEVENS = "scale-sevens"  # tests/scale_scenario.py: fails exactly under seeds s with s % 7 == 3


def squares(n: int, size: int) -> list[Shard]:
    return [Shard("scale_helpers:square_sum", (r.start, r.stop)) for r in chunks(n, size)]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def without_workers(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "workers"}


@pytest.fixture(autouse=True)
def _reports_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The property commands record their figures under ./reports.
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def sevens() -> Iterator[str]:
    """Registers scale-sevens in this process for one test; workers import it on demand."""
    import scale_scenario  # noqa: F401  (registers the scenario)

    yield SEVENS
    del SCENARIOS[SEVENS]
    del sys.modules["scale_scenario"]


# -- in this process, no Dask ------------------------------------------------------------


def test_chunks_split_a_count_into_consecutive_ranges_in_order() -> None:
    assert chunks(10, 4) == [range(0, 4), range(4, 8), range(8, 10)]
    assert chunks(0, 4) == []
    with pytest.raises(ValueError, match="at least 1"):
        chunks(5, 0)


def test_one_job_runs_the_shards_here_in_order_without_dask(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dask() -> Any:
        raise AssertionError("Dask was imported")

    monkeypatch.setattr(scale, "_distributed", no_dask)
    seen: list[tuple[int, int]] = []
    run = run_shards(squares(10, 3), jobs=1, progress=lambda done, total: seen.append((done, total)))
    assert run.results == [0 + 1 + 4, 9 + 16 + 25, 36 + 49 + 64, 81]
    assert run.workers == 1
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_a_single_shard_runs_here_whatever_the_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scale, "dask_available", lambda: False)
    assert run_shards(squares(3, 10), jobs=8).results == [5]


def test_by_default_a_one_cpu_machine_runs_the_shards_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scale, "default_jobs", lambda: 1)
    monkeypatch.setattr(scale, "dask_available", lambda: False)
    assert run_shards(squares(10, 3)).results == [5, 50, 149, 81]


def test_more_jobs_without_dask_is_an_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scale, "dask_available", lambda: False)
    with pytest.raises(ScaleError, match=r"pip install 'glitchless\[cluster\]'"):
        run_shards(squares(10, 3), jobs=2)


def test_a_shard_names_its_function_as_module_colon_name() -> None:
    with pytest.raises(ValueError, match="'module:function'"):
        scale.call(Shard("scale_helpers.square_sum"))
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        run_shards(squares(4, 2), jobs=0)


def test_explore_json_carries_cases_failures_in_seed_order_and_workers(
    capsys: pytest.CaptureFixture[str], sevens: str
) -> None:
    status, out, _ = cli(capsys, "explore", sevens, "--seeds", "60", "--start", "5", "--jobs", "1", "--json")
    doc = json.loads(out)
    assert status == 1
    assert doc["cases"] == 60 and doc["workers"] == 1
    assert [f["seed"] for f in doc["failures"]] == [10, 17, 24, 31, 38, 45, 52, 59]
    assert doc["failures"][0] == {
        "seed": 10, "check": "seed mod 7 is not 3", "detail": "expected True, got False",
        "replay": f"glitchless run {sevens} --seed 10",
    }


def test_explore_text_lists_failing_seeds_in_order_then_the_summary(
    capsys: pytest.CaptureFixture[str], sevens: str
) -> None:
    status, out, err = cli(capsys, "explore", sevens, "--seeds", "30", "--jobs", "1")
    assert status == 1
    assert out.splitlines() == [
        line
        for seed in (3, 10, 17, 24)
        for line in (f"seed {seed}: FAIL -- seed mod 7 is not 3: expected True, got False",
                     f"  replay: glitchless run {sevens} --seed {seed}")
    ] + [f"{sevens}: 30 seeds from 0, 4 failing"]
    assert "on 1 worker" in err


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--jobs", "two"], "--jobs must be an integer"),
        (["--jobs", "2", "--scheduler", "tcp://127.0.0.1:8786"], "give --jobs or --scheduler, not both"),
    ],
)
def test_bad_scale_options_are_one_line_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], problem: str
) -> None:
    status, _, err = cli(capsys, "explore", "hot-update", "--seeds", "60", *argv)
    assert status == 2
    assert err.count("\n") == 1 and problem in err


def test_explore_with_jobs_but_without_dask_says_how_to_install_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scale, "dask_available", lambda: False)
    status, _, err = cli(capsys, "explore", "hot-update", "--seeds", "60", "--jobs", "2")
    assert status == 2
    assert "pip install 'glitchless[cluster]'" in err and err.count("\n") == 1


def test_explore_by_default_without_dask_runs_here_with_a_note(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scale, "dask_available", lambda: False)
    monkeypatch.setattr("glitchless.scale.cli.dask_available", lambda: False)
    monkeypatch.setattr("glitchless.scale.cli.default_jobs", lambda: 4)
    status, out, err = cli(capsys, "explore", "hot-update", "--seeds", "60")
    assert (status, out) == (0, "hot-update: 60 seeds from 0, 0 failing\n")
    assert "note: running on one process" in err and "glitchless[cluster]" in err


# -- fuzz sharding, without running a cluster ---------------------------------------------


def test_fuzz_shards_get_distinct_derived_seeds_and_one_shard_keeps_the_seed() -> None:
    assert [shard_seed(3, i, 4) for i in range(4)] == [3000, 3001, 3002, 3003]
    assert shard_seed(3, 0, 1) == 3
    assert split_examples(10, 4) == [3, 3, 2, 2]
    with pytest.raises(ValueError, match="at least one example per shard"):
        split_examples(2, 3)


def test_fuzz_databases_are_a_directory_or_hypothesis_redis(tmp_path: Path) -> None:
    from hypothesis.database import DirectoryBasedExampleDatabase
    from hypothesis.extra.redis import RedisExampleDatabase

    assert open_database(None) is None
    assert isinstance(open_database(str(tmp_path)), DirectoryBasedExampleDatabase)
    assert isinstance(open_database("redis://127.0.0.1:6379/0"), RedisExampleDatabase)  # connects on first use


def test_merged_fuzz_reports_keep_one_failure_per_label_from_the_first_shard_that_found_it() -> None:
    def failure(label: str, step: int) -> Failure:
        prop, kind = label.split("/")
        return Failure(Violation(prop, kind, "m", step), Program(2, ()), "t")

    a = FuzzReport("t", 5, 3000, 30, runs=7, failures=[failure("ordering/x", 1)], errors=["e"])
    b = FuzzReport("t", 5, 3001, 30, runs=9, failures=[failure("laziness/y", 2), failure("ordering/x", 4)], errors=["e"])
    report = merge([a, b], "t", 10, 3, 30)
    assert report.runs == 16
    assert [(f.label, f.violation.step) for f in report.failures] == [("ordering/x", 1), ("laziness/y", 2)]
    assert report.errors == ["e"]


# -- a real cluster on loopback -----------------------------------------------------------


def _dask(*args: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=out, stderr=subprocess.STDOUT, env=env)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two single-threaded worker processes on 127.0.0.1; yields the address."""
    from distributed import Client

    tmp = tmp_path_factory.mktemp("cluster")
    file = tmp / "scheduler.json"
    procs = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0",
                   "--scheduler-file", str(file), log=tmp / "scheduler.log")]
    try:
        for i in range(2):
            procs.append(_dask("worker", "--scheduler-file", str(file), "--host", "127.0.0.1", "--nthreads", "1",
                               "--name", f"w{i}", "--dashboard-address", "127.0.0.1:0",
                               "--local-directory", str(tmp / f"w{i}"), log=tmp / f"w{i}.log"))
        with Client(scheduler_file=str(file), timeout="60s", set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
            address: str = client.scheduler.address
        yield address
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def address(cluster: str) -> str:
    """The cluster, with both workers up (a test that kills one leaves the nanny restarting it)."""
    from distributed import Client

    with Client(cluster, timeout="30s", set_as_default=False) as client:
        client.wait_for_workers(2, timeout=90)
    return cluster


def shard_keys_on(address: str) -> list[str]:
    """The scheduler's shard keys once it has let go of every finished or cancelled run
    (waits up to 60 s for that, on the scheduler: clients close asynchronously)."""
    from distributed import Client

    async def settled(dask_scheduler: Any) -> list[str]:
        import asyncio

        for _ in range(600):
            keys = [str(k) for k in dask_scheduler.tasks if str(k).startswith(scale.KEY_PREFIX)]
            if not keys:
                return keys
            await asyncio.sleep(0.1)
        return keys

    with Client(address, timeout="30s", set_as_default=False) as client:
        found: list[str] = client.run_on_scheduler(settled)
    return found


@pytest.mark.cluster
def test_toy_shards_on_the_cluster_equal_the_local_run_in_order(address: str) -> None:
    shards = squares(2000, 100)
    here = run_shards(shards, jobs=1)
    seen: list[int] = []
    there = run_shards(shards, scheduler=address, progress=lambda done, total: seen.append(done))
    assert there.results == here.results
    assert there.workers == 2
    assert seen == list(range(1, 21))


@pytest.mark.cluster
def test_streamed_results_come_in_shard_order_whatever_finishes_first(address: str) -> None:
    shards = squares(2000, 100)
    here: list[tuple[int, int]] = []
    run_shards(shards, jobs=1, in_order=lambda i, result: here.append((i, result)))
    there: list[tuple[int, int]] = []
    run_shards(shards, scheduler=address, in_order=lambda i, result: there.append((i, result)))
    assert [i for i, _ in there] == list(range(20))
    assert there == here


@pytest.mark.cluster
def test_explore_on_the_cluster_agrees_with_one_process(
    capsys: pytest.CaptureFixture[str], address: str, sevens: str
) -> None:
    for name, seeds, failing in ((sevens, "400", 57), ("hot-update", "50", 0)):  # 57: seeds 3, 10, ..., 395
        s1, one, _ = cli(capsys, "explore", name, "--seeds", seeds, "--jobs", "1", "--json")
        s2, many, _ = cli(capsys, "explore", name, "--seeds", seeds, "--scheduler", address, "--json")
        assert s1 == s2 == (1 if failing else 0)
        assert without_workers(json.loads(many)) == without_workers(json.loads(one))
        assert len(json.loads(many)["failures"]) == failing
        assert json.loads(many)["workers"] == 2
    _, text, _ = cli(capsys, "explore", sevens, "--seeds", "100", "--scheduler", address)
    assert text.splitlines()[-1] == f"{sevens}: 100 seeds from 0, 14 failing"
    assert text.splitlines()[:2] == [f"seed 3: FAIL -- seed mod 7 is not 3: expected True, got False",
                                     f"  replay: glitchless run {sevens} --seed 3"]


@pytest.mark.cluster
def test_explore_on_local_worker_processes_agrees_with_one_process(sevens: str) -> None:
    one = explore(sevens, 100, jobs=1)
    two = explore(sevens, 100, jobs=2)
    assert two.failures == one.failures
    assert [f.seed for f in one.failures] == [s for s in range(100) if s % 7 == 3]
    assert (two.cases, two.workers) == (100, 2)


@pytest.mark.cluster
def test_a_worker_killed_mid_run_changes_nothing(address: str, tmp_path: Path, sevens: str) -> None:
    shards = squares(2000, 100)
    marker = str(tmp_path / "toy-died")
    dying = [Shard("scale_helpers:square_sum_dying_once", (marker, *s.args)) if i == 3 else s for i, s in enumerate(shards)]
    assert run_shards(dying, scheduler=address).results == run_shards(shards, jobs=1).results
    assert Path(marker).exists()  # a worker did die

    from glitchless.scale.explore import explore_shards

    marker = str(tmp_path / "explore-died")
    plain = explore_shards(sevens, 150)
    dying = [Shard("scale_helpers:explore_dying_once", (marker, *s.args)) if i == 3 else s for i, s in enumerate(plain)]
    assert run_shards(dying, scheduler=address).results == run_shards(plain, jobs=1).results
    assert Path(marker).exists()


@pytest.mark.cluster
def test_ctrl_c_cancels_the_shards_not_yet_finished(address: str, tmp_path: Path) -> None:
    from distributed import Client, Event

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    shards = [Shard("scale_helpers:first_returns_others_wait", (str(tmp_path), i)) for i in range(80)]
    with pytest.raises(KeyboardInterrupt):
        run_shards(shards, scheduler=address, progress=interrupt)
    with Client(address, timeout="30s", set_as_default=False) as client:
        Event(str(tmp_path), client=client).set()  # the shards running at the interrupt may finish now
    assert shard_keys_on(address) == []  # nothing of the run is left on the cluster
    started = len(list(tmp_path.glob("started-*")))
    # Typically 3: the first shard, then the one each single-threaded worker was running. A
    # worker may also run a few it had already queued when the cancellation reached it (Dask
    # cannot recall those); the rest never start.
    assert 1 <= started < len(shards) // 2


@pytest.mark.cluster
def test_a_failing_shard_raises_its_error_here(address: str) -> None:
    with pytest.raises(ValueError, match="'module:function'"):
        run_shards([*squares(10, 5), Shard("no-colon")], scheduler=address)
    assert shard_keys_on(address) == []


@pytest.mark.cluster
def test_an_unreachable_scheduler_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scale, "CONNECT_TIMEOUT", "1s")
    status, _, err = cli(capsys, "explore", "hot-update", "--seeds", "60", "--scheduler", "tcp://127.0.0.1:9")
    assert status == 2
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in err and err.count("\n") == 1


@pytest.mark.cluster
def test_exhaustive_on_the_cluster_counts_the_same_cases_and_finds_the_same_failures(address: str) -> None:
    small = Bounds(3, 2, 2, True)
    for target in ("glitchless", "scale_helpers:no_cutoff_runtime"):
        local = exhaustive_check(target, small, jobs=1)
        there, workers = exhaustive_scaled(target, small, scheduler=address)
        assert (there.graphs, there.cases, there.runs, there.steps, there.failing_cases) == (
            local.graphs, local.cases, local.runs, local.steps, local.failing_cases)
        assert there.failures == local.failures
        assert workers == 2
    assert there.failing_cases > 0  # the planted bug is caught


@pytest.mark.cluster
def test_fuzz_shards_on_the_cluster_equal_the_local_run(address: str) -> None:
    args: dict[str, Any] = {"examples": 40, "seed": 0, "shards": 2, "shrink": False}
    local, local_parts, _ = fuzz_scaled("scale_helpers:no_cutoff_runtime", jobs=1, **args)
    there, parts, workers = fuzz_scaled("scale_helpers:no_cutoff_runtime", scheduler=address, **args)
    assert [p.seed for p in parts] == [0, 1]  # seed * 1000 + shard
    assert [(f.label, f.program) for f in there.failures] == [(f.label, f.program) for f in local.failures]
    assert there.runs == local.runs
    assert there.failures  # the planted bug is caught
    assert workers == 2


@pytest.mark.cluster
def test_exhaustive_command_on_the_cluster_reports_what_the_local_run_does(
    capsys: pytest.CaptureFixture[str], address: str
) -> None:
    bounds = ["exhaustive", "--nodes", "4", "--ops", "2", "--signals", "1", "--no-extras", "--json"]
    s1, one, _ = cli(capsys, *bounds, "--jobs", "1")
    s2, many, _ = cli(capsys, *bounds, "--scheduler", address)
    local, there = json.loads(one), json.loads(many)
    assert s1 == s2 == 0
    assert there["cases"] == local["cases"] == 14218
    assert there["passed"] is local["passed"] is True and there["failures"] == local["failures"] == []
    assert local["workers"] == 1 and there["workers"] >= 2


@pytest.mark.cluster
def test_a_bug_that_needs_five_node_graphs_is_caught_on_the_cluster(
    capsys: pytest.CaptureFixture[str], address: str
) -> None:
    # An effect with 4 upstream nodes runs twice (tests/scale_helpers.py): four nodes never show it.
    target = ["--target", "scale_helpers:deep_effect_runtime", "--signals", "1", "--no-extras", "--json"]
    status, out, _ = cli(capsys, "exhaustive", "--nodes", "4", "--ops", "1", *target, "--scheduler", address)
    assert status == 0 and json.loads(out)["failures"] == []
    status, out, _ = cli(capsys, "exhaustive", "--nodes", "5", "--ops", "0", *target, "--scheduler", address)
    found = json.loads(out)
    assert status == 1 and found["workers"] == 2
    assert {f["label"] for f in found["failures"]} == {"ordering/repeated-run"}
    assert found["cases"] == 20202  # every graph of up to 5 nodes with one signal, checked once


@pytest.mark.cluster
def test_fuzz_command_shards_on_the_cluster_equal_the_local_run(
    capsys: pytest.CaptureFixture[str], address: str
) -> None:
    args = ["fuzz", "--target", "scale_helpers:no_cutoff_runtime", "--examples", "40", "--shards", "2",
            "--no-shrink", "--json"]
    s1, one, _ = cli(capsys, *args, "--jobs", "1")
    s2, many, _ = cli(capsys, *args, "--scheduler", address)
    local, there = json.loads(one), json.loads(many)
    assert s1 == s2 == 1
    assert there["failures"] == local["failures"] and there["failures"]  # the planted bug, found the same way
    assert there["cases"] == local["cases"] and there["shard_seeds"] == [0, 1]
    assert (local["workers"], there["workers"]) == (1, 2)


def test_fuzz_shards_share_one_example_database_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "db"
    args = ["fuzz", "--target", "scale_helpers:no_cutoff_runtime", "--examples", "40", "--shards", "2",
            "--no-shrink", "--jobs", "1", "--json", "--database", "db"]
    status, out, _ = cli(capsys, *args)
    assert status == 1 and json.loads(out)["failures"]
    saved = sorted(p.relative_to(db) for p in db.rglob("*") if p.is_file())
    assert saved  # the failing examples were saved there, by the shards, for every later run to replay
    status, again, _ = cli(capsys, *args)
    assert status == 1 and json.loads(again)["failures"] == json.loads(out)["failures"]
