"""The reactive core's edges: disposal mid-graph, failures around effect creation, and exact messages."""

from __future__ import annotations

import re
from typing import Any

import pytest

from glitchless.kernel import (
    Computed,
    CycleError,
    DisposedError,
    Runtime,
    WriteInComputedError,
)


@pytest.fixture
def rt() -> Runtime:
    return Runtime()


# -- effect creation --------------------------------------------------------------


def test_an_effect_failing_on_creation_and_a_failing_flush_after_it_raise_both(rt: Runtime) -> None:
    s = rt.signal(0)

    def reader() -> None:
        if s.get() == 1:
            raise ValueError("reader saw 1")

    rt.effect(reader, name="reader")

    def writer() -> None:
        s.set(1)
        raise KeyError("writer")

    with pytest.raises(ExceptionGroup) as info:
        rt.effect(writer, name="writer")
    assert info.value.message == "effect 'writer': creating it failed (its run, its cleanups, the flush after it)"
    assert [type(e) for e in info.value.exceptions] == [KeyError, ValueError]
    assert str(info.value.exceptions[1]) == "reader saw 1"
    assert s.peek() == 1


def test_an_effect_failing_on_creation_inside_a_batch_leaves_its_write_to_the_batch(rt: Runtime) -> None:
    s = rt.signal(0)
    seen: list[int] = []
    rt.effect(lambda: seen.append(s.get()))

    def writer() -> None:
        s.set(1)
        raise KeyError("writer")

    with rt.batch():
        with pytest.raises(KeyError):
            rt.effect(writer)
        assert seen == [0]  # the batch owns the flush
    assert seen == [0, 1]


def test_an_effect_created_inside_a_batch_runs_at_once_but_its_writes_wait(rt: Runtime) -> None:
    s = rt.signal(0)
    seen: list[int] = []
    rt.effect(lambda: seen.append(s.get()))
    created: list[str] = []
    with rt.batch():
        rt.effect(lambda: (created.append("ran"), s.set(5)) and None)
        assert created == ["ran"] and seen == [0]
    assert seen == [0, 5]


def test_cancel_on_supersede_is_refused_for_a_sync_effect_and_nothing_runs(rt: Runtime) -> None:
    runs: list[int] = []
    with pytest.raises(TypeError, match="^cancel_on_supersede applies to async effects only$"):
        rt.effect(lambda: runs.append(1), cancel_on_supersede=True)  # type: ignore[call-overload]
    assert runs == []


def test_an_effect_that_returns_a_non_callable_has_no_cleanup(rt: Runtime) -> None:
    s = rt.signal(0)
    runs: list[int] = []

    def body() -> Any:
        runs.append(s.get())
        return 42  # not a cleanup

    e = rt.effect(body)
    s.set(1)
    e.dispose()
    assert runs == [0, 1]


# -- disposal -------------------------------------------------------------------


def test_an_effect_disposing_itself_without_a_cleanup_never_runs_again(rt: Runtime) -> None:
    s = rt.signal(0)
    runs: list[int] = []
    holder: list[Any] = []

    def body() -> None:
        runs.append(s.get())
        if s.get() == 1:
            holder[0].dispose()

    holder.append(rt.effect(body))
    s.set(1)
    s.set(2)
    assert runs == [0, 1]
    assert holder[0].disposed


def test_an_effect_disposing_itself_runs_the_cleanup_it_returns_once(rt: Runtime) -> None:
    s = rt.signal(0)
    cleaned: list[int] = []
    holder: list[Any] = []

    def body() -> Any:
        v = s.get()
        if v == 1:
            holder[0].dispose()
        return lambda: cleaned.append(v)

    holder.append(rt.effect(body))
    s.set(1)  # runs cleanup of run 0, then run 1 disposes itself: its own cleanup runs at once
    assert cleaned == [0, 1]
    s.set(2)
    holder[0].dispose()
    assert cleaned == [0, 1]


def test_disposing_a_computed_twice_is_harmless(rt: Runtime) -> None:
    s = rt.signal(1)
    c = rt.computed(lambda: s.get() * 2, name="double")
    seen: list[Any] = []

    def watch() -> None:
        try:
            seen.append(c.get())
        except DisposedError as exc:
            seen.append(str(exc))

    rt.effect(watch)
    c.dispose()
    c.dispose()
    assert seen == [2, "computed 'double' was read after dispose()"]


