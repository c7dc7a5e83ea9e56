"""The depth machine (rule 8): deep chains pass on glitchless and fail on a copy that recurses per level."""

import planted
from glitchless.properties.depth import DeepProgram, check_program, expected_top, run_machine
from glitchless.properties.targets import Target, load_target


def recursing_target() -> Target:
    """A copy of the kernel that never stops nesting fn calls: each level of a chain is a Python call."""
    k = planted.patched_kernel(("MAX_NESTING = 100\n", "MAX_NESTING = 10**9\n"))
    return Target("recursing", k.Runtime)


def test_glitchless_passes_the_depth_machine() -> None:
    report = run_machine(load_target("glitchless"), examples=15, seed=3, steps=0)
    assert report.ok, [f.render() for f in report.failures] + report.errors


def test_a_kernel_that_recurses_per_level_fails_it_with_a_recursion_error() -> None:
    report = run_machine(recursing_target(), examples=15, seed=3, steps=0)
    assert [f.label for f in report.failures] == ["depth/raised"]
    assert "RecursionError" in report.failures[0].violation.message


def test_the_direct_evaluation_follows_shortcuts_and_parity() -> None:
    # s0 = 2; c1 = (s0 + s0) % 3 = 1; c2 = parity(c1 + s0) = 1; c3 = (c2 + c1) % 3 = 2
    program = DeepProgram((2,), ((1, False), (2, True), (2, False)), ())
    assert expected_top(program, [2]) == 2


def test_a_wrong_value_is_reported_at_its_step() -> None:
    # The same chain on a copy whose computeds never recompute after a write: the read after s0.set(1) is stale.
    k = planted.patched_kernel(("                if self._subs:\n                    rt._mark(self)\n", "                pass\n"))
    program = DeepProgram((0,), ((1, False),) * 5, ((0, 1),))
    violation = check_program(Target("no-marks", k.Runtime), program)
    assert violation is not None and violation.step == 2
    assert violation.kind in ("wrong-value", "effect-missed")
