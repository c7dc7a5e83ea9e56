"""Adapters that give peer kernels the Runtime surface the machines drive.

Each module imports its peer at import time and raises `PeerNotInstalled` (a
`TargetUnavailable` with a clear message) when the peer is not installed. It
is also a `ModuleNotFoundError`, which is what a missing peer is: callers that
skip on a missing module (`pytest.importorskip`, whose default since pytest 9
is `ModuleNotFoundError` only) skip an adapter whose peer is absent instead of
failing on it. A peer that is installed but broken still raises its own error.
The adapters translate calls and nothing else: they add no caching, equality or
scheduling of their own, so what the machines see is the peer's behaviour.
"""

from __future__ import annotations

from glitchless.properties.targets import TargetUnavailable


class PeerNotInstalled(TargetUnavailable, ModuleNotFoundError):
    """The peer kernel an adapter wraps is not installed."""

    def __init__(self, message: str, *, module: str) -> None:
        super().__init__(message, name=module)


__all__ = ["PeerNotInstalled"]
