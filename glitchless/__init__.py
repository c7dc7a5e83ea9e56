"""glitchless: a deterministic testing and simulation harness around a model-checked reactive kernel."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("glitchless")  # single-sourced: [project] version in pyproject.toml
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
