"""The ports hold: mypy --strict over core, so an adapter that drifts from core.ports, or an engine step that
calls what a port does not offer, fails here instead of in a deployment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRICT = ["core"]  # all of core: the model, the ports, the engine, the adapters and the rest


def test_core_type_checks_strictly() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", *STRICT], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_a_drifted_adapter_is_caught(tmp_path: Path) -> None:
    # The check above must be able to fail: an adapter whose method lost a parameter the engine passes.
    drifted = tmp_path / "drifted.py"
    drifted.write_text(
        "from core.model.service import RevisionState, ServiceState\n"
        "from core.ports import CloudRunProvider\n\n"
        "class Drifted:\n"
        "    def get_service(self, service: str) -> ServiceState: ...\n"
        "    def deploy_revision(self, service: str, image: str, tag: str) -> RevisionState: ...\n"
        "    def set_traffic(self, service: str, split: dict[str, int], tags: None = None) -> ServiceState: ...\n"
        "    def revision_ready(self, service: str, revision: str) -> bool: ...\n\n"
        "port: CloudRunProvider = Drifted()\n"
    )
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(drifted)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert "deploy_revision" in result.stdout
