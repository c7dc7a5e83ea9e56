"""glitchless.fakes: virtual time, a deterministic seeded scheduler, a trace recorder and fakes of the world.

    from glitchless.fakes import simulate

    async def main() -> float:
        await asyncio.sleep(3600)            # returns at once in wall time
        return asyncio.get_running_loop().time()

    assert simulate(main, seed=7) == 3600.0
"""

from glitchless.fakes.choosers import Chooser, FifoChooser, FunctionChooser, ReplayChooser, SeededChooser
from glitchless.fakes.clock import ClockTimer, FakeClock
from glitchless.fakes.loop import DeterministicLoop, SimulationStalled, current_clock, explore, simulate
from glitchless.fakes.trace import Json, Trace, TraceEvent, dumps
from glitchless.fakes.world import (
    ApiCall,
    ApiUnavailable,
    CollectedEvent,
    EventCollector,
    ExternalApi,
    FakeLogger,
    LogRecord,
    Secret,
    UnknownSecret,
    Vault,
    VaultFailure,
    VaultUnavailable,
)
from glitchless.fakes.components import EventProbe, FakeLoggerProvider  # after world: they plug its recorders in

__all__ = [
    "ApiCall",
    "ApiUnavailable",
    "Chooser",
    "ClockTimer",
    "CollectedEvent",
    "DeterministicLoop",
    "EventCollector",
    "EventProbe",
    "ExternalApi",
    "FakeClock",
    "FakeLogger",
    "FakeLoggerProvider",
    "FifoChooser",
    "FunctionChooser",
    "Json",
    "LogRecord",
    "ReplayChooser",
    "Secret",
    "SeededChooser",
    "SimulationStalled",
    "Trace",
    "TraceEvent",
    "UnknownSecret",
    "Vault",
    "VaultFailure",
    "VaultUnavailable",
    "current_clock",
    "dumps",
    "explore",
    "simulate",
]


def __getattr__(name: str) -> object:
    if name == "Logger":  # the old name of FakeLogger, until it was told apart from the kernel's Logger
        import warnings

        warnings.warn("glitchless.fakes.Logger is deprecated: use glitchless.fakes.FakeLogger",
                      DeprecationWarning, stacklevel=2)
        return FakeLogger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
