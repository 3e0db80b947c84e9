"""A recovery on the engine rig: a real in-process sandbox, the engine, and a RecoveryContext that says yes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.recovery.context import RecoveryContext
from core.recovery.incident import IncidentStore
from tests.engine_rig import Rig, rig


@dataclass
class RecoveryRig:
    rig: Rig
    store: IncidentStore
    asked: list[str] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    answer: Callable[[str], bool] = lambda question: True

    def context(self, env: str = "production", *, dry_run: bool = False) -> RecoveryContext:
        def confirm(question: str) -> bool:
            self.asked.append(question)
            return self.answer(question)

        return RecoveryContext(engine=self.rig.engine, environment=env, ports=self.rig.wiring.recovery_ports(),
                               sleep=self.rig.sleep, confirm=confirm, dry_run=dry_run, on_entry=self.entries.append,
                               probes=6, messages=3, ack_timeout_s=0.3)


@contextmanager
def recovery_rig(tmp_path: Path, scenario: str) -> Iterator[RecoveryRig]:
    with rig(tmp_path, scenario=scenario) as built:
        yield RecoveryRig(built, IncidentStore(built.registry))


BAD_IMAGE = "us-central1-docker.pkg.dev/ai-agent-network-prod/agent-network/websocket-server:v2.1.0"


def ship_bad_revision(rr: RecoveryRig, env: str = "production") -> str:
    """A release that passed its rollout and now fails requests: a succeeded deployment in the registry, its
    revision (created under the canary-5xx scenario) serving 100 %, five minutes of traffic on it."""
    from core.registry import DeploymentStatus

    r = rr.rig
    cloudrun = r.wiring.cloudrun(env)
    revision = cloudrun.deploy_revision("websocket-server", BAD_IMAGE, "candidate", wait=False)
    r.sleep(30.0)
    cloudrun.set_traffic("websocket-server", {revision.name: 100}, {"stable": revision.name})
    now = r.wiring.now()
    deployment_id = r.registry.register_deployment({
        "environment": env, "versions": {"websocket-server": "v2.1.0"}, "strategy": "canary", "actor": "bob",
        "started_at": now, "status": DeploymentStatus.SUCCEEDED, "ended_at": now,
        "metadata": {"rollout": {"new_revision": revision.name}}})
    r.sleep(300.0)
    return deployment_id
