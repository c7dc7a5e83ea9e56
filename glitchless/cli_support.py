"""What every `glitchless` subcommand shares: argument validators, progress, Ctrl-C and safe writes.

Validators take the text argparse collected (or an int a parser already converted) and the flag's
name, and raise `UsageError` with one line naming the flag and the problem; `glitchless.cli.main`
prints it and exits 2::

    seed = validate_seed(args.seed)                     # "--seed must be non-negative, got -1"
    count = validate_count(args.seeds, "--seeds")       # "--seeds must be at least 1, got 0"

A long command wraps its loop in `progress`: on a terminal it draws a rich bar with totals and
ETA on stderr; piped, or with `quiet=True` (e.g. for --json), it draws nothing. Ctrl-C inside the
block becomes `Interrupted(done, total, unit)`, which `main` prints as
"interrupted after N of M <unit>" with exit status 130 and no traceback::

    with progress("exploring", total=count, unit="seeds", quiet=args.json) as bar:
        for seed in seeds:
            ...
            bar.advance()

A child process (pytest under coverage, mutmut) runs through `run_child`, which stops the child
too on Ctrl-C. Write result files only after the loop, with `write_atomic`, so an interrupted
run leaves either the previous file or nothing, never half of one. `glitchless.cli.main` runs
every command inside `interrupt_guard`, which makes all of this hold even when Python swallows
the KeyboardInterrupt in a finalizer.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import _thread
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # rich is imported only when a bar is drawn: the validators stay cheap to import
    from rich.progress import Progress

INTERRUPTED_STATUS = 130  # 128 + SIGINT, what shells report for a command stopped by Ctrl-C


class UsageError(Exception):
    """Bad input from the command line: printed as one line, exit status 2."""


class Interrupted(Exception):
    """Ctrl-C during a long command, after `done` of `total` units of work."""

    def __init__(self, done: int, total: int | None, unit: str) -> None:
        super().__init__(done, total, unit)
        self.done = done
        self.total = total
        self.unit = unit

    def __str__(self) -> str:
        of = f" of {self.total}" if self.total is not None else ""
        return f"interrupted after {self.done}{of} {self.unit}"


# -- validators --------------------------------------------------------------------------


def validate_int(value: str | int, flag: str, *, minimum: int | None = None) -> int:
    """An integer (decimal text or an int), at least `minimum` when given."""
    if isinstance(value, bool):
        raise UsageError(f"{flag} must be an integer, got {value!r}")
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(value.strip(), 10)
        except ValueError:
            raise UsageError(f"{flag} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        bound = "non-negative" if minimum == 0 else f"at least {minimum}"
        raise UsageError(f"{flag} must be {bound}, got {number}")
    return number


def validate_seed(value: str | int, flag: str = "--seed") -> int:
    """A seed: a non-negative integer (every command that takes a seed takes the same ones)."""
    return validate_int(value, flag, minimum=0)


def validate_count(value: str | int, flag: str) -> int:
    """A count of things to do: a positive integer."""
    return validate_int(value, flag, minimum=1)


def validate_percent(value: str | float, flag: str) -> float:
    """A percentage from 0 to 100."""
    try:
        number = float(value)
    except ValueError:
        raise UsageError(f"{flag} must be a number from 0 to 100, got {value!r}") from None
    if not 0.0 <= number <= 100.0:
        raise UsageError(f"{flag} must be a number from 0 to 100, got {value!r}")
    return number


def validate_path(
    value: str | Path, flag: str, *, kind: Literal["file", "dir", "any"] = "any", must_exist: bool = True
) -> Path:
    """A path; when `must_exist`, one that exists and is of `kind` ("file", "dir" or "any")."""
    path = Path(value)
    if not str(value):
        raise UsageError(f"{flag} must be a path, got ''")
    if not must_exist:
        return path
    if not path.exists():
        raise UsageError(f"{flag}: no such {'directory' if kind == 'dir' else 'file'}: {str(value)!r}")
    if kind == "file" and not path.is_file():
        raise UsageError(f"{flag}: not a file: {str(value)!r}")
    if kind == "dir" and not path.is_dir():
        raise UsageError(f"{flag}: not a directory: {str(value)!r}")
    return path


_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def validate_target(value: str, flag: str = "--target", *, aliases: Iterable[str] = ()) -> str:
    """A `MOD:FACTORY` target (a dotted module path, a colon, a dotted attribute path) or an alias.

    Only the form is checked here; importing it is the caller's business (and its error, too).
    """
    names = list(aliases)
    if value in names:
        return value
    module, sep, attr = value.partition(":")
    if not sep or not _DOTTED.fullmatch(module) or not _DOTTED.fullmatch(attr):
        hint = f" or one of: {', '.join(names)}" if names else ""
        raise UsageError(f"{flag} must be MOD:FACTORY (e.g. mypkg.adapter:runtime){hint}, got {value!r}")
    return value


def validate_choices(value: str, flag: str, known: Iterable[str]) -> list[str]:
    """A comma-separated list of names, each one of `known`; at least one."""
    allowed = list(known)
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise UsageError(f"{flag}: unknown {', '.join(unknown) or '(none given)'}; known: {', '.join(allowed)}")
    return names


# -- progress and interruption -----------------------------------------------------------


class _Sigint:
    """Whether Ctrl-C was pressed during the current command (see `interrupt_guard`).

    A KeyboardInterrupt that lands inside a finalizer (`__del__`, a weakref callback) is
    swallowed by Python; the flag survives it, and the next `Tracker.advance` raises again,
    so a long command always stops at the latest after the unit of work it was in.
    """

    requested = False
    delivered = 0  # how many times the handler has raised
    guarding = False  # inside interrupt_guard


def interrupt_requested() -> bool:
    """Whether Ctrl-C was pressed during the current command."""
    return _Sigint.requested


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _Sigint.requested = True
    _Sigint.delivered += 1
    raise KeyboardInterrupt


def _deliver_again(swallowed: int) -> None:
    """From a helper thread: interrupt the main thread until the handler has raised once more.

    Not from the hook itself: the handler would run, and raise, inside the hook."""
    while True:
        time.sleep(0.01)  # first let the hook (still waiting for this thread to start) return
        if not (_Sigint.guarding and _Sigint.delivered == swallowed):
            return
        _thread.interrupt_main(signal.SIGINT)


def _quiet_abandoned_objects() -> None:
    """After Ctrl-C: what the interrupt left half-done is abandoned on purpose, so the complaints
    of its finalizers ("coroutine ... was never awaited", "Task was destroyed but it is pending!")
    are noise. `interrupt_guard` restores the filters and the logger when the command ends."""
    _Sigint.requested = True
    warnings.simplefilter("ignore")
    logging.getLogger("asyncio").disabled = True


@contextmanager
def interrupt_guard() -> Iterator[None]:
    """Make Ctrl-C during a command reliable and quiet; `glitchless.cli.main` runs every command in it.

    Inside: SIGINT sets a flag and raises KeyboardInterrupt (see `_Sigint`), and a
    KeyboardInterrupt that Python could only report as "Exception ignored in ..." is dropped.
    After an interruption, what the interrupt left half-built is collected with its
    finalizers' complaints dropped too: they describe objects abandoned on purpose.
    """
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous_handler: Any = signal.signal(signal.SIGINT, _on_sigint) if on_main_thread else None
    previous_hook = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            # Python swallowed the interrupt inside a finalizer: deliver it again, so that code
            # that never reaches a Tracker.advance (a scenario that never ends) still stops.
            if on_main_thread:
                threading.Thread(target=_deliver_again, args=(_Sigint.delivered,), daemon=True).start()
            return
        if _Sigint.requested:
            return
        previous_hook(unraisable)

    _Sigint.requested = False
    _Sigint.guarding = on_main_thread
    sys.unraisablehook = hook
    asyncio_log = logging.getLogger("asyncio")
    was_disabled = asyncio_log.disabled
    try:
        with warnings.catch_warnings():
            try:
                yield
            finally:
                if _Sigint.requested:
                    _quiet_abandoned_objects()
                    gc.collect()
    finally:
        _Sigint.guarding = False
        asyncio_log.disabled = was_disabled
        sys.unraisablehook = previous_hook
        if on_main_thread:
            signal.signal(signal.SIGINT, previous_handler)
        _Sigint.requested = False


class Tracker:
    """Units of work done so far, shown by a progress bar when there is one."""

    def __init__(self, progress: Progress | None, description: str, total: int | None, unit: str) -> None:
        self._progress = progress
        self._task = progress.add_task(description, total=total, unit=unit) if progress is not None else None
        self.done = 0
        self.total = total
        self.unit = unit

    def advance(self, n: int = 1) -> None:
        """Count `n` more units done; raise KeyboardInterrupt if Ctrl-C was pressed and swallowed since."""
        self.done += n
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self.done)
        if _Sigint.requested:
            raise KeyboardInterrupt

    def set_total(self, total: int | None, description: str | None = None) -> None:
        """Change the total (and the label), e.g. when a second phase starts or its size becomes known."""
        self.total = total
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total, completed=self.done)
            if description is not None:
                self._progress.update(self._task, description=description)

    def reset(self, total: int | None, description: str | None = None) -> None:
        """Start a new phase: nothing done yet of `total`."""
        self.done = 0
        self.set_total(total, description)


def shows_progress(quiet: bool = False) -> bool:
    """Whether a progress bar would be drawn: stderr is a terminal and the command is not quiet."""
    return not quiet and sys.stderr.isatty()


@contextmanager
def progress(description: str, total: int | None, *, unit: str, quiet: bool = False) -> Iterator[Tracker]:
    """A progress bar with totals and ETA on a terminal (nothing otherwise); Ctrl-C raises `Interrupted`.

    While the bar is drawn, lines printed to stdout appear above it when stdout is the same
    terminal; when stdout is redirected they go where it points, untouched.
    """
    bar: Progress | None = None
    if shows_progress(quiet):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
            redirect_stdout=sys.stdout.isatty(),
            redirect_stderr=False,
        )
    tracker = Tracker(bar, description, total, unit)
    try:
        if bar is not None:
            bar.start()  # inside the try: Ctrl-C during the first draw still clears the bar
        yield tracker
    except Exception as exc:
        if not _Sigint.requested:
            raise
        # Code winding down after Ctrl-C (an event loop cancelling its tasks, say) may fail in
        # turn and raise something else in the interrupt's place: it is still the interrupt.
        raise Interrupted(tracker.done, tracker.total, tracker.unit) from exc
    except KeyboardInterrupt:
        raise Interrupted(tracker.done, tracker.total, tracker.unit) from None
    finally:
        if bar is not None:
            bar.stop()  # before the caller prints anything: the bar is gone from the terminal


def report_interruption(exc: Interrupted | KeyboardInterrupt, prog: str = "glitchless") -> int:
    """Print the one line that says how far a command got; return the exit status for Ctrl-C."""
    _quiet_abandoned_objects()
    text = str(exc) if isinstance(exc, Interrupted) else "interrupted"
    try:
        print(f"{prog}: {text}", file=sys.stderr, flush=True)
    except (OSError, ValueError):  # stderr closed with the terminal: nothing left to tell
        pass
    return INTERRUPTED_STATUS


# -- child processes ---------------------------------------------------------------------


def run_child(
    args: list[str],
    *,
    capture_output: bool = False,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    settle: float = 2.0,
    grace: float = 10.0,
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(args, text=True)` for a long child (pytest, mutmut) that Ctrl-C stops cleanly.

    Ctrl-C on a terminal reaches the child as well; if the child is still running `settle`
    seconds later (it was not in the terminal's process group, or ignored it), it is sent
    SIGINT, then after `grace` seconds SIGTERM, then SIGKILL. Then KeyboardInterrupt is
    raised here, for `progress` and `main` to report. Nothing is left running.
    """
    pipe = subprocess.PIPE if capture_output else None
    proc = subprocess.Popen(args, stdout=pipe, stderr=pipe, text=True, cwd=cwd, env=env)
    try:
        out, err = proc.communicate()
    except KeyboardInterrupt:
        _Sigint.requested = True
        _stop_child(proc, settle, grace)
        raise
    if _Sigint.requested:  # Ctrl-C landed where Python swallowed it; the child stopped on its own
        raise KeyboardInterrupt
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _stop_child(proc: subprocess.Popen[str], settle: float, grace: float) -> None:
    steps: list[tuple[float, Any]] = [
        (settle, lambda: proc.send_signal(signal.SIGINT)),
        (grace, proc.terminate),
        (5.0, proc.kill),
    ]
    for wait, escalate in steps:
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            escalate()
        except KeyboardInterrupt:  # Ctrl-C again: stop waiting politely
            proc.kill()
    try:
        proc.communicate(timeout=5.0)  # reap it and close the pipes
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        proc.kill()
        proc.wait()


