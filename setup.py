"""Extension modules for the compiled build; all other metadata lives in pyproject.toml.

With GLITCHLESS_COMPILE=1 (see _build/glitchless_build.py) mypyc compiles the
modules below from the same typed source the pure-Python install runs; the
`.py` files ship next to the compiled ones either way.
"""

from __future__ import annotations

import os

from setuptools import setup

# Only the reactive core: it is where the time goes. The other kernel modules
# call into it a handful of times per operation; compiling them gains nothing
# the benchmark can see.
COMPILED = ["glitchless/kernel/reactive.py"]


def ext_modules() -> list[object]:
    if os.environ.get("GLITCHLESS_COMPILE", "").strip().lower() not in {"1", "true", "yes", "on"}:
        return []
    from mypyc.build import mypycify

    return list(mypycify(COMPILED, opt_level="3"))


setup(ext_modules=ext_modules())
