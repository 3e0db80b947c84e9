"""`opsconsole` at a terminal opens the console; `--read-only` shows on screen, and other commands refuse it."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli_rig import opsconsole
from tests.pty_rig import at_a_terminal


def run_at_a_terminal(args: list[str], tmp_path: Path, wait_for: bytes) -> tuple[int, bytes]:
    """Start `python -m console ARGS` on a 120x36 pseudo-terminal, press q once `wait_for` is on screen."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    environ.update(OPSCONSOLE_REGISTRY=str(tmp_path / "registry.json"), OPSCONSOLE_SANDBOX=str(tmp_path / "sb.json"),
                   TERM="xterm-256color")
    return at_a_terminal(args, tmp_path, environ, wait_for, b"q")


def test_opsconsole_at_a_terminal_opens_the_console_and_q_quits(tmp_path: Path) -> None:
    code, seen = run_at_a_terminal([], tmp_path, b"PRODUCTION")
    assert code == 0
    assert b"PRODUCTION" in seen and b"Traceback" not in seen


def test_read_only_ui_says_so_on_screen(tmp_path: Path) -> None:
    code, seen = run_at_a_terminal(["--read-only", "ui"], tmp_path, b"READ-ONLY")
    assert code == 0 and b"READ-ONLY" in seen



def test_read_only_is_refused_by_a_command_that_would_change_something(tmp_path: Path) -> None:
    result = opsconsole("--read-only", "promote", "production", "--yes", cwd=tmp_path,
                        env={"OPSCONSOLE_REGISTRY": str(tmp_path / "registry.json"),
                             "OPSCONSOLE_SANDBOX": str(tmp_path / "sb.json")})
    assert result.returncode == 4  # refused
    assert "this console is read-only: production was not changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "registry.json").exists(), "nothing was opened, let alone changed"
