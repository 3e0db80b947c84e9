"""A console attached to a frozen standalone sandbox (`sandbox serve --speed 0`) reads the sandbox's time: when
another process advances it (a CLI deploy waiting out a window), the console's clock follows, so its cards,
health windows and log are on the cloud's clock, not on the one it found at start."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from console.wiring import connect, running_sandbox
from core.config.defaults import default_config
from sandbox.control import advance_clock
from tests.test_sandbox_cli import console_env


def test_the_console_follows_a_frozen_sandbox_advanced_by_another_process(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "console", "sandbox", "serve", "--speed", "0"], cwd=tmp_path,
                               env=console_env(tmp_path), stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while (running := running_sandbox(tmp_path / "sandbox.json")) is None:
            assert process.poll() is None and time.monotonic() < deadline, "the sandbox did not come up"
            time.sleep(0.1)
        endpoints, _ = running
        wiring = connect(default_config(), console_env(tmp_path))
        try:
            before = wiring.now()
            advance_clock(endpoints.control_url, 3600)  # as another process's deploy would
            time.sleep(0.6)  # the console reads the sandbox's time at most every half second
            after = wiring.now()
        finally:
            wiring.close()
        assert 3600 <= (after - before).total_seconds() < 3601, (before, after)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
