"""Running `opsconsole` in-process exactly as its entry point does (console.cli.main), and judging the answer to bad
input: the exit code, one sentence on stderr naming the place, no internal error, no traceback, files unchanged."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from console.cli import main
from tests.cli_rig import collector_paused


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for one project directory: its registry, sandbox and config, no user config."""
    return {"OPSCONSOLE_REGISTRY": str(home / "registry.json"), "OPSCONSOLE_SANDBOX": str(home / "sandbox.json"),
            "OPSCONSOLE_CONFIG": str(home / "opsconsole.toml"), "XDG_CONFIG_HOME": str(home / "xdg"),
            "XDG_DATA_HOME": str(home / "xdg-data"), **extra}


def repairer_env(home: Path) -> dict[str, str]:
    """cli_env with an operator the access gate lets change every environment (registry repair is registry-wide)."""
    return cli_env(home, OPSCONSOLE_OPERATOR="alice", OPSCONSOLE_TEAMS__OPERATIONS='["alice"]')


def run_cli(*args: str, env: Mapping[str, str]) -> Outcome:
    """`opsconsole ARGS` in this process through main(), with OPSCONSOLE_* variables exactly ``env``'s."""
    out, err = io.StringIO(), io.StringIO()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    with collector_paused(), mock.patch.dict(os.environ, {**clean, **env}, clear=True), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as ended:
            code = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 1)
        else:
            code = 0
    return Outcome(code, out.getvalue(), err.getvalue())


def refusal_problem(outcome: Outcome, code: int, *names: str, every_line: bool = False) -> str | None:
    """Why ``outcome`` is not a proper refusal (exit ``code``, one line on stderr naming each of ``names``), or None.

    click's own "Usage:"/"Try" lines around an option's error are not part of the sentence. ``every_line``: a
    reader that lists every problem (the configuration) may say several sentences, each naming the place.
    """
    lines = [line for line in outcome.err.strip().splitlines()
             if line.strip() and not line.startswith(("Usage: ", "Try '"))]
    answer = _json_answer(outcome)
    if answer is not None:  # with --json the sentence is the one Result object's reason (docs/CLI.md)
        if answer.get("exit_code") != outcome.code:
            return f"the JSON object says exit {answer.get('exit_code')}, the process exited {outcome.code}"
        lines = [str(answer.get("reason", ""))]
    if outcome.code != code:
        return f"exit {outcome.code}, not {code}: {outcome.err.strip()[:300]!r}"
    if "internal error" in outcome.err or "Traceback" in outcome.err:
        return f"an internal error: {outcome.err.strip()[:300]!r}"
    if not lines or (len(lines) != 1 and not every_line):
        return f"{len(lines)} lines on stderr, not one sentence: {outcome.err[:300]!r}"
    for line in lines:
        missing = [name for name in names if name not in line]
        if missing:
            return f"the message does not name {missing}: {line[:300]!r}"
    return None


def _json_answer(outcome: Outcome) -> dict[str, object] | None:
    """The Result object a --json command ended with (nothing on stderr, one object on stdout), or None."""
    lines = outcome.out.strip().splitlines()
    if outcome.err.strip() or len(lines) != 1:
        return None
    try:
        found = json.loads(lines[0])
    except ValueError:
        return None
    return found if isinstance(found, dict) and found.get("event") == "Result" else None


def files_of(*roots: Path) -> dict[Path, bytes]:
    """Every file under ``roots`` and its bytes (lock files aside: taking a lock is not changing a registry)."""
    found: dict[Path, bytes] = {}
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        found.update((path, path.read_bytes()) for path in paths if path.suffix != ".lock")
    return found


@contextlib.contextmanager
def unchanged(*roots: Path) -> Iterator[None]:
    """Asserts that no file under ``roots`` was changed, added or removed by the block."""
    before = files_of(*roots)
    yield
    after = files_of(*roots)
    assert after.keys() == before.keys(), f"files added or removed: {sorted(set(after) ^ set(before))}"
    changed = [path for path in before if before[path] != after[path]]
    assert not changed, f"files changed: {changed}"
