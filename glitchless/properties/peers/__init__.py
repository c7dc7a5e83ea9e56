"""Adapters that give peer kernels the Runtime surface the machines drive.

Each module imports its peer at import time and raises `TargetUnavailable`
(an ImportError with a clear message) when the peer is not installed. The
adapters translate calls and nothing else: they add no caching, equality or
scheduling of their own, so what the machines see is the peer's behaviour.
"""
