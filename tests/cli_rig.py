"""`opsconsole ARGS` in this process: the entry point's own `main` (one sentence on stderr, the exit code) under
click's CliRunner isolation (stdin is not a terminal, stdout and stderr captured apart, the environment set).

It spares each command the second of imports a new `python -m console` pays. Tests whose subject is the
process itself (the installed entry point, a kill, a terminal) still start one.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from console.cli import main


@dataclass(frozen=True)
class Ran:
    """What a finished `opsconsole` left: named like subprocess.CompletedProcess, so tests read the same."""

    returncode: int
    stdout: str
    stderr: str


def opsconsole(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Ran:
    """Run `opsconsole ARGS` from directory `cwd` with exactly the OPSCONSOLE_* variables in `env` (as the
    subprocess helpers did: none inherited) plus `env`'s others."""
    overrides: dict[str, str | None] = {name: None for name in os.environ if name.startswith("OPSCONSOLE_")}
    overrides.update(env or {})
    with CliRunner().isolation(env=overrides) as (stdout, stderr, _), contextlib.chdir(cwd):
        try:
            main(list(args))
        except SystemExit as exited:
            code = exited.code
        else:  # main always exits; returning is a bug in the entry point
            raise AssertionError(f"opsconsole {' '.join(args)} returned without an exit code")
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    return Ran(returncode, stdout.getvalue().decode(), stderr.getvalue().decode())
