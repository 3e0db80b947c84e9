"""`opsconsole ARGS` in this process: the entry point's own `main` (one sentence on stderr, the exit code) under
click's CliRunner isolation (stdin is not a terminal, stdout and stderr captured apart, the environment set).

It spares each command the second of imports a new `python -m console` pays. Tests whose subject is the
process itself (the installed entry point, a kill, a terminal) still start one.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from console.cli import main
from core.reports.source import no_cyclic_gc


@dataclass(frozen=True)
class Ran:
    """What a finished `opsconsole` left: named like subprocess.CompletedProcess, so tests read the same."""

    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while an in-process command runs.

    The command shares this process's heap with earlier tests, whose leftovers in reference cycles (a stopped
    sandbox's gRPC server, google-auth sessions, CliRunner's streams) are finalized whenever the collector next
    runs. If that is deep inside a parser's recursion (the bad-input campaign nests TOML and JSON past the
    recursion limit on purpose), a finalizer has no stack left: its RecursionError reaches the unraisable hook,
    which fails too, and CPython writes "Exception ignored in sys.unraisablehook: <object repr() failed>" to
    sys.stderr, which is the command's captured stderr. A real `opsconsole` process has no such leftovers; here
    they are collected after the command, outside its output.
    """
    with no_cyclic_gc():  # the report's own pause, for the same collector
        yield


def opsconsole(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Ran:
    """Run `opsconsole ARGS` from directory `cwd` with exactly the OPSCONSOLE_* variables in `env` (as the
    subprocess helpers did: none inherited) plus `env`'s others."""
    overrides: dict[str, str | None] = {name: None for name in os.environ if name.startswith("OPSCONSOLE_")}
    overrides.update(env or {})
    with collector_paused(), CliRunner().isolation(env=overrides) as (stdout, stderr, _), contextlib.chdir(cwd):
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
