"""The trace recorder: virtual-time stamps, deterministic JSON lines, read back equal."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from glitchless.fakes import FakeClock, Trace, TraceEvent, simulate


def test_events_are_stamped_with_virtual_time_in_recording_order() -> None:
    clock = FakeClock()
    trace = Trace(clock)
    trace.record("boot", version=1)
    clock.advance(2.5)
    trace.record("tick")
    assert trace.events == [TraceEvent(0.0, "boot", {"version": 1}), TraceEvent(2.5, "tick", {})]
    assert [e.kind for e in trace.of("tick")] == ["tick"] and len(trace) == 2


def test_jsonl_has_sorted_keys_and_compact_deterministic_formatting() -> None:
    clock = FakeClock()
    trace = Trace(clock)
    trace.record("put", zeta=1, alpha=[1, 2], nested={"b": None, "a": "é"})
    assert trace.to_jsonl() == (
        '{"data":{"alpha":[1,2],"nested":{"a":"\\u00e9","b":null},"zeta":1},"kind":"put","t":0.0}\n'
    )


def test_trace_written_to_a_file_reads_back_equal(tmp_path: Path) -> None:
    clock = FakeClock()
    trace = Trace(clock)
    trace.record("a", pair=(1, 2), flag=True)
    clock.advance(1 / 3)
    trace.record("b", text="x\ny")
    path = tmp_path / "trace.jsonl"
    trace.write(path)
    assert Trace.read(path) == trace.events
    buffer = io.StringIO()
    trace.write(buffer)
    buffer.seek(0)
    assert Trace.read(buffer) == trace.events
    assert trace.events[0].data["pair"] == [1, 2]  # normalised at record time


def test_unserialisable_or_non_finite_data_is_refused_at_record_time() -> None:
    trace = Trace(FakeClock())
    with pytest.raises(TypeError, match="'bad'"):
        trace.record("bad", obj=object())
    with pytest.raises(TypeError):
        trace.record("nan", value=float("nan"))
    assert len(trace) == 0


def test_malformed_lines_are_rejected() -> None:
    with pytest.raises(ValueError):
        Trace.parse('{"t":0,"kind":"x"}\n')
    with pytest.raises(ValueError):
        Trace.parse('{"t":"0","kind":"x","data":{}}\n')


def test_the_same_simulation_writes_byte_identical_traces() -> None:
    def run(seed: int) -> str:
        clock = FakeClock()
        trace = Trace(clock)

        async def main() -> None:
            async def worker(name: str) -> None:
                for i in range(3):
                    trace.record("step", worker=name, i=i)
                    await asyncio.sleep(0.5 * (i % 2))

            await asyncio.gather(*(worker(n) for n in "xyz"))

        simulate(main, seed=seed, clock=clock)
        return trace.to_jsonl()

    assert run(4) == run(4)
    assert len({run(seed) for seed in range(10)}) >= 2
