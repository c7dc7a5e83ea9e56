"""Run mutmut with a configuration given on the command line instead of read from pyproject.toml.

    python -m glitchless.reports.mutmut_launch '{"source_paths": ["myteam/"]}' run --max-children 2

mutmut reads only `[tool.mutmut]` (or setup.cfg); a project that configures glitchless alone
has neither, so `glitchless mutate` passes the settings made from `[tool.glitchless]` here.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any


def main(argv: list[str]) -> int:
    settings: dict[str, Any] = json.loads(argv[0])
    import mutmut.configuration

    def reader() -> Callable[[str, Any], Any]:
        return lambda key, default: settings.get(key, default)

    # mutmut's one place that reads its settings; set before mutmut.__main__ reads them on import.
    mutmut.configuration._config_reader = reader
    from mutmut.__main__ import cli

    sys.argv = ["mutmut", *argv[1:]]
    cli(args=argv[1:], prog_name="mutmut")  # click: ends the process with mutmut's own status
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
