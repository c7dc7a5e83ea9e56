"""The stateful machines on glitchless itself, determinism, and the shared example database.

The shard tests are the entry point for parallel fuzzing (docs/fuzzing.md):

    GLITCHLESS_FUZZ_EXAMPLES=5000 GLITCHLESS_FUZZ_SHARDS=8 GLITCHLESS_FUZZ_DB=/shared/db \\
        pytest -n auto -m fuzz tests/test_properties_fuzz.py

Every shard runs its own seed against the same example database, so a
failure one worker finds is saved there and replayed first by every other
shard (and machine) that uses the database.
"""

import os
from pathlib import Path

import pytest

from glitchless.properties.machine import Options, fuzz, make_machine

EXAMPLES = int(os.environ.get("GLITCHLESS_FUZZ_EXAMPLES", "100"))
SHARDS = int(os.environ.get("GLITCHLESS_FUZZ_SHARDS", "2"))
SEED_BASE = int(os.environ.get("GLITCHLESS_FUZZ_SEED_BASE", "0"))
TARGET = os.environ.get("GLITCHLESS_FUZZ_TARGET", "glitchless")


# The parts of the contract today's kernel keeps already (the hardened kernel keeps them all).
KEPT = Options(errors=False, dispose_in_runs=False, cascades=False, transient=False, writes=False)


def shared_database() -> Path:
    default = Path(__file__).resolve().parent.parent / ".hypothesis" / "glitchless-fuzz"
    return Path(os.environ.get("GLITCHLESS_FUZZ_DB", default))


@pytest.mark.fuzz
@pytest.mark.parametrize("shard", range(SHARDS))
def test_fuzz_shard(shard):
    report = fuzz(TARGET, examples=EXAMPLES, seed=SEED_BASE + shard, database=shared_database())
    assert report.ok, "\n\n".join([f.render() for f in report.failures] + report.errors)


def test_glitchless_passes_every_property():
    report = fuzz("glitchless", examples=300, seed=11)  # the whole contract: needs the hardened kernel
    assert report.ok, "\n\n".join([f.render() for f in report.failures] + report.errors)
    assert report.runs >= 300


def test_glitchless_passes_what_it_already_keeps():
    report = fuzz("glitchless", examples=300, seed=11, options=KEPT)
    assert report.ok, "\n\n".join([f.render() for f in report.failures] + report.errors)


def test_a_run_is_a_function_of_its_seed():
    counts = []
    for _ in range(2):
        seen = []
        fuzz("glitchless", examples=40, seed=7, progress=seen.append, options=KEPT)
        counts.append(len(seen))
    assert counts[0] == counts[1]


def test_machines_for_the_same_target_and_checks_share_database_keys():
    a = make_machine("glitchless", {"ordering"})
    b = make_machine("glitchless", {"ordering"})
    c = make_machine("glitchless", {"cutoff"})
    assert a._hypothesis_internal_add_digest == b._hypothesis_internal_add_digest
    assert a._hypothesis_internal_add_digest != c._hypothesis_internal_add_digest


def test_a_failure_found_by_one_worker_is_replayed_by_another(tmp_path):
    """Worker A finds and shrinks a failure into the shared database; worker B, with another
    seed and generation switched off, finds it only by replaying the database."""
    pytest.importorskip("signalpy.kernel.reactive")
    checks = {"ordering/missed-run"}
    a = fuzz("signalpy", examples=200, seed=1, checks=checks, database=tmp_path, report_multiple=False)
    assert [f.label for f in a.failures] == ["ordering/missed-run"]
    assert any(tmp_path.iterdir())
    b = fuzz("signalpy", examples=200, seed=99, checks=checks, database=tmp_path, replay_only=True)
    assert [f.label for f in b.failures] == ["ordering/missed-run"]
    assert len(b.failures[0].program.steps) <= 3
    nothing = fuzz("signalpy", examples=200, seed=99, checks=checks, database=tmp_path / "empty", replay_only=True)
    assert nothing.ok