def test_disposing_a_computed_outside_a_batch_reruns_its_readers_before_returning(rt: Runtime) -> None:
    s = rt.signal(1)
    c = rt.computed(lambda: s.get() + 1, name="c")
    seen: list[str] = []

    def watch() -> None:
        try:
            seen.append(f"value {c.get()}")
        except DisposedError as exc:
            seen.append(str(exc))

    rt.effect(watch)
    c.dispose()
    assert seen == ["value 2", "computed 'c' was read after dispose()"]
    s.set(2)  # the disposed computed no longer listens
    assert len(seen) == 2


def test_disposing_a_computed_inside_a_batch_reruns_its_readers_at_batch_exit(rt: Runtime) -> None:
    s = rt.signal(1)
    c = rt.computed(lambda: s.get() + 1, name="c")
    seen: list[str] = []

    def watch() -> None:
        try:
            seen.append(f"value {c.get()}")
        except DisposedError as exc:
            seen.append(type(exc).__name__)

    rt.effect(watch)
    with rt.batch():
        c.dispose()
        assert seen == ["value 2"]
    assert seen == ["value 2", "DisposedError"]


def test_disposing_a_computed_nobody_reads_runs_nothing(rt: Runtime) -> None:
    s = rt.signal(1)
    runs: list[int] = []
    c = rt.computed(lambda: runs.append(s.get()) or s.get())
    assert c.get() == 1
    c.dispose()
    s.set(2)
    assert runs == [1]
    with pytest.raises(DisposedError):
        c.peek()


def test_an_effect_reading_a_computed_disposed_mid_flush_reports_the_disposal(rt: Runtime) -> None:
    s = rt.signal(1)
    c = rt.computed(lambda: s.get() * 10, name="tens")
    seen: list[str] = []

    def watch() -> None:
        v = s.get()
        try:
            seen.append(f"{v}:{c.get()}")
        except DisposedError as exc:
            seen.append(f"{v}:{exc}")

    def disposer() -> None:
        if s.get() == 2:
            c.dispose()

    rt.effect(disposer)
    rt.effect(watch)
    s.set(2)  # disposer runs first and disposes c; watch then re-runs and finds out
    assert seen == ["1:10", "2:computed 'tens' was read after dispose()"]


def test_a_computed_whose_source_was_disposed_under_it_recomputes_and_reports_it(rt: Runtime) -> None:
    s = rt.signal(1)
    inner = rt.computed(lambda: s.get(), name="inner")
    via = rt.computed(lambda: s.get() + 100, name="via")

    def outer_fn() -> int:
        v = inner.get()
        if s.peek() == 1:
            inner.dispose()  # inner stays among outer's sources, disposed
        return v + via.get()

    outer = rt.computed(outer_fn, name="outer")
    assert outer.get() == 102
    s.set(2)  # via changes, so outer is checked: its disposed source forces a recompute
    with pytest.raises(DisposedError, match="^computed 'inner' was read after dispose\\(\\)$"):
        outer.get()


# -- cycles and writes ------------------------------------------------------------


def test_cycle_through_a_check_path_names_the_computed_on_the_cycle(rt: Runtime) -> None:
    s = rt.signal(0)
    flag = rt.signal(False)
    holder: dict[str, Computed[int]] = {}
    a = rt.computed(lambda: s.get() + (holder["b"].get() if flag.get() else 0), name="a")
    b = rt.computed(lambda: a.get() + 1, name="b")
    holder["b"] = b
    assert b.get() == 1
    flag.set(True)
    with pytest.raises(CycleError, match="^computed '[ab]' depends on itself$"):
        b.get()
    flag.set(False)
    assert b.get() == 1


def test_a_computed_reading_a_computed_mid_run_is_a_cycle_error_naming_it(rt: Runtime) -> None:
    holder: list[Computed[int]] = []
    c = rt.computed(lambda: holder[0].peek() + 1, name="selfpeek")
    holder.append(c)
    with pytest.raises(CycleError, match="^computed 'selfpeek' depends on itself$"):
        c.get()


