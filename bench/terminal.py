"""A pseudo-terminal and just enough of a screen to time what a person at a terminal sees.

`run_until_shown` starts a command on a pty of a given size, feeds everything it writes into `Screen`
(cursor moves, text and clears; colours and modes are read past), and returns the seconds from just
before the process was started to the first moment the screen satisfies a condition. Textual writes
whole frames with absolute cursor moves, so this small subset is what its output needs. The pty answers
Textual's question whether it supports synchronized output (mode 2026) as today's terminals do (kitty,
WezTerm, iTerm2, Windows Terminal): yes. Textual then sends each frame as one synchronized update,
which a terminal shows when it ends, so the screen is judged then and never half-drawn.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

# One token: a CSI sequence, an OSC string, another escape, a control character, or a run of text.
TOKEN = re.compile(r"\x1b\[([0-9;?<=>]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]"
                   r"|\x1b[^\[\]()]|[\x00-\x1f]|[^\x00-\x1f\x1b]+")
SYNC_QUERY = b"\x1b[?2026$p"  # DECRQM: is synchronized output supported?
SYNC_ANSWER = b"\x1b[?2026;2$y"  # DECRPM: it is (and is off now)
INCOMPLETE = re.compile(r"\x1b(\[[0-9;?<=>]*[ -/]*|\][^\x07\x1b]*|\x1b?|[()])?$")


class Screen:
    """The characters on a `columns` x `rows` terminal; styles are ignored, wide characters take one cell."""

    def __init__(self, columns: int, rows: int) -> None:
        self.columns, self.rows = columns, rows
        self.cells = [[" "] * columns for _ in range(rows)]
        self.x = self.y = 0
        self.synchronized = False  # inside a synchronized update: a terminal shows nothing of it yet
        self._pending = ""

    def feed(self, text: str) -> None:
        text = self._pending + text
        cut = INCOMPLETE.search(text)
        self._pending = text[cut.start():] if cut and cut.group(0) else ""
        text = text[:len(text) - len(self._pending)]
        for match in TOKEN.finditer(text):
            token = match.group(0)
            if match.group(2):
                self._csi(match.group(1), match.group(2))
            elif token == "\r":
                self.x = 0
            elif token == "\n":
                self.y = min(self.y + 1, self.rows - 1)
            elif token == "\b":
                self.x = max(self.x - 1, 0)
            elif not token.startswith("\x1b") and token >= " ":
                self._write(token)

    def _write(self, text: str) -> None:
        row = self.cells[self.y]
        for char in text:
            if self.x < self.columns:
                row[self.x] = char
            self.x += 1
        self.x = min(self.x, self.columns - 1)

    def _csi(self, params: str, final: str) -> None:
        private = params.startswith("?")
        numbers = [int(n) if n.isdigit() else 0 for n in params.lstrip("?<=>").split(";")] if params else []
        first = numbers[0] if numbers and numbers[0] else 1
        if private:
            if final == "h" and 1049 in numbers:  # the alternate screen starts blank
                self.clear()
            if 2026 in numbers and final in "hl":
                self.synchronized = final == "h"
        elif final in "Hf":
            row = numbers[0] if numbers and numbers[0] else 1
            column = numbers[1] if len(numbers) > 1 and numbers[1] else 1
            self.y, self.x = min(row, self.rows) - 1, min(column, self.columns) - 1
        elif final == "G":
            self.x = min(first, self.columns) - 1
        elif final in "ABCD":
            dy, dx = {"A": (-first, 0), "B": (first, 0), "C": (0, first), "D": (0, -first)}[final]
            self.y = max(0, min(self.rows - 1, self.y + dy))
            self.x = max(0, min(self.columns - 1, self.x + dx))
        elif final == "J" and numbers[:1] in ([2], [3]):
            self.clear()
        elif final == "K":
            start, end = {0: (self.x, self.columns), 1: (0, self.x + 1), 2: (0, self.columns)}.get(
                numbers[0] if numbers else 0, (self.x, self.columns))
            self.cells[self.y][start:end] = [" "] * (end - start)

    def clear(self) -> None:
        self.cells = [[" "] * self.columns for _ in range(self.rows)]

    def text(self) -> str:
        return "\n".join("".join(row) for row in self.cells)


class Terminal:
    """A command running on a pty of `size`, its output fed to a `Screen`; `wait_for` reads until a condition."""

    def __init__(self, command: Sequence[str], *, cwd: Path, env: Mapping[str, str],
                 size: tuple[int, int] = (80, 24)) -> None:
        columns, rows = size
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.screen = Screen(columns, rows)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(list(command), cwd=cwd, env=dict(env), stdin=slave, stdout=slave,
                                        stderr=slave, start_new_session=True, close_fds=True)
        os.close(slave)

    def read(self, timeout_s: float) -> bool:
        """Feed what the command wrote within `timeout_s`; False when it wrote nothing."""
        ready, _, _ = select.select([self.master], [], [], timeout_s)
        if not ready:
            if self.process.poll() is not None:
                raise RuntimeError(f"the console exited ({self.process.returncode}); the screen was:\n"
                                   f"{self.screen.text()}")
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            raise RuntimeError(f"the console closed its terminal; the screen was:\n{self.screen.text()}") from None
        if SYNC_QUERY in data:
            os.write(self.master, SYNC_ANSWER)
        self.screen.feed(self._decoder.decode(data))
        return True

    def wait_for(self, condition: Callable[[str], bool], limit_s: float = 120.0) -> float:
        """perf_counter() at the first whole frame for which `condition(text)` holds (now, if it holds already)."""
        deadline = time.perf_counter() + limit_s
        while self.screen.synchronized or not condition(self.screen.text()):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"never shown within {limit_s:g} s; the screen was:\n{self.screen.text()}")
            self.read(0.05)
        return time.perf_counter()

    def cpu_seconds(self) -> float:
        """User plus system CPU the command used so far (from /proc: clock ticks)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self, quit_keys: bytes = b"q") -> None:
        """Send `quit_keys`, wait for the command to end (killed if it does not within 20 s)."""
        try:
            if self.process.poll() is None:
                os.write(self.master, quit_keys)
                _drain_until_exit(self.master, self.process, timeout_s=20.0)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            os.close(self.master)


def run_until_shown(command: Sequence[str], condition: Callable[[str], bool], *, cwd: Path,
                    env: Mapping[str, str], size: tuple[int, int] = (80, 24), quit_keys: bytes = b"q",
                    limit_s: float = 120.0) -> tuple[float, str]:
    """Seconds from process start to the first screen for which `condition(text)` holds, and that screen.

    The process is then sent `quit_keys` and waited for (killed if it does not stop within 20 s).
    """
    terminal = Terminal(command, cwd=cwd, env=env, size=size)
    try:
        shown = terminal.wait_for(condition, limit_s) - terminal.started
        return shown, terminal.screen.text()
    finally:
        terminal.close(quit_keys)


def _drain_until_exit(master: int, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Keep reading so the child never blocks on a full terminal while it shuts down."""
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                os.read(master, 65536)
            except OSError:
                break
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
