"""pytest plugin (entry point `pytest11`): fixtures for testing reactive components deterministically.

    def test_tax_rate_follows_config(sim_kernel, fake_clock, fake_logger, event_collector):
        sim_kernel.instantiate(FakeLoggerProvider, properties={"logger": fake_logger})
        sim_kernel.instantiate(EventProbe, properties={"collector": event_collector})
        ...

Fixtures:
- `reactive_runtime`: a fresh `Runtime` with no scheduler (synchronous graphs).
- `fake_clock`: a `FakeClock` at t=0, shared by the loop and the kernel below.
- `sim_loop`: a `DeterministicLoop` on that clock, seeded (default 0) by, first to last:
  a test's `@pytest.mark.glitchless_seed(S)`, `--glitchless-seed S`, the `glitchless_seed`
  ini option; drive async code with `sim_loop.run_until_complete(coro)`.
- `sim_kernel`: a component `Kernel` whose runtime schedules async effects on
  `sim_loop` and whose clock is `fake_clock`.
- `event_collector` / `fake_logger`: an `EventCollector` and a `FakeLogger` stamped with the
  fake clock; plug them into a kernel with the components `glitchless.fakes.EventProbe`
  and `glitchless.fakes.FakeLoggerProvider`.

The options sit in their own "glitchless" group of `pytest --help`, and the session
header names the seed. `HYPOTHESIS_PROFILE=name` loads that registered Hypothesis
profile, as `--hypothesis-profile=name` does (the option wins when both are given).

Hypothesis strategies for random reactive graphs live in `glitchless.properties.strategies`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

# The plugin loads before coverage starts measuring: it imports glitchless itself
# only inside the hooks and fixtures, so a coverage run still sees the package's import.
if TYPE_CHECKING:
    from glitchless.fakes import DeterministicLoop, EventCollector, FakeClock, FakeLogger
    from glitchless.kernel import Kernel, Runtime

SEED_OPTION = "--glitchless-seed"
SEED_INI = "glitchless_seed"
SEED_MARKER = "glitchless_seed"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("glitchless", "glitchless: deterministic reactive simulation")
    group.addoption(
        SEED_OPTION,
        dest="glitchless_seed",
        default=None,
        metavar="S",
        help=f"seed of the deterministic scheduler in sim_loop (default: the {SEED_INI} ini option, else 0)",
    )
    parser.addini(SEED_INI, "seed of the deterministic scheduler in sim_loop (default 0)", default="0")


def _seed(value: object, where: str) -> int:
    from glitchless.cli_support import UsageError, validate_seed

    try:
        return validate_seed(value if isinstance(value, int) else str(value), where)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


def session_seed(config: pytest.Config) -> int:
    """The seed every `sim_loop` gets unless a test's marker says otherwise."""
    option = config.getoption("glitchless_seed")
    if option is not None:
        return _seed(option, SEED_OPTION)
    return _seed(config.getini(SEED_INI), f"ini option {SEED_INI}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{SEED_MARKER}(seed): run this test's sim_loop under `seed` instead of the session's seed"
    )
    session_seed(config)  # a bad seed is a usage error now, not a failure in every test that uses it
    _load_hypothesis_profile_from_environment(config)


def _load_hypothesis_profile_from_environment(config: pytest.Config) -> None:
    name = os.environ.get("HYPOTHESIS_PROFILE", "").strip()
    given = config.getoption("hypothesis_profile", default=None)  # Hypothesis's own option, when installed
    if not name or given:
        return
    try:
        from hypothesis import settings
    except ModuleNotFoundError:
        raise pytest.UsageError(f"HYPOTHESIS_PROFILE={name} is set but Hypothesis is not installed") from None
    try:
        settings.load_profile(name)
    except Exception:  # hypothesis raises InvalidArgument for a name never registered
        raise pytest.UsageError(
            f"HYPOTHESIS_PROFILE={name}: no Hypothesis profile of that name is registered "
            "(register it with settings.register_profile in a conftest.py)"
        ) from None


def pytest_report_header(config: pytest.Config) -> str:
    import glitchless

    header = f"glitchless {glitchless.__version__}: sim_loop seed {session_seed(config)}"
    name = os.environ.get("HYPOTHESIS_PROFILE", "").strip()
    if name and not config.getoption("hypothesis_profile", default=None):
        header += f", Hypothesis profile {name!r} from HYPOTHESIS_PROFILE"
    return header


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

    marker = request.node.get_closest_marker(SEED_MARKER)
    if marker is not None:
        if len(marker.args) != 1 or marker.kwargs:
            raise pytest.UsageError(f"{request.node.nodeid}: use @pytest.mark.{SEED_MARKER}(seed), one seed")
        seed = _seed(marker.args[0], f"@pytest.mark.{SEED_MARKER}")
    else:
        seed = session_seed(request.config)
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
def fake_logger(fake_clock: FakeClock) -> FakeLogger:
    from glitchless.fakes import FakeLogger

    return FakeLogger(fake_clock)
