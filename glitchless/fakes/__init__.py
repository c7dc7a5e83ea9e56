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
    Logger,
    LogRecord,
    Secret,
    UnknownSecret,
    Vault,
    VaultFailure,
    VaultUnavailable,
)

__all__ = [
    "ApiCall",
    "ApiUnavailable",
    "Chooser",
    "ClockTimer",
    "CollectedEvent",
    "DeterministicLoop",
    "EventCollector",
    "ExternalApi",
    "FakeClock",
    "FifoChooser",
    "FunctionChooser",
    "Json",
    "LogRecord",
    "Logger",
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