# -- files -------------------------------------------------------------------------------


def write_atomic(
    path: str | Path, text: str, *, encoding: str = "utf-8", what: str = "", make_parents: bool = True
) -> Path:
    """Write `text` to `path` whole or not at all (a temporary file in the same directory, then a rename).

    Missing parent directories are created unless `make_parents` is false. An OSError (no permission, a read-only directory,
    a full disk) becomes a one-line `UsageError` naming the path (and `what` it is, e.g. "trace").
    """
    target = Path(path)
    name = f"{what} {str(target)!r}" if what else repr(str(target))
    try:
        if make_parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise UsageError(f"cannot write {name}: {exc.strerror or exc}") from None
    try:
        umask = os.umask(0)  # mkstemp makes the file private: give it the mode a plain open() would
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding=encoding, newline="\n") as fp:
            fp.write(text)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise UsageError(f"cannot write {name}: {exc.strerror or exc}") from None
        raise
    return target


__all__ = [
    "INTERRUPTED_STATUS",
    "Interrupted",
    "Tracker",
    "UsageError",
    "interrupt_guard",
    "interrupt_requested",
    "progress",
    "report_interruption",
    "run_child",
    "shows_progress",
    "validate_choices",
    "validate_count",
    "validate_int",
    "validate_path",
    "validate_percent",
    "validate_seed",
    "validate_target",
    "write_atomic",
]
