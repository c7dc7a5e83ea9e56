"""An ordered record of what happened, stamped with virtual time, as JSON lines.

Each event is one line `{"data":{...},"kind":"...","t":1.5}`: keys sorted, no
spaces, ASCII only, no NaN. Data is normalised through JSON when recorded, so
a trace read back compares equal to the one written, and the same run writes
the same bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Union

from glitchless.fakes.clock import FakeClock

Json = Union[None, bool, int, float, str, list["Json"], dict[str, "Json"]]


def dumps(value: object) -> str:
    """The one deterministic JSON formatting used throughout the fakes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


@dataclass(frozen=True)
class TraceEvent:
    t: float
    kind: str
    data: Mapping[str, Json] = field(default_factory=dict)

    def to_json(self) -> str:
        return dumps({"t": self.t, "kind": self.kind, "data": dict(self.data)})

    @classmethod
    def from_json(cls, line: str) -> TraceEvent:
        obj = json.loads(line)
        if not isinstance(obj, dict) or set(obj) != {"t", "kind", "data"}:
            raise ValueError(f"not a trace event: {line!r}")
        t, kind, data = obj["t"], obj["kind"], obj["data"]
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not isinstance(kind, str) or not isinstance(data, dict):
            raise ValueError(f"malformed trace event: {line!r}")
        return cls(float(t), kind, data)


class Trace:
    """Events in the order recorded, each stamped with `clock.now()`."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self._events: list[TraceEvent] = []

    def record(self, kind: str, /, **data: object) -> TraceEvent:
        """Append an event; `data` must be JSON-serialisable (tuples become lists)."""
        try:
            normal = json.loads(dumps(data))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"trace data for {kind!r} is not JSON-serialisable: {exc}") from None
        event = TraceEvent(self.clock.now(), kind, normal)
        self._events.append(event)
        return event

    @property
    def events(self) -> list[TraceEvent]:
        return list(self._events)

    def of(self, kind: str) -> list[TraceEvent]:
        return [e for e in self._events if e.kind == kind]

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[TraceEvent]:
        return iter(list(self._events))

    def to_jsonl(self) -> str:
        return "".join(e.to_json() + "\n" for e in self._events)

    def write(self, target: str | os.PathLike[str] | IO[str]) -> None:
        if isinstance(target, (str, os.PathLike)):
            with open(target, "w", encoding="ascii", newline="\n") as fp:
                fp.write(self.to_jsonl())
        else:
            target.write(self.to_jsonl())

    @staticmethod
    def parse(text: str) -> list[TraceEvent]:
        """The events of a JSON-lines trace (blank lines ignored)."""
        return [TraceEvent.from_json(line) for line in text.splitlines() if line.strip()]

    @staticmethod
    def read(source: str | os.PathLike[str] | IO[str]) -> list[TraceEvent]:
        if isinstance(source, (str, os.PathLike)):
            with open(source, encoding="ascii") as fp:
                return Trace.parse(fp.read())
        return Trace.parse(source.read())
