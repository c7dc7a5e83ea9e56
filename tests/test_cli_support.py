"""The shared command-line support: validators, progress, Ctrl-C and atomic writes."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

import glitchless
from glitchless import cli
from glitchless.cli_support import (
    Interrupted,
    UsageError,
    progress,
    validate_choices,
    validate_count,
    validate_int,
    validate_path,
    validate_percent,
    validate_seed,
    validate_target,
    write_atomic,
)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: validate_seed("-1"), "--seed must be non-negative, got -1"),
        (lambda: validate_seed(-1, "--start"), "--start must be non-negative, got -1"),
        (lambda: validate_seed("1.5"), "--seed must be an integer, got '1.5'"),
        (lambda: validate_seed(True), "--seed must be an integer, got True"),
        (lambda: validate_count("0", "--seeds"), "--seeds must be at least 1, got 0"),
        (lambda: validate_count(-3, "--examples"), "--examples must be at least 1, got -3"),
        (lambda: validate_int("x", "--n", minimum=2), "--n must be an integer, got 'x'"),
        (lambda: validate_int("1", "--n", minimum=2), "--n must be at least 2, got 1"),
        (lambda: validate_percent("101", "--floor"), "--floor must be a number from 0 to 100, got '101'"),
        (lambda: validate_percent("lots", "--floor"), "--floor must be a number from 0 to 100, got 'lots'"),
        (lambda: validate_target("mypkg.adapter"), "--target must be MOD:FACTORY (e.g. mypkg.adapter:runtime), got 'mypkg.adapter'"),
        (lambda: validate_target("a b:c", aliases=["glitchless"]),
         "--target must be MOD:FACTORY (e.g. mypkg.adapter:runtime) or one of: glitchless, got 'a b:c'"),
        (lambda: validate_choices("a,zz", "--checks", ["a", "b"]), "--checks: unknown zz; known: a, b"),
        (lambda: validate_choices(" , ", "--checks", ["a"]), "--checks: unknown (none given); known: a"),
    ],
)
def test_validators_name_the_flag_and_the_problem_in_one_line(call: object, message: str) -> None:
    with pytest.raises(UsageError) as err:
        call()  # type: ignore[operator]
    assert str(err.value) == message


def test_validators_return_the_converted_value() -> None:
    assert validate_seed("7") == 7
    assert validate_seed(0) == 0
    assert validate_count(" 3 ", "--seeds") == 3
    assert validate_percent("98.5", "--floor") == 98.5
    assert validate_target("glitchless", aliases=["glitchless"]) == "glitchless"
    assert validate_target("my_pkg.adapter:make.runtime") == "my_pkg.adapter:make.runtime"
    assert validate_choices("b, a", "--checks", ["a", "b"]) == ["b", "a"]


def test_validate_path_checks_existence_and_kind(tmp_path: Path) -> None:
    f = tmp_path / "f.txt"
    f.write_text("x")
    assert validate_path(str(f), "--trace", kind="file") == f
    assert validate_path(tmp_path, "--dir", kind="dir") == tmp_path
    assert validate_path(tmp_path / "new", "--out", must_exist=False) == tmp_path / "new"
    with pytest.raises(UsageError, match="^--trace: no such file: '.*missing'$"):
        validate_path(tmp_path / "missing", "--trace", kind="file")
    with pytest.raises(UsageError, match="^--trace: not a file: "):
        validate_path(tmp_path, "--trace", kind="file")
    with pytest.raises(UsageError, match="^--dir: not a directory: "):
        validate_path(f, "--dir", kind="dir")


def test_progress_counts_and_turns_ctrl_c_into_interrupted_with_the_count() -> None:
    # Under pytest stderr is not a terminal: no bar, but the count is kept all the same.
    with pytest.raises(Interrupted) as err:
        with progress("exploring", total=10, unit="seeds") as bar:
            for _ in range(3):
                bar.advance()
            raise KeyboardInterrupt
    assert (err.value.done, err.value.total, err.value.unit) == (3, 10, "seeds")
    assert str(err.value) == "interrupted after 3 of 10 seeds"
    assert str(Interrupted(2, None, "mutants")) == "interrupted after 2 mutants"


def test_progress_without_a_terminal_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress("exploring", total=2, unit="seeds") as bar:
        bar.advance(2)
        bar.reset(5, "second phase")
        bar.advance()
    assert (bar.done, bar.total) == (1, 5)
    assert capsys.readouterr() == ("", "")


def _fake_command(behaviour: BaseException) -> cli.Register:
    def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        def run(args: argparse.Namespace) -> int:
            with progress("working", total=4, unit="steps") as bar:
                bar.advance()
                raise behaviour
        sub.add_parser("work", help="a stand-in long command").set_defaults(run=run)

    return register


def test_main_reports_an_interruption_in_one_line_with_status_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "COMMANDS", [_fake_command(KeyboardInterrupt())])
    assert cli.main(["work"]) == 130
    assert capsys.readouterr() == ("", "glitchless: interrupted after 1 of 4 steps\n")


def test_main_reports_a_bare_ctrl_c_outside_any_progress(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        def run(args: argparse.Namespace) -> int:
            raise KeyboardInterrupt
        sub.add_parser("work").set_defaults(run=run)

    monkeypatch.setattr(cli, "COMMANDS", [register])
    assert cli.main(["work"]) == 130
    assert capsys.readouterr() == ("", "glitchless: interrupted\n")


def test_version_prints_the_installed_packages_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    from importlib.metadata import version

    assert capsys.readouterr().out == f"glitchless {version('glitchless')}\n"
    assert glitchless.__version__ == version("glitchless")


def test_write_atomic_replaces_whole_or_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "deep" / "report.json"
    old = os.umask(0o022)
    try:
        write_atomic(out, "first")
    finally:
        os.umask(old)
    assert out.read_text() == "first"
    assert out.stat().st_mode & 0o777 == 0o644  # what open() would give, not the temporary file's 0600

    def broken_replace(src: str, dst: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C between writing and renaming

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(out, "second")
    assert out.read_text() == "first"
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.json"]  # no temporary left behind


def test_write_atomic_where_it_cannot_write_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match=r"^cannot write '.*file/report.json': "):
        write_atomic(blocker / "report.json", "x")


def test_an_interrupt_a_finalizer_swallowed_is_delivered_again() -> None:
    # Ctrl-C that lands in a finalizer is only reported by Python ("Exception ignored in ..."); a
    # command whose work never reaches a progress step would run on forever without this.
    import pytest

    from glitchless.cli_support import interrupt_guard

    class Interrupted:
        def __del__(self) -> None:
            raise KeyboardInterrupt

    reached = []
    with pytest.raises(KeyboardInterrupt):
        with interrupt_guard():
            Interrupted()  # dropped at once: __del__ raises, Python swallows it
            for i in range(100_000_000):  # seconds of work: the re-delivered interrupt stops it early
                reached.append(i)
    assert len(reached) < 100_000_000
