"""`python -m console ARGS` on a pseudo-terminal, as a person at a terminal runs it: what it wrote, and one answer
typed once something is on screen (a key to quit the TUI, a confirmation to a prompt)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
from collections.abc import Mapping
from pathlib import Path


def at_a_terminal(args: list[str], cwd: Path, environ: Mapping[str, str], wait_for: bytes, answer: bytes, *,
                  limit_s: float = 60.0, size: tuple[int, int] = (120, 36)) -> tuple[int, bytes]:
    """Exit code and everything written; `answer` is typed once `wait_for` is on screen (killed if it never is)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec replaces it, so nothing after this runs in it
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "console", *args], dict(environ))
    columns, rows = size
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    seen, answered = b"", False
    try:
        for _ in range(int(limit_s * 10)):
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the child closed the terminal: it has exited
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and wait_for in seen:
                os.write(fd, answer)
                answered = True
    finally:
        if not answered:
            os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), seen
