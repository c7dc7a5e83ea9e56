"""`mypyc_attr` for the compiled build, a no-op without mypy installed.

mypyc reads the decorator at compile time; the pure-Python install must not
need mypy_extensions at run time, so the fallback below stands in for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

C = TypeVar("C", bound=type)

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # pragma: no cover - mypy_extensions comes with the dev tools

    def mypyc_attr(*attrs: str, **kwattrs: object) -> Callable[[C], C]:  # type: ignore[misc]
        return lambda cls: cls


__all__ = ["mypyc_attr"]
