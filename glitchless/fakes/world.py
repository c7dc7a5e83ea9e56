"""Small, deterministic fakes of the outside world the scenarios talk to.

* Vault: secrets by name with validity windows on the fake clock, rotation
  (`sk-rotated-0001-prod-live`, ...), scheduled rotation and an outage fault.
* ExternalApi: a remote service whose health, latency and failures a script
  controls; latency is spent in virtual time.
* FakeLogger: records log lines instead of printing them.
* EventCollector: records published events, usable directly as a handler.

`glitchless.fakes.components` plugs the last two into a component kernel.

Everything is stamped with the fake clock and nothing reads the wall clock.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
import warnings
from typing import Any

from glitchless.fakes.clock import ClockTimer, FakeClock

# -- Vault ----------------------------------------------------------------


class VaultUnavailable(ConnectionError):
    """The vault is in an outage."""


class UnknownSecret(KeyError):
    """No secret of that name was ever put in the vault."""


@dataclass(frozen=True)
class Secret:
    name: str
    value: str
    version: int
    issued_at: float
    expires_at: float | None  # None: never expires

    def valid_at(self, t: float) -> bool:
        return self.issued_at <= t and (self.expires_at is None or t < self.expires_at)


@dataclass(frozen=True)
class VaultFailure:
    t: float
    op: str
    name: str
    error: str


class Vault:
    """Secrets by name. Each version is valid for `validity` seconds from issue (forever if None).

    Rotation issues a new version named by `rotated_format` (fields `n`: the
    new version number, `target`: the secret's target) and leaves older
    versions valid until they expire. During an outage every operation raises
    VaultUnavailable; each refused operation is recorded in `failures`.
    """

    def __init__(
        self,
        clock: FakeClock,
        *,
        validity: float | None = None,
        rotated_format: str = "sk-rotated-{n:04d}-{target}-live",
    ) -> None:
        self.clock = clock
        self.validity = validity
        self.rotated_format = rotated_format
        self.failures: list[VaultFailure] = []
        self._history: dict[str, list[Secret]] = {}
        self._targets: dict[str, str] = {}
        self._listeners: list[Callable[[Secret], None]] = []
        self._down = False

    # faults

    @property
    def outage(self) -> bool:
        return self._down

    def set_outage(self, down: bool) -> None:
        self._down = down

    def outage_for(self, duration: float) -> ClockTimer:
        """Go down now and come back after `duration` virtual seconds."""
        self._down = True
        return self.clock.call_later(duration, self.set_outage, False)

    # secrets

    def put(self, name: str, value: str, *, target: str = "prod") -> Secret:
        """Store `value` as the current version of `name` (version 0 when new)."""
        self._check_up("put", name)
        self._targets[name] = target
        return self._issue(name, value)

    def get(self, name: str) -> Secret:
        """The current version of `name`."""
        self._check_up("get", name)
        return self._current(name)

    def rotate(self, name: str) -> Secret:
        """Issue the next version of `name` and tell the `on_rotate` listeners."""
        self._check_up("rotate", name)
        current = self._current(name)
        value = self.rotated_format.format(n=current.version + 1, target=self._targets[name])
        secret = self._issue(name, value)
        for listener in list(self._listeners):
            listener(secret)
        return secret

    def rotate_every(self, name: str, interval: float) -> Callable[[], None]:
        """Rotate `name` every `interval` seconds of virtual time; return a function that stops it.

        A rotation that falls in an outage is skipped (and recorded in
        `failures`); the schedule carries on.
        """
        if interval <= 0:
            raise ValueError(f"rotation interval must be positive, got {interval}")
        timer: list[ClockTimer] = []

        def tick() -> None:
            timer[0] = self.clock.call_later(interval, tick)
            try:
                self.rotate(name)
            except VaultUnavailable:
                pass  # recorded by _check_up

        timer.append(self.clock.call_later(interval, tick))
        return lambda: timer[0].cancel()

    def on_rotate(self, listener: Callable[[Secret], None]) -> Callable[[], None]:
        """Call `listener(secret)` after each rotation; return a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def is_valid(self, name: str, value: str) -> bool:
        """Would a server trusting this vault accept `value` for `name` right now? (Outages do not matter.)"""
        now = self.clock.now()
        return any(s.value == value and s.valid_at(now) for s in self._history.get(name, ()))

    def history(self, name: str) -> list[Secret]:
        return list(self._history.get(name, ()))

    def _current(self, name: str) -> Secret:
        versions = self._history.get(name)
        if not versions:
            raise UnknownSecret(name)
        return versions[-1]

    def _issue(self, name: str, value: str) -> Secret:
        versions = self._history.setdefault(name, [])
        now = self.clock.now()
        expires = None if self.validity is None else now + self.validity
        secret = Secret(name, value, len(versions), now, expires)
        versions.append(secret)
        return secret

    def _check_up(self, op: str, name: str) -> None:
        if self._down:
            error = VaultUnavailable(f"vault unavailable: {op} {name!r}")
            self.failures.append(VaultFailure(self.clock.now(), op, name, str(error)))
            raise error


# -- ExternalApi ----------------------------------------------------------


class ApiUnavailable(ConnectionError):
    """The external API is down."""


@dataclass(frozen=True)
class ApiCall:
    t: float  # when the request was made
    op: str
    payload: object
    outcome: str  # "ok", "unavailable", "cancelled" or "error: <ExceptionType>"
    duration: float = 0.0


Handler = Callable[[str, object], object]


def _echo(op: str, payload: object) -> object:
    return {"ok": True, "op": op}


class ExternalApi:
    """A remote API under script control.

    `healthy`, `latency` and `failure` (an exception every call raises) are
    plain settable attributes, or use `down()`, `up()`, `slow()`, `fail_with()`
    and `at(t, step)` to script them on the clock. An async `call` spends
    `latency` seconds of virtual time (so `wait_for` can time it out) and then
    answers according to the state at that moment; `call_sync` answers at once.
    Every call is recorded in `calls`.
    """

    def __init__(
        self, clock: FakeClock, *, name: str = "ext-api", latency: float = 0.0, handler: Handler = _echo
    ) -> None:
        self.clock = clock
        self.name = name
        self.latency = latency
        self.healthy = True
        self.failure: Exception | None = None
        self.handler = handler
        self.calls: list[ApiCall] = []

    def down(self) -> None:
        self.healthy = False

    def up(self) -> None:
        self.healthy = True

    def slow(self, latency: float) -> None:
        self.latency = latency

    def fail_with(self, exc: Exception | None) -> None:
        """Make every call raise `exc` (None to stop)."""
        self.failure = exc

    def at(self, t: float, step: Callable[[ExternalApi], None]) -> ClockTimer:
        """Script a change: run `step(self)` when virtual time reaches `t`."""
        return self.clock.call_at(t, step, self)

    async def call(self, op: str, payload: object = None) -> object:
        start = self.clock.now()
        try:
            if self.latency > 0:
                await asyncio.sleep(self.latency)
        except asyncio.CancelledError:
            self.calls.append(ApiCall(start, op, payload, "cancelled", self.clock.now() - start))
            raise
        return self._answer(start, op, payload)

    def call_sync(self, op: str, payload: object = None) -> object:
        return self._answer(self.clock.now(), op, payload)

    @property
    def ok_calls(self) -> int:
        return sum(1 for c in self.calls if c.outcome == "ok")

    def _answer(self, start: float, op: str, payload: object) -> object:
        duration = self.clock.now() - start
        if not self.healthy:
            self.calls.append(ApiCall(start, op, payload, "unavailable", duration))
            raise ApiUnavailable(f"{self.name} is down ({op})")
        if self.failure is not None:
            self.calls.append(ApiCall(start, op, payload, f"error: {type(self.failure).__name__}", duration))
            raise self.failure
        self.calls.append(ApiCall(start, op, payload, "ok", duration))
        return self.handler(op, payload)


# -- FakeLogger -----------------------------------------------------------


@dataclass(frozen=True)
class LogRecord:
    t: float | None
    level: str
    message: str
    fields: Mapping[str, Any] = field(default_factory=dict)


class FakeLogger:
    """Records log lines, stamped with the clock's time when it has one.

    Not the kernel's `glitchless.kernel.Logger` component: this one stands in for
    whatever logger the code under test is given (see `FakeLoggerProvider`).
    """

    def __init__(self, clock: FakeClock | None = None, *, name: str = "") -> None:
        self.clock = clock
        self.name = name
        self.records: list[LogRecord] = []

    def log(self, level: str, message: str, **fields: Any) -> None:
        t = self.clock.now() if self.clock is not None else None
        self.records.append(LogRecord(t, level, message, fields))

    def debug(self, message: str, **fields: Any) -> None:
        self.log("debug", message, **fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log("info", message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log("warning", message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log("error", message, **fields)

    def messages(self, level: str | None = None) -> list[str]:
        return [r.message for r in self.records if level is None or r.level == level]

    def clear(self) -> None:
        self.records.clear()


# -- EventCollector -------------------------------------------------------


@dataclass(frozen=True)
class CollectedEvent:
    t: float | None
    topic: str
    data: object


class EventCollector:
    """Records published events; call it as `collector(topic, data)`, e.g. as a bus subscriber."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.events: list[CollectedEvent] = []

    def __call__(self, topic: str, data: object = None) -> None:
        t = self.clock.now() if self.clock is not None else None
        self.events.append(CollectedEvent(t, topic, data))

    collect = __call__

    def of(self, pattern: str) -> list[object]:
        """The data of the events whose topic matches `pattern` (a glob such as `account.*`)."""
        return [e.data for e in self.events if fnmatch.fnmatchcase(e.topic, pattern)]

    def topics(self) -> list[str]:
        return [e.topic for e in self.events]

    def clear(self) -> None:
        self.events.clear()


def __getattr__(name: str) -> Any:
    # `Logger` was this class's name until it was told apart from the kernel's Logger component.
    if name == "Logger":
        warnings.warn("glitchless.fakes.Logger is deprecated: use glitchless.fakes.FakeLogger",
                      DeprecationWarning, stacklevel=2)
        return FakeLogger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
