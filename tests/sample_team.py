"""A separate team project, written under a temporary directory, that depends on glitchless.

One component (`cart`) with an operation no test or scenario calls (`refund`), one scenario
registered through the `glitchless.scenarios` entry-point group, and three tests. It is "installed"
the lightest way that is still real: a `.dist-info` directory with its entry points next to the
package, on PYTHONPATH, which is what `pip install -e` leaves for importlib.metadata to find.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PYPROJECT = """\
[project]
name = "teamapp"
version = "0.1.0"
dependencies = ["glitchless"]

[project.entry-points."glitchless.scenarios"]
teamapp = "teamapp.scenarios"

[tool.glitchless]
source = ["teamapp"]
tests = ["tests"]

[tool.glitchless.floors]
teamapp = { lines = 50 }
"""

CART = '''\
"""The team's one component: a cart with a running total."""

from glitchless.kernel import Component, component, computed, effect, operation, subscribe


@component("cart")
class Cart(Component):
    def activate(self) -> None:
        self.items = self.ctx.signal((), name="items")
        self.announced: list[int] = []
        self.orders: list[str] = []

    @computed
    def total(self) -> int:
        return sum(price for _, price in self.items.get())

    @effect
    def announce(self) -> None:
        self.announced.append(self.total())

    @operation
    def add(self, params: dict) -> int:
        if params["price"] < 0:
            raise ValueError("a price cannot be negative")
        self.items.set((*self.items.peek(), (params["sku"], params["price"])))
        return self.total()

    @operation
    def refund(self, params: dict) -> int:
        self.items.set(tuple(i for i in self.items.peek() if i[0] != params["sku"]))
        return self.total()

    @subscribe("order.*")
    def on_order(self, topic: str, data: object) -> None:
        self.orders.append(topic)
'''

SCENARIOS = '''\
"""The team's scenario, registered through the glitchless.scenarios entry point."""

from glitchless.scenarios import Script, scenario
from teamapp.cart import Cart


@scenario("teamapp-checkout", "two items make a total of 5")
async def checkout(s: Script) -> None:
    s.step("boot")
    kernel = s.kernel()
    kernel.instantiate(Cart)
    kernel.boot()
    kernel.invoke("cart.add", {"sku": "a", "price": 2})
    await s.advance(60)
    kernel.invoke("cart.add", {"sku": "b", "price": 3})
    s.expect("total", kernel.instance("cart").total(), 5)
'''

TESTS = '''\
import pytest

from teamapp.cart import Cart


@pytest.fixture
def cart(sim_kernel):
    sim_kernel.instantiate(Cart)
    sim_kernel.boot()
    return sim_kernel


def test_adding_items_updates_the_total(cart):
    cart.invoke("cart.add", {"sku": "a", "price": 2})
    assert cart.invoke("cart.add", {"sku": "b", "price": 3}) == 5


def test_a_negative_price_is_refused(cart):
    with pytest.raises(ValueError):
        cart.invoke("cart.add", {"sku": "a", "price": -1})
    assert cart.instance("cart").total() == 0


def test_the_total_is_announced_on_every_change(cart):
    cart.invoke("cart.add", {"sku": "a", "price": 4})
    assert cart.instance("cart").announced == [0, 4]
'''


def write_project(root: Path) -> Path:
    """Write the team project under `root`; returns its directory."""
    project = root / "teamapp-project"
    (project / "teamapp").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "teamapp" / "__init__.py").write_text('"""A team\'s package that depends on glitchless."""\n')
    (project / "teamapp" / "cart.py").write_text(CART)
    (project / "teamapp" / "scenarios.py").write_text(SCENARIOS)
    (project / "tests" / "test_cart.py").write_text(TESTS)
    info = project / "teamapp-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: teamapp\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[glitchless.scenarios]\nteamapp = teamapp.scenarios\n")
    return project


def run_glitchless(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`glitchless ARGS` in the team project, as the team would run it (its directory, its path)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COV_CORE_", "COVERAGE_", "PYTEST_"))}
    env["PYTHONPATH"] = str(project)
    return subprocess.run([sys.executable, "-m", "glitchless", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=timeout)