def test_an_unnamed_node_is_described_by_its_kind(rt: Runtime) -> None:
    s = rt.signal(0)
    c = rt.computed(lambda: s.set(1))
    with pytest.raises(WriteInComputedError, match="^signal written while a computed was running; computeds must be pure$"):
        c.get()
    c.dispose()
    with pytest.raises(DisposedError, match="^computed was read after dispose\\(\\)$"):
        c.get()


# -- versions, tracking and tracebacks ----------------------------------------------


def test_a_reader_sees_a_recovered_value_after_the_computed_failed_in_between(rt: Runtime) -> None:
    s = rt.signal(1)

    def fn() -> int:
        if s.get() == 2:
            raise ValueError("two")
        return s.get() * 10

    c = rt.computed(fn)
    r = rt.computed(lambda: c.get() + 1)
    assert r.get() == 11
    s.set(2)
    with pytest.raises(ValueError):
        c.get()  # c fails; r is not read meanwhile
    s.set(3)
    assert r.get() == 31


def test_an_error_read_from_a_computed_keeps_the_frames_of_its_fn(rt: Runtime) -> None:
    def failing_fn() -> int:
        raise ValueError("inside")

    c = rt.computed(failing_fn)
    for read in (c.get, c.peek):
        with pytest.raises(ValueError) as info:
            read()
        assert "failing_fn" in [entry.name for entry in info.traceback]


def test_reads_after_untracked_in_a_body_are_still_tracked(rt: Runtime) -> None:
    a, b = rt.signal(1), rt.signal(1)
    runs: list[int] = []

    def body() -> None:
        rt.untracked(a.get)
        runs.append(b.get())

    rt.effect(body)
    a.set(2)
    b.set(2)
    assert runs == [1, 2]


def test_reads_after_creating_an_inner_effect_are_still_tracked_by_the_outer(rt: Runtime) -> None:
    s = rt.signal(1)
    runs: list[int] = []
    inner: list[Any] = []

    def outer() -> None:
        if not inner:
            inner.append(rt.effect(lambda: None))
        runs.append(s.get())

    rt.effect(outer)
    s.set(2)
    assert runs == [1, 2]


def test_rt_computed_passes_its_equals_on(rt: Runtime) -> None:
    s = rt.signal(1)
    c = rt.computed(lambda: s.get(), equals=lambda a, b: True)  # every new value counts as the same
    runs: list[int] = []
    rt.effect(lambda: runs.append(c.get()))
    s.set(2)
    assert runs == [1]


def test_a_foreign_write_without_a_scheduler_is_refused_naming_the_signal(rt: Runtime) -> None:
    import threading

    named, unnamed = rt.signal(0, name="n"), rt.signal(0)
    errors: list[str] = []

    def write() -> None:
        for sig in (named, unnamed):
            try:
                sig.set(1)
            except Exception as exc:
                errors.append(str(exc))

    t = threading.Thread(target=write)
    t.start()
    t.join()
    assert errors == [
        "signal 'n' written from a foreign thread, but its runtime has no scheduler to hand the write to",
        "signal written from a foreign thread, but its runtime has no scheduler to hand the write to",
    ]


def test_non_callable_fns_are_refused_naming_their_type(rt: Runtime) -> None:
    with pytest.raises(TypeError, match="^computed fn must be callable, got int$"):
        rt.computed(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^effect fn must be callable, got str$"):
        rt.effect("x")  # type: ignore[call-overload]


def test_a_cycle_found_while_checking_names_the_computed_on_the_stack(rt: Runtime) -> None:
    s = rt.signal(0)
    holder: dict[str, Computed[int]] = {}
    a = rt.computed(lambda: s.get() + (holder["b"].get() if s.get() > 0 else 0), name="a")
    m = rt.computed(lambda: a.get(), name="m")
    b = rt.computed(lambda: m.get() + 1, name="b")
    holder["b"] = b
    assert b.get() == 1
    s.set(1)
    with pytest.raises(CycleError) as info:
        b.get()
    assert re.fullmatch(r"computed '(a|m|b)' depends on itself", str(info.value))
