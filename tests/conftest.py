from hypothesis import HealthCheck, settings

# Selected only by mutation runs (see [tool.mutmut] in pyproject.toml): mutmut
# runs every test under its own executor and needs the same examples each time.
settings.register_profile(
    "mutation",
    derandomize=True,
    suppress_health_check=[HealthCheck.differing_executors, HealthCheck.too_slow],
    deadline=None,
)
