"""Ctrl-C on a long command: one line "interrupted after N of M", exit status 130, no traceback.

Each test starts the real command in a subprocess, waits until it has visibly started the
long part (a line on its pipe or its progress bar on a terminal), then sends SIGINT. The
waits are bounded polls on the pipe, never fixed sleeps.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT and pseudo-terminals are POSIX")

PATIENCE = 60.0  # seconds: an upper bound on a silence of the command's output, never a delay


def read_until(fd: int, pattern: str, seen: bytearray) -> None:
    """Read `fd` into `seen` until `pattern` (a regex) matches what was read; fail if the command
    says nothing for PATIENCE seconds (select's own timeout: no clock is read here)."""
    while not re.search(pattern, seen.decode("utf-8", "replace")):
        ready, _, _ = select.select([fd], [], [], PATIENCE)
        if not ready:
            pytest.fail(f"no {pattern!r}: nothing more for {PATIENCE} s; got {bytes(seen)[-500:]!r}")
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal closed: the process ended
            chunk = b""
        if not chunk:
            pytest.fail(f"the command ended before {pattern!r}; got {bytes(seen)[-500:]!r}")
        seen += chunk


def drain(fd: int, seen: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        seen += chunk


def glitchless(*argv: str) -> list[str]:
    return [sys.executable, "-m", "glitchless", *argv]


def test_ctrl_c_on_explore_of_a_million_seeds_in_a_terminal(tmp_path: Path) -> None:
    # stderr on a pseudo-terminal, as when a user runs it: the rich progress bar is drawn there.
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        glitchless("explore", "hot-update", "--seeds", "1000000"),
        stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL, cwd=tmp_path,
    )
    os.close(secondary)
    seen = bytearray()
    try:
        read_until(primary, r"exploring hot-update.*/1000000", seen)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=PATIENCE)
        drain(primary, seen)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    err = seen.decode("utf-8", "replace")
    assert proc.returncode == 130, (out, bytes(seen))
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert re.search(r"glitchless: interrupted after \d+ of 1000000 seeds\r?\n$", err), err[-300:]
    assert out == b""  # no summary of a run that did not finish
    assert list(tmp_path.iterdir()) == []  # and nothing written


SLOW_SUITE = textwrap.dedent('''
    import sys
    from glitchless.cli import main
    from glitchless.scenarios import Script, scenario

    @scenario("zz-never-ends", "runs until interrupted")
    async def never_ends(s: Script) -> None:
        print("never-ends started", flush=True)
        while True:
            await s.advance(1)

    sys.exit(main(sys.argv[1:]))
''')


def test_ctrl_c_on_run_all_names_how_many_scenarios_finished(tmp_path: Path) -> None:
    # The last scenario never ends and says when it starts, so the signal always lands while it
    # runs: after the nine built-in ones have finished.
    script = tmp_path / "slow_suite.py"
    script.write_text(SLOW_SUITE)
    proc = subprocess.Popen(
        [sys.executable, str(script), "run", "--all"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=tmp_path,
    )
    assert proc.stdout is not None
    seen = bytearray()
    try:
        read_until(proc.stdout.fileno(), r"never-ends started", seen)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=PATIENCE)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert err.decode() == "glitchless: interrupted after 9 of 10 scenarios\n"
    assert b"verdict" not in bytes(seen) + out  # no table of a run that did not finish


def test_ctrl_c_on_explore_through_pipes(tmp_path: Path) -> None:
    # No terminal: no bar. The flaky scenario prints each failing seed, which shows the run is under way.
    script = tmp_path / "flaky.py"
    script.write_text(textwrap.dedent('''
        import sys
        from glitchless.cli import main
        from glitchless.scenarios import Script, scenario

        @scenario("flaky", "fails on odd seeds")
        async def flaky(s: Script) -> None:
            s.expect("seed is even", s.seed % 2, 0)

        sys.exit(main(sys.argv[1:]))
    '''))
    proc = subprocess.Popen(
        [sys.executable, str(script), "explore", "flaky", "--seeds", "1000000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=tmp_path,
    )
    assert proc.stdout is not None
    seen = bytearray()
    try:
        read_until(proc.stdout.fileno(), r"seed 1: FAIL", seen)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=PATIENCE)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert re.fullmatch(rb"glitchless: interrupted after \d+ of 1000000 seeds\n", err), err
    assert b"failing" not in bytes(seen) + out


CHILD_RUNNER = textwrap.dedent('''
    import argparse, sys
    from glitchless import cli
    from glitchless.cli_support import progress, run_child

    CHILD = """
    import signal, sys
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))  # like pytest or mutmut: stop on Ctrl-C
    print("child", sys.argv[1], "up", flush=True)
    while True:
        signal.pause()  # until a signal
    """

    def register(sub):
        def run(args):
            with progress("testing", total=3, unit="test runs") as bar:
                for i in range(3):
                    run_child([sys.executable, "-c", CHILD, str(i)])
                    bar.advance()
            return 0
        sub.add_parser("slow-tests", help="three long child processes").set_defaults(run=run)

    cli.COMMANDS = [register]
    sys.exit(cli.main(["slow-tests"]))
''')


def test_ctrl_c_while_a_child_process_runs_stops_the_child_too(tmp_path: Path) -> None:
    # The signal goes to the parent alone (as from `kill -INT`): it must pass it on to the child.
    script = tmp_path / "runner.py"
    script.write_text(CHILD_RUNNER)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=tmp_path,
    )
    assert proc.stdout is not None
    seen = bytearray()
    try:
        read_until(proc.stdout.fileno(), r"child 0 up", seen)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=PATIENCE)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert err.decode() == "glitchless: interrupted after 0 of 3 test runs\n"
    assert b"child 1 up" not in bytes(seen) + out


KEPT = "errors,dispose_in_runs,cascades,transient,writes"  # parts today's kernel already keeps (test_properties_cli.py)


def test_ctrl_c_on_fuzz_in_a_terminal_really_stops(tmp_path: Path) -> None:
    # Wait until the bar shows machine runs done: the signal lands inside Hypothesis's search.
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        glitchless("fuzz", "--examples", "100000", "--without", KEPT),
        stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL, cwd=tmp_path,
    )
    os.close(secondary)
    seen = bytearray()
    try:
        read_until(primary, r"fuzzing glitchless.*[1-9]\d*/100000", seen)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=PATIENCE)
        drain(primary, seen)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    err = seen.decode("utf-8", "replace")
    assert proc.returncode == 130, (out, bytes(seen))
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert re.search(r"glitchless: interrupted after [1-9]\d* of 100000 runs\r?\n$", err), err[-300:]
    assert b"passed" not in out and b"FAILED" not in out  # no verdict of a search that did not finish
    assert not (tmp_path / "reports").exists()  # no reports/properties.json either


def test_ctrl_c_on_fuzz_through_pipes_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        glitchless("fuzz", "--examples", "100000", "--without", KEPT),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=tmp_path,
    )
    assert proc.stdout is not None
    seen = bytearray()
    try:
        read_until(proc.stdout.fileno(), r"fuzzing glitchless: 100000 examples", seen)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=PATIENCE)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    assert re.fullmatch(r"glitchless: interrupted after \d+ of 100000 runs\n", err.decode()), err
    assert b"passed" not in bytes(seen) + out
    assert not (tmp_path / "reports").exists()
