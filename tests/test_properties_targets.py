"""Targets: MODULE:FACTORY strings, the shipped aliases, and adapters that need their peer."""

import importlib
import sys

import pytest

from glitchless.kernel import Runtime
from glitchless.properties.targets import ALIASES, Target, TargetError, TargetUnavailable, load_target


def test_the_glitchless_target_makes_fresh_runtimes():
    t = load_target("glitchless.properties.targets:glitchless")
    a, b = t.make(), t.make()
    assert isinstance(a, Runtime) and a is not b
    assert load_target("glitchless").name == "glitchless"


@pytest.mark.parametrize("spec, message", [
    ("glitchless.kernel", "expected MODULE:FACTORY"),
    ("no_such_module_xyz:f", "cannot import"),
    ("glitchless.kernel:nothing", "has no attribute"),
    ("glitchless.properties.targets:ALIASES", "not callable"),
    ("glitchless.kernel:ReactiveError", "not a runtime"),
])
def test_bad_targets_raise_target_error(spec, message):
    with pytest.raises(TargetError, match=message):
        load_target(spec)


def test_a_factory_can_declare_unsupported_features():
    class NoCleanups(Runtime):
        unsupported = frozenset({"cleanups"})

    assert Target.from_factory("x", NoCleanups).unsupported == {"cleanups"}

    class Odd(Runtime):
        unsupported = frozenset({"teleport"})

    with pytest.raises(TargetError, match="unknown features"):
        Target.from_factory("y", Odd)


@pytest.mark.parametrize("peer, module", [("signalpy", "signalpy.kernel"), ("reaktiv", "reaktiv"), ("nervio", "nervio")])
def test_an_adapter_without_its_peer_refuses_to_import_clearly(monkeypatch, peer, module):
    adapter = f"glitchless.properties.peers.{peer}"
    monkeypatch.delitem(sys.modules, adapter, raising=False)
    monkeypatch.setitem(sys.modules, module, None)  # "not installed"
    with pytest.raises(TargetUnavailable, match="not installed"):
        importlib.import_module(adapter)
    with pytest.raises(TargetError, match="unavailable.*not installed"):
        load_target(peer)


@pytest.mark.peer
@pytest.mark.parametrize("peer", ["signalpy", "reaktiv", "nervio"])
def test_installed_peers_expose_the_runtime_surface(peer):
    pytest.importorskip(ALIASES[peer].split(":")[0])
    rt = load_target(peer).make()
    s = rt.signal(1)
    c = rt.computed(lambda: s.get() + 1)
    seen = []
    e = rt.effect(lambda: seen.append(c.get()))
    with rt.batch():
        s.set(2)
    assert (s.peek(), c.peek(), rt.untracked(c.get), seen) == (2, 3, 3, [2, 3])
    e.dispose()
    s.set(5)
    assert seen == [2, 3]
