"""Coverage, mutation testing and the combined report a downstream team can read."""
