"""In-tree PEP 517 backend: setuptools, plus mypy (for mypyc) only when compiling.

`GLITCHLESS_COMPILE=1 pip install .` builds the reactive core with mypyc;
without the variable the wheel is pure Python, and the build needs nothing
but setuptools. An editable install always stays pure Python: a compiled
module in the source tree would shadow the `.py` being edited.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403  (every hook we do not override)

COMPILE_VAR = "GLITCHLESS_COMPILE"
MYPYC_REQUIREMENT = "mypy>=1.10"


def _compiling() -> bool:
    return os.environ.get(COMPILE_VAR, "").strip().lower() in {"1", "true", "yes", "on"}


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    compiling = _compiling()
    # setuptools runs setup.py to collect its own requirements; mypyc is not
    # installed yet at this point, so that run must not try to compile.
    saved = os.environ.pop(COMPILE_VAR, None)
    try:
        requires = list(_setuptools.get_requires_for_build_wheel(config_settings))
    finally:
        if saved is not None:
            os.environ[COMPILE_VAR] = saved
    return [*requires, MYPYC_REQUIREMENT] if compiling else requires


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    if _compiling():
        print(f"glitchless: {COMPILE_VAR} ignored for an editable install (stays pure Python)", file=sys.stderr)
    saved = os.environ.pop(COMPILE_VAR, None)
    try:
        return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
    finally:
        if saved is not None:
            os.environ[COMPILE_VAR] = saved
