"""A running sandbox the `opsconsole` commands attach to (through its state file), a copy of infrastructure/ they
apply, and the official Cloud Run client on the same sandbox, so a test sees what an apply did to the service."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.cli import main
from console.wiring import seed_from_config
from core.config import default_config
from core.model.service import ServiceSettings
from core.providers.cloudrun import CloudRunAdapter
from core.providers.profile import GoogleClients, google_clients
from core.registry import DeploymentRegistry
from sandbox.cloud import SandboxCloud
from tests.google_rig import FAST

INFRA = Path(__file__).resolve().parents[1] / "infrastructure"
STAGING = default_config().environment("staging").infrastructure
PLAIN_ENV = "    ENVIRONMENT         = var.environment\n"


@dataclass
class InfraRig:
    tmp: Path
    tree: Path
    cloud: SandboxCloud
    clients: GoogleClients
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def run(self, *args: str, **env: str) -> tuple[int, str, str]:
        """`opsconsole ARGS` in-process: (exit code, stdout, stderr)."""
        with self.monkeypatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            with pytest.raises(SystemExit) as exited:
                main(list(args))
        out, err = self.capsys.readouterr()
        return int(exited.value.code or 0), out, err

    @property
    def cloudrun(self) -> CloudRunAdapter:
        return CloudRunAdapter(self.clients.services, self.clients.revisions, STAGING.gcp_project, STAGING.region,
                               policy=FAST)

    def live(self) -> ServiceSettings:
        settings = self.cloudrun.get_service(STAGING.service_name).settings
        assert settings is not None
        return settings

    def record(self) -> dict | None:
        return DeploymentRegistry(self.tmp / "data" / "registry.json").get_record("infrastructure", "staging")

    def add_plain_env(self, name: str, value: str) -> None:
        """A bad change in the tree: one more plain environment variable for the staging service."""
        main_tf = self.tree / "environments" / "staging" / "main.tf"
        text = main_tf.read_text(encoding="utf-8")
        assert PLAIN_ENV in text
        main_tf.write_text(text.replace(PLAIN_ENV, PLAIN_ENV + f'    {name} = "{value}"\n'), encoding="utf-8")

    def writes(self) -> int:
        """How many mutating Cloud Run calls the sandbox has answered."""
        return int(self.cloud.cloudrun_requests.to_dict()["last_seq"])


@pytest.fixture(name="infra_rig")
def infra_rig_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str]) -> Iterator[InfraRig]:
    tree = shutil.copytree(INFRA, tmp_path / "repo" / "infrastructure")
    state = tmp_path / "data" / "sandbox.json"
    state.parent.mkdir(parents=True)
    cloud = SandboxCloud(seed=seed_from_config(default_config()), state_file=state).start()
    clients = google_clients(cloud.endpoints)
    monkeypatch.setenv("OPSCONSOLE_REGISTRY", str(tmp_path / "data" / "registry.json"))
    monkeypatch.setenv("OPSCONSOLE_SANDBOX", str(state))
    monkeypatch.setenv("OPS_INFRA_DIR", str(tree))
    monkeypatch.chdir(tmp_path)
    try:
        yield InfraRig(tmp_path, tree, cloud, clients, monkeypatch, capsys)
    finally:
        clients.close()
        cloud.stop()
