"""Fresh copies of the glitchless kernel with one bug planted in each, for the property tests.

Each copy is loaded from the kernel's source file under its own module name,
then patched; the real `glitchless.kernel.reactive` is never touched.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import glitchless.kernel.reactive as real

_counter = itertools.count()
_SOURCE_PATH = Path(real.__file__).with_name("reactive.py")  # the source, even when the .so is loaded


def fresh_kernel() -> ModuleType:
    """An independent copy of glitchless.kernel.reactive (its own classes and globals)."""
    name = f"_planted_reactive_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, _SOURCE_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def no_equality_cutoff() -> ModuleType:
    """A computed that recomputes to an equal value still counts as changed.

    Both places that apply a computed's equality lose it: its own cut-off, and the
    comparison of its value with the one an effect last saw (signals keep theirs).
    """
    return patched_kernel(
        ("changed = not (old is value or (old == value if equals is None else equals(old, value)))",
         "changed = True"),
        ("            elif seen is value:\n", "            elif seen is value and not isinstance(src, Computed):\n"),
        ("                if not (seen == value if equals is None else equals(seen, value)):",
         "                if isinstance(src, Computed) or not (seen == value if equals is None else equals(seen, value)):"),
    )


def effect_runs_twice() -> ModuleType:
    """Every effect run is immediately repeated: twice per flush (and at creation)."""
    k = fresh_kernel()
    run_effect = k.Runtime._run_effect

    def twice(self: Any, e: Any) -> None:
        run_effect(self, e)
        if not e._disposed:
            run_effect(self, e)

    k.Runtime._run_effect = twice
    return k


def stale_computed() -> ModuleType:
    """A write marks only direct dependents: computeds further out keep a stale cached value."""
    k = fresh_kernel()

    def mark(self: Any, origin: Any) -> None:
        for node in origin._subs:
            state = node._state
            node._state = k.DIRTY
            if state == k.CLEAN and node._subs is None:
                self._pending.append(node)

    k.Runtime._mark = mark
    return k


PLANTED = {
    "no-equality-cutoff": no_equality_cutoff,
    "effect-runs-twice": effect_runs_twice,
    "stale-computed": stale_computed,
}


# -- realistic bugs: one changed line (or a moved one) in a copy of reactive.py's source -----------


def patched_kernel(*patches: tuple[str, str]) -> ModuleType:
    """A fresh copy of the kernel with each `old` snippet of its source replaced by `new`.

    Each `old` must occur exactly once (it may carry a line of context to be
    unique): when the kernel changes under a patch, this fails loudly instead of
    planting nothing.
    """
    source = _SOURCE_PATH.read_text()
    for old, new in patches:
        found = source.count(old)
        if found != 1:
            raise LookupError(
                f"planted bug out of date: {old.strip()!r} occurs {found} times in {_SOURCE_PATH.name}, not once"
            )
        source = source.replace(old, new)
    name = f"_planted_reactive_{next(_counter)}"
    module = ModuleType(name)
    module.__file__ = str(_SOURCE_PATH)
    # Registered like any module, so that a target built on it finds its MAX_FLUSH_ROUNDS (and fuzzing
    # draws cascades up to that bound, as it does for the real kernel).
    sys.modules[name] = module
    exec(compile(source, f"<{name}: patched {_SOURCE_PATH.name}>", "exec"), module.__dict__)
    return module


def round_bound_off_by_one() -> ModuleType:
    """The runaway check fires one round early: a cascade settling in exactly MAX_FLUSH_ROUNDS rounds raises."""
    return patched_kernel(("if rounds > MAX_FLUSH_ROUNDS:", "if rounds >= MAX_FLUSH_ROUNDS:"))


def wrong_version_compared() -> ModuleType:
    """After refreshing a stale source, the scan compares each later source with the resume point's version."""
    return patched_kernel(("if src._version != versions[i]:\n                        break",
                           "if src._version != versions[positions[-1]]:\n                        break"))


def refresh_skips_last_source() -> ModuleType:
    """A CHECK computed never looks at its last source's version."""
    return patched_kernel(("n = len(sources)\n", "n = len(sources) - 1\n"))


def cleanup_after_run() -> ModuleType:
    """An effect's previous cleanups run after its new run instead of before it."""
    return patched_kernel(
        ("        if e._cleanups:\n            try:\n                self._run_cleanups(e, errors)\n"
         "            except BaseException:\n                e._state = DIRTY  # interrupted: it runs at the next flush\n"
         "                raise\n            if e._disposed:  # a cleanup disposed it: the run about to start does not happen\n"
         "                _raise(errors, f\"{_describe('effect', e.name)}: its cleanups failed\")\n                return\n", ""),
        ("        if result is not None and callable(result):\n            if e._disposed:",
         "        self._run_cleanups(e, errors)\n        if result is not None and callable(result):\n            if e._disposed:"),
    )


def dirty_flag_kept_on_error() -> ModuleType:
    """An effect whose change check raised (a custom equals, say) stays marked: later writes never queue it."""
    return patched_kernel(("                                        self._evaluate(src)  # type: ignore[arg-type]\n"
                            "                                e._state = CLEAN\n",
                            "                                        self._evaluate(src)  # type: ignore[arg-type]\n"))


def sources_not_truncated() -> ModuleType:
    """A re-run that read fewer sources keeps the ones it dropped (and stays subscribed to them)."""
    return patched_kernel(("if end < len(sources):", "if end > len(sources):"))


def batch_depth_leaks_on_error() -> ModuleType:
    """The batch depth an effect run raises is restored only when the run returns normally."""
    return patched_kernel((
        "        try:\n            return fn()\n        finally:\n            self._batch_depth -= 1\n",
        "        try:\n            result = fn()\n            self._batch_depth -= 1\n            return result\n"
        "        finally:\n",
    ))


