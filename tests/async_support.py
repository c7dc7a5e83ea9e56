"""Helpers shared by the async-effect tests: a runtime on the running loop, and its error log."""

from __future__ import annotations

import asyncio
from typing import Any

from glitchless.kernel import Runtime


def runtime() -> Runtime:
    """A runtime whose async effects run on the current (deterministic) loop."""
    return Runtime(scheduler=asyncio.get_running_loop())


def collect_errors() -> list[dict[str, Any]]:
    """Route the loop's unhandled errors into a list the test inspects."""
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
    return errors
