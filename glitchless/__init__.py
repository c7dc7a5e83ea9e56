"""glitchless: a deterministic testing and simulation harness around a model-checked reactive kernel."""

__version__ = "0.1.0"