def effects_in_insertion_order() -> ModuleType:
    """A flush de-duplicates its queue keeping the order effects were marked in, not their creation order."""
    return patched_kernel(("queue.sort(key=_effect_order)", "queue = list(dict.fromkeys(queue))"))


def identity_only_equality() -> ModuleType:
    """A computed without a custom equals cuts off only when the new value is the same object."""
    return patched_kernel(
        ("changed = not (old is value or (old == value if equals is None else equals(old, value)))",
         "changed = not (old is value if equals is None else equals(old, value))"),
        ("                if not (seen == value if equals is None else equals(seen, value)):",
         "                if equals is None or not equals(seen, value):"),
    )


def stale_error_after_recovery() -> ModuleType:
    """A computed that failed and then recomputes its last good value keeps raising the old error."""
    return patched_kernel(("if error is None and node._error is None and node._version:",
                           "if error is None and node._version:"))


def untracked_drops_observer() -> ModuleType:
    """untracked() leaves no observer behind: reads after it, in the same fn, are not tracked."""
    return patched_kernel(("            return fn()\n        finally:\n            self._observer = prev\n",
                           "            return fn()\n        finally:\n            self._observer = None\n"))


def peek_subscribes() -> ModuleType:
    """Signal.peek tracks the read, like get()."""
    return patched_kernel(("    def peek(self) -> T:\n        return self._value\n",
                           "    def peek(self) -> T:\n        return self.get()\n"))


def dispose_skips_dependents() -> ModuleType:
    """A disposed computed does not tell its dependents: they keep serving values computed from it."""
    return patched_kernel(("            rt._mark(self)\n            self._subs = _NO_SUBS\n", "            self._subs = _NO_SUBS\n"))


def scope_disposes_oldest_first() -> ModuleType:
    """A scope's dispose() disposes what it owns oldest first, not newest first."""
    return patched_kernel(("            for dispose in reversed(owned):\n", "            for dispose in owned:\n"))


def untracked_block_tracks() -> ModuleType:
    """`with rt.untracked():` keeps the observer: reads inside the block subscribe."""
    return patched_kernel(("        self._prev = self._rt._observer\n        self._rt._observer = None\n",
                           "        self._prev = self._rt._observer\n"))


def nested_batch_flushes_early() -> ModuleType:
    """The end of an inner batch flushes, as if it were the outermost one."""
    return patched_kernel(("        rt._batch_depth -= 1\n        if not rt._batch_depth and rt._pending:",
                           "        rt._batch_depth -= 1\n        if rt._pending:"))


def interrupt_drops_the_rest() -> ModuleType:
    """An interrupt in a flush keeps pending only the effect it cut short: the effects not yet reached are lost."""
    return patched_kernel(("self._pending[:0] = [x for x in queue[k:] if not x._disposed and x not in self._pending]",
                           "self._pending[:0] = [x for x in queue[k:k + 1] if not x._disposed and x not in self._pending]"))


def interrupted_effect_left_clean() -> ModuleType:
    """An effect whose body an interrupt cut short is left CLEAN: the next flush skips it."""
    return patched_kernel(("        except BaseException:\n            e._state = DIRTY\n            raise\n        finally:\n"
                           "            self._running = prev\n",
                           "        except BaseException:\n            raise\n        finally:\n"
                           "            self._running = prev\n"))


def interrupted_computed_left_running() -> ModuleType:
    """A computed whose fn an interrupt cut short stays marked running: its next read reports a cycle."""
    return patched_kernel(("            # An interrupt (or _EvaluateFirst) abandons the run: the next read runs fn again.\n"
                           "            node._state = DIRTY\n",
                           "            # An interrupt (or _EvaluateFirst) abandons the run: the next read runs fn again.\n"))


def error_loses_traceback() -> ModuleType:
    """A computed's held error is re-raised to its readers without the traceback of the fn that raised it."""
    return patched_kernel(("            raise self._error.with_traceback(self._error_tb)\n        return self._value  # type: ignore[no-any-return]\n\n    def peek",
                           "            raise self._error.with_traceback(None)\n        return self._value  # type: ignore[no-any-return]\n\n    def peek"))


REALISTIC = {
    "round-bound-off-by-one": round_bound_off_by_one,
    "wrong-version-compared": wrong_version_compared,
    "refresh-skips-last-source": refresh_skips_last_source,
    "cleanup-after-run": cleanup_after_run,
    "dirty-flag-kept-on-error": dirty_flag_kept_on_error,
    "sources-not-truncated": sources_not_truncated,
    "batch-depth-leaks-on-error": batch_depth_leaks_on_error,
    "effects-in-insertion-order": effects_in_insertion_order,
    "identity-only-equality": identity_only_equality,
    "stale-error-after-recovery": stale_error_after_recovery,
    "untracked-drops-observer": untracked_drops_observer,
    "peek-subscribes": peek_subscribes,
    "dispose-skips-dependents": dispose_skips_dependents,
    "nested-batch-flushes-early": nested_batch_flushes_early,
    "interrupt-drops-the-rest": interrupt_drops_the_rest,
    "interrupted-effect-left-clean": interrupted_effect_left_clean,
    "interrupted-computed-left-running": interrupted_computed_left_running,
    "error-loses-traceback": error_loses_traceback,
    "scope-disposes-oldest-first": scope_disposes_oldest_first,
    "untracked-block-tracks": untracked_block_tracks,
}
"""Bugs a developer could plausibly write into reactive.py, each a one-line change (a moved line at most)."""
