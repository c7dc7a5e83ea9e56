"""The pytest plugin's conventions: its option group, the seed (option, ini, marker), the header, HYPOTHESIS_PROFILE."""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]

SEED_PROBE = '''
def test_seed(sim_loop):
    print("chooser seed", sim_loop.chooser.seed)
'''


def seeds(result: pytest.RunResult) -> list[str]:
    return re.findall(r"chooser seed (\d+)", result.stdout.str())  # printed by the tests, run with -s


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    pytester.makepyfile(test_probe=SEED_PROBE)
    return pytester


def test_the_seed_comes_from_the_option_then_the_ini_option_then_zero(project: pytest.Pytester) -> None:
    assert seeds(project.runpytest("-s", "-p", "no:randomly")) == ["0"]
    project.makeini("[pytest]\nglitchless_seed = 7\n")
    assert seeds(project.runpytest("-s", "-p", "no:randomly")) == ["7"]
    assert seeds(project.runpytest("-s", "-p", "no:randomly", "--glitchless-seed", "3")) == ["3"]


def test_a_marker_sets_one_tests_seed(project: pytest.Pytester) -> None:
    project.makepyfile(test_marked='''
import pytest

@pytest.mark.glitchless_seed(42)
def test_marked(sim_loop):
    print("chooser seed", sim_loop.chooser.seed)
''')
    result = project.runpytest("-s", "-p", "no:randomly", "--strict-markers", "test_marked.py", "test_probe.py")
    assert seeds(result) == ["42", "0"]
    result.assert_outcomes(passed=2)


def test_the_header_names_the_seed(project: pytest.Pytester) -> None:
    from glitchless import __version__

    result = project.runpytest("-p", "no:randomly", "--glitchless-seed", "5")
    assert f"glitchless {__version__}: sim_loop seed 5" in result.outlines


@pytest.mark.parametrize(
    ("args", "ini", "message"),
    [
        (["--glitchless-seed", "-1"], "", "--glitchless-seed must be non-negative, got -1"),
        (["--glitchless-seed", "x"], "", "--glitchless-seed must be an integer, got 'x'"),
        ([], "[pytest]\nglitchless_seed = soon\n", "ini option glitchless_seed must be an integer, got 'soon'"),
    ],
)
def test_a_bad_seed_is_a_usage_error_naming_where_it_came_from(
    project: pytest.Pytester, args: list[str], ini: str, message: str
) -> None:
    if ini:
        project.makeini(ini)
    result = project.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {message}" in result.errlines


def test_the_options_have_their_own_group_and_the_marker_is_registered(project: pytest.Pytester) -> None:
    help_text = "\n".join(project.runpytest("--help").outlines)
    group = help_text.index("glitchless: deterministic reactive simulation")
    assert help_text.index("--glitchless-seed", group) > group
    assert "glitchless_seed (string):" in help_text  # the ini option
    markers = "\n".join(project.runpytest("--markers").outlines)
    assert "@pytest.mark.glitchless_seed(seed):" in markers


PROFILES = '''
from hypothesis import settings
settings.register_profile("tiny", max_examples=3)
'''

PROFILE_PROBE = '''
from hypothesis import settings
def test_profile():
    print("profile", settings.get_current_profile_name(), settings.default.max_examples)
'''


def test_hypothesis_profile_from_the_environment(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("hypothesis")
    project.makeconftest(PROFILES)
    project.makepyfile(test_probe=PROFILE_PROBE)
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "tiny")
    result = project.runpytest_subprocess("-s", "-p", "no:randomly")
    assert "profile tiny 3" in result.stdout.str()
    assert any(line.endswith("Hypothesis profile 'tiny' from HYPOTHESIS_PROFILE") for line in result.outlines)
    # The command-line option still wins.
    project.makeconftest(PROFILES + 'settings.register_profile("other", max_examples=4)\n')
    result = project.runpytest_subprocess("-s", "-p", "no:randomly", "--hypothesis-profile", "other")
    assert "profile other 4" in result.stdout.str()


def test_an_unknown_hypothesis_profile_is_a_usage_error(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("hypothesis")
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "nope")
    result = project.runpytest_subprocess("-p", "no:randomly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert any("HYPOTHESIS_PROFILE=nope: no Hypothesis profile of that name is registered" in line for line in result.errlines)
