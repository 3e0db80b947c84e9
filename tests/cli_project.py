"""A project directory for in-process CLI tests: alice in the operations team, the registry and the sandbox's state
file inside it, and a sandbox saved with a scenario (the console starts it on that file, as it does when none is
running). `project` is a fixture for every test module (tests/conftest.py); a module's own `project` wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.cli import main
from console.wiring import seed_from_config
from core.config import default_config
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.monitoring_ingest import FAST as FAST_POINTS

EPOCH = 1_790_000_000.0


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "opsconsole.toml").write_text('[teams]\noperations = ["alice"]\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPSCONSOLE_REGISTRY", str(tmp_path / "registry.json"))
    monkeypatch.setenv("OPSCONSOLE_SANDBOX", str(tmp_path / "sandbox.json"))
    monkeypatch.setenv("OPSCONSOLE_OPERATOR", "alice")
    return tmp_path


def save_scenario(project: Path, name: str) -> None:
    """The project's sandbox, saved in scenario `name` with a frozen clock at EPOCH."""
    SandboxCloud(seed=seed_from_config(default_config()), scenario=name, clock=SandboxClock(speed=0, start=EPOCH),
                 state_file=project / "sandbox.json", ingestion=FAST_POINTS).save()  # 10 s points at once: for speed


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`opsconsole ARGS` in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as ended:
        main(list(args))
    out, err = capsys.readouterr()
    return int(ended.value.code or 0), out, err
