"""Components that plug the fakes' recorders into a component `Kernel`.

The pytest fixtures `fake_logger` and `event_collector` (and any `FakeLogger` or
`EventCollector` you make) record nothing until a kernel talks to them; these two
components are the plugs:

    sim_kernel.instantiate(FakeLoggerProvider, properties={"logger": fake_logger})
    sim_kernel.instantiate(EventProbe, properties={"collector": event_collector, "topics": ["order.*"]})

`FakeLoggerProvider` provides `ILogger`: every component requiring it gets the
`FakeLogger` itself. `EventProbe` hands every bus event whose topic matches one of
`topics` (globs; default: every topic) to the `EventCollector`, as `collector(topic, data)`.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from glitchless.fakes.world import EventCollector, FakeLogger
from glitchless.kernel import Component, ComponentError, Context, component, subscribe


def _property(ctx: Context, name: str, kind: type[Any]) -> Any:
    value = ctx.properties.get(name)
    if not isinstance(value, kind):
        raise ComponentError(
            f"{ctx.name!r} needs the property {name!r}: a {kind.__name__} (got {type(value).__name__})"
        )
    return value


@component("fake-logger", version="1.0", provides=["ILogger"])
class FakeLoggerProvider(Component):
    """Provides `ILogger`: hands every consumer the `FakeLogger` given as the `logger` property."""

    def for_consumer(self, consumer: Context) -> FakeLogger:
        logger: FakeLogger = _property(self.ctx, "logger", FakeLogger)
        return logger


@component("event-probe", version="1.0", properties={"topics": ("*",)})
class EventProbe(Component):
    """Feeds the bus events matching `topics` (globs) to the `EventCollector` given as `collector`."""

    @subscribe("*")
    def collect(self, topic: str, data: Any) -> None:
        patterns = self.ctx.properties["topics"]
        if isinstance(patterns, str):
            patterns = (patterns,)
        if any(fnmatchcase(topic, p) for p in patterns):
            collector: EventCollector = _property(self.ctx, "collector", EventCollector)
            collector(topic, data)


__all__ = ["EventProbe", "FakeLoggerProvider"]
