"""pytest plugin (entry point `pytest11`): fixtures for testing reactive components deterministically.

    def test_tax_rate_follows_config(sim_kernel, fake_clock, event_collector):
        ...

Fixtures:
- `reactive_runtime`: a fresh `Runtime` with no scheduler (synchronous graphs).
- `fake_clock`: a `FakeClock` at t=0, shared by the loop and the kernel below.
- `sim_loop`: a `DeterministicLoop` on that clock, seeded by `--glitchless-seed`
  (default 0); drive async code with `sim_loop.run_until_complete(coro)`.
- `sim_kernel`: a component `Kernel` whose runtime schedules async effects on
  `sim_loop` and whose clock is `fake_clock`.
- `event_collector` / `fake_logger`: recorders stamped with the fake clock.

Hypothesis strategies for random reactive graphs live in `glitchless.properties.strategies`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

# The plugin loads before coverage starts measuring: it imports glitchless itself
# only inside the fixtures, so a coverage run still sees the package's import.
if TYPE_CHECKING:
    from glitchless.fakes import DeterministicLoop, EventCollector, FakeClock, Logger
    from glitchless.kernel import Kernel, Runtime


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--glitchless-seed", type=int, default=0, help="seed of the deterministic scheduler in sim_loop (default 0)"
    )


@pytest.fixture
def reactive_runtime() -> Runtime:
    from glitchless.kernel import Runtime

    return Runtime()


@pytest.fixture
def fake_clock() -> FakeClock:
    from glitchless.fakes import FakeClock

    return FakeClock()


@pytest.fixture
def sim_loop(request: pytest.FixtureRequest, fake_clock: FakeClock) -> Iterator[DeterministicLoop]:
    from glitchless.fakes import DeterministicLoop, SeededChooser

    seed: int = request.config.getoption("--glitchless-seed")
    loop = DeterministicLoop(chooser=SeededChooser(seed), clock=fake_clock)
    try:
        yield loop
    finally:
        loop.close()


@pytest.fixture
def sim_kernel(sim_loop: DeterministicLoop, fake_clock: FakeClock) -> Iterator[Kernel]:
    from glitchless.kernel import Kernel, Runtime

    kernel = Kernel(clock=fake_clock.now, runtime=Runtime(scheduler=sim_loop))
    yield kernel
    if kernel.booted:
        kernel.shutdown()


@pytest.fixture
def event_collector(fake_clock: FakeClock) -> EventCollector:
    from glitchless.fakes import EventCollector

    return EventCollector(fake_clock)


@pytest.fixture
def fake_logger(fake_clock: FakeClock) -> Logger:
    from glitchless.fakes import Logger

    return Logger(fake_clock)
