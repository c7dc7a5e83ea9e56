"""Which project `glitchless coverage`, `mutate` and `report` measure: the one in the current directory.

Read from its `pyproject.toml`:

    [tool.glitchless]
    source = ["myteam"]              # packages to measure and mutate
    tests = ["tests"]                # test paths
    [tool.glitchless.floors]         # optional: minimum coverage per package (or "total")
    "myteam.core" = { lines = 90, branches = 80 }

Without `[tool.glitchless]`, `source` falls back to `[tool.coverage.run] source`, then to
`[tool.mutmut] source_paths`; `tests` to pytest's `testpaths`, then to `tests`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PYPROJECT = "pyproject.toml"


class ConfigError(ValueError):
    """The project's configuration cannot be used; the message names the key."""


@dataclass(frozen=True)
class Floor:
    lines: float | None = None
    branches: float | None = None


@dataclass(frozen=True)
class Project:
    root: Path
    name: str
    source: tuple[str, ...]  # importable package names, e.g. "myteam"
    tests: tuple[str, ...]  # test paths, relative to root
    floors: dict[str, Floor] = field(default_factory=dict)
    mutmut: dict[str, Any] | None = None  # the project's own [tool.mutmut], used as is when present

    @property
    def source_dirs(self) -> list[str]:
        """Each source package's directory relative to root (flat or `src/` layout)."""
        out = []
        for pkg in self.source:
            rel = Path(*pkg.split("."))
            for base in (Path(), Path("src")):
                if (self.root / base / rel).exists() or (self.root / base / rel).with_suffix(".py").exists():
                    rel = base / rel
                    break
            out.append(rel.as_posix())
        return out

    def owns(self, module: str) -> bool:
        """Whether a dotted module name belongs to the measured packages."""
        return any(module == p or module.startswith(p + ".") for p in self.source)

    def mutmut_config(self) -> dict[str, Any]:
        """[tool.mutmut] for this project: its own if it has one, else made from [tool.glitchless]."""
        if self.mutmut is not None:
            return dict(self.mutmut)
        return {
            "source_paths": [d if d.endswith(".py") else d.rstrip("/") + "/" for d in self.source_dirs],
            "pytest_add_cli_args_test_selection": list(self.tests),
            "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q"],
        }


def _where(key: str) -> str:
    return f"{PYPROJECT}: [tool.glitchless] {key}"


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{_where(key)} must be a non-empty list of strings, got {value!r}")
    return tuple(v.strip() for v in value)


def _percent(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise ConfigError(f"{_where(key)} must be a number from 0 to 100, got {value!r}")
    return float(value)


def _floors(raw: Any) -> dict[str, Floor]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where('floors')} must be a table of packages, got {raw!r}")
    out = {}
    for pkg, spec in raw.items():
        if not isinstance(spec, dict):
            raise ConfigError(f"{_where(f'floors.{pkg}')} must be a table like {{ lines = 90, branches = 80 }}, got {spec!r}")
        unknown = sorted(set(spec) - {"lines", "branches"})
        if unknown:
            raise ConfigError(f"{_where(f'floors.{pkg}.{unknown[0]}')} is not a known floor (lines, branches)")
        out[pkg] = Floor(
            _percent(spec["lines"], f"floors.{pkg}.lines") if "lines" in spec else None,
            _percent(spec["branches"], f"floors.{pkg}.branches") if "branches" in spec else None,
        )
    return out


def _as_package(path: str) -> str:
    """`src/myteam/` -> `myteam`, `myteam/core.py` -> `myteam.core`."""
    p = Path(path.rstrip("/"))
    parts = p.with_suffix("").parts if p.suffix == ".py" else p.parts
    if parts and parts[0] in ("src", "lib") and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts)


_KNOWN = {"source", "tests", "floors"}


def load(root: Path | None = None) -> Project:
    """The project rooted at `root` (default: the current directory). Raises ConfigError naming the key."""
    root = (root or Path.cwd()).resolve()
    path = root / PYPROJECT
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no {PYPROJECT} in {root}: run glitchless coverage/mutate/report in a project's root") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{PYPROJECT} is not valid TOML: {exc}") from None
    tool = data.get("tool", {})
    own = tool.get("glitchless", {})
    if not isinstance(own, dict):
        raise ConfigError(f"{PYPROJECT}: [tool.glitchless] must be a table")
    unknown = sorted(set(own) - _KNOWN)
    if unknown:
        raise ConfigError(f"{_where(unknown[0])} is not a known key (known: {', '.join(sorted(_KNOWN))})")
    mutmut = tool.get("mutmut")
    if mutmut is not None and not isinstance(mutmut, dict):
        raise ConfigError(f"{PYPROJECT}: [tool.mutmut] must be a table")

    if "source" in own:
        source = _str_list(own["source"], "source")
    elif isinstance(tool.get("coverage", {}).get("run", {}).get("source"), list):
        source = tuple(_as_package(s) for s in tool["coverage"]["run"]["source"])
    elif mutmut and isinstance(mutmut.get("source_paths"), list):
        source = tuple(_as_package(s) for s in mutmut["source_paths"])
    else:
        raise ConfigError(
            f"{_where('source')} is missing: name the packages to measure, e.g. source = [\"myteam\"] "
            "(or set [tool.coverage.run] source)"
        )
    for s in source:
        if not all(part.isidentifier() for part in s.split(".")):
            raise ConfigError(f"{_where('source')} entry {s!r} is not an importable package name")

    if "tests" in own:
        tests = _str_list(own["tests"], "tests")
    else:
        testpaths = tool.get("pytest", {}).get("ini_options", {}).get("testpaths")
        tests = tuple(testpaths) if isinstance(testpaths, list) and testpaths else ("tests",)
    floors = _floors(own["floors"]) if "floors" in own else {}
    project = data.get("project", {})
    name = project.get("name") if isinstance(project, dict) else None
    return Project(root, name if isinstance(name, str) else root.name, source, tests, floors, mutmut)


def commit_of(root: Path) -> str:
    """The project's current git commit (short), with "+dirty" for uncommitted changes; "" outside git."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True)
    except OSError:
        return ""
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def stamp(project: Project) -> dict[str, str]:
    """When, on which commit and with what a measurement was made: stored with every result file."""
    import platform
    from datetime import datetime, timezone

    import glitchless

    return {
        "project": project.name,
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),  # the report's date
        "commit": commit_of(project.root),
        "glitchless": glitchless.__version__,
        "python": platform.python_version(),
    }


def append_history(project: Project, entry: dict[str, Any]) -> None:
    """One line per measurement in reports/history.jsonl: the report's trend."""
    import json

    path = project.root / "reports" / "history.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fp:
        fp.write(json.dumps(entry, sort_keys=True) + "\n")
