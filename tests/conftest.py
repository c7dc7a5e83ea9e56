from collections.abc import Iterator
from importlib.metadata import entry_points

import pytest
from hypothesis import HealthCheck, settings

from glitchless.kernel import reactive

# Selected only by mutation runs (see [tool.mutmut] in pyproject.toml): mutmut
# runs every test under its own executor and needs the same examples each time.
settings.register_profile(
    "mutation",
    derandomize=True,
    suppress_health_check=[HealthCheck.differing_executors, HealthCheck.too_slow],
    deadline=None,
)

# Installed, the plugin arrives through its `pytest11` entry point, as it does for a
# downstream team; run from a bare checkout (PYTHONPATH=.), load it by hand.
if not any(ep.value == "glitchless.pytest_plugin" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["glitchless.pytest_plugin"]


@pytest.fixture(autouse=True)
def _shared_empty_subscriber_dict_stays_empty() -> Iterator[None]:
    """Nodes without subscribers share one empty dict (reactive._NO_SUBS): no test may leave it written."""
    yield
    assert reactive._NO_SUBS == {}, f"the shared empty subscriber dict was written: {reactive._NO_SUBS!r}"
