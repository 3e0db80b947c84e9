"""Test-wide isolation: no test reads or writes the real user's config, registry or sandbox state."""

from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Subprocesses inherit these, so `opsconsole` started by a test also stays inside the temp tree.
    home = tempfile.mkdtemp(prefix="opsconsole-test-home-")
    os.environ["XDG_DATA_HOME"] = os.path.join(home, "data")
    os.environ["XDG_CONFIG_HOME"] = os.path.join(home, "config")
    for name in [n for n in os.environ if n.startswith("OPSCONSOLE_")]:
        del os.environ[name]
