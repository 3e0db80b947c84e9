"""update_infrastructure and the last known good: what is recorded after an apply, that a restore brings back
exactly what was applied (from its snapshot, or from git when the snapshot is gone), and the engine's hook."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.config import default_config
from core.engine import Engine, rollback_deployment
from core.errors import OperationFailed
from core.infra import HISTORY_LIMIT, InfrastructureService, TerraformHook, entry_id, last_good, make_runner
from core.infra.records import record_good
from core.providers.terraform import file_sha256
from core.registry import DeploymentRegistry, DeploymentStatus
from sandbox.terraform_command import standin_command
from tests.engine_rig import OPERATOR, rig

INFRA = Path(__file__).resolve().parents[1] / "infrastructure"
SERVICE = "module.websocket_server.google_cloud_run_v2_service.websocket"
MODULE = Path("modules") / "websocket-server" / "main.tf"


def git(directory: Path, *args: str) -> str:
    """git in a throwaway repository of the test's own (never the project's)."""
    done = subprocess.run(["git", "-C", str(directory), "-c", "user.name=t", "-c", "user.email=t@example.invalid",
                           "-c", "commit.gpgsign=false", *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return shutil.copytree(INFRA, tmp_path / "repo" / "infrastructure")


@pytest.fixture
def service(tree: Path, tmp_path: Path) -> InfrastructureService:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    runner = make_runner("sandbox", {"PATH": "/usr/bin:/bin"}, tmp_path / "work", tree,
                         standin=standin_command)
    return InfrastructureService(default_config(), registry, runner, actor="alice",
                                 now=lambda: datetime(2026, 11, 26, 9, 0, tzinfo=UTC))


def served_concurrency(service: InfrastructureService, environment: str = "staging") -> int:
    state = service.runner.pull_state(environment)
    (resource,) = [r for r in state["resources"] if r["type"] == "google_cloud_run_v2_service"]
    return resource["instances"][0]["attributes"]["template"][0]["max_instance_request_concurrency"]


def change_concurrency(tree: Path, value: int) -> None:
    path = tree / MODULE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("request_concurrency = 250", f"request_concurrency = {value}"), encoding="utf-8")


def test_an_apply_records_the_last_known_good(service: InfrastructureService) -> None:
    plan = service.plan("staging")
    reviewed = file_sha256(plan.path)
    service.apply_plan(plan, version="infra-v1")
    good = last_good(service.registry, "staging")
    assert good is not None
    assert good["plan_hash"] == plan.sha256 == reviewed
    assert not plan.path.exists()  # applied plan files are removed: they may hold sensitive values
    assert good["state_serial"] == 1
    assert good["actor"] == "alice" and good["version"] == "infra-v1"
    assert good["applied_at"] == "2026-11-26T09:00:00+00:00"
    assert good["counts"] == {"create": 27, "update": 0, "delete": 0, "replace": 0}
    assert good["git_commit"] is None and good["git_dirty"]  # the copied tree is not a git checkout
    # Secrets are recorded as references only, and the record is plain JSON as the registry keeps it.
    assert good["variables"]["secret_refs"]["firebase_api_key"]["secret"] == "firebase-api-key"
    assert json.loads(json.dumps(good)) == good


def test_a_review_that_says_no_applies_nothing(service: InfrastructureService) -> None:
    seen = []
    outcome = service.update_infrastructure("staging", review=lambda summary: seen.append(summary) or False)
    assert not outcome.applied and seen[0].counts["create"] == 27
    assert last_good(service.registry, "staging") is None
    assert service.runner.state_serial("staging") == 0


def test_the_history_of_good_applies_is_bounded_newest_first(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    for serial in range(1, HISTORY_LIMIT + 4):
        record_good(registry, "dev", {"state_serial": serial})
    good = last_good(registry, "dev")
    assert good is not None and good["state_serial"] == HISTORY_LIMIT + 3
    assert [entry["state_serial"] for entry in good["history"]] == list(range(HISTORY_LIMIT + 2, 2, -1))
    assert all("history" not in entry for entry in good["history"])


def test_restore_after_a_bad_change_outside_the_console(service: InfrastructureService, tree: Path) -> None:
    """Someone applied by hand from a changed tree: the console's last good puts it back."""
    service.update_infrastructure("staging")
    change_concurrency(tree, 5)
    hand = service.runner.plan("staging", service.variables("staging"))
    service.runner.apply(hand)  # not recorded: it did not go through update_infrastructure
    assert served_concurrency(service) == 5
    restored = service.restore_last_good("staging")
    assert [(c.address, c.action) for c in restored.plan.summary.changes] == [(SERVICE, "update")]
    assert served_concurrency(service) == 250
    good = last_good(service.registry, "staging")
    assert good is not None and good["restored_from"] == entry_id(good["history"][0])  # the id it restored
    assert (tree / MODULE).read_text(encoding="utf-8").count("= 5") == 1  # the tree itself is left alone


def test_restore_reads_the_commit_when_the_snapshot_is_gone(service: InfrastructureService, tree: Path) -> None:
    repo = tree.parent
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "infrastructure")
    commit = git(repo, "rev-parse", "HEAD")
    service.update_infrastructure("staging")
    good = last_good(service.registry, "staging")
    assert good is not None and (good["git_commit"], good["git_dirty"]) == (commit, False)
    change_concurrency(tree, 5)  # uncommitted: a restore from the working tree would plan an update
    shutil.rmtree(service.snapshots)
    restored = service.restore_last_good("staging")
    assert restored.plan.summary.empty
    assert served_concurrency(service) == 250


def test_restore_without_a_last_good_says_so(service: InfrastructureService) -> None:
    with pytest.raises(OperationFailed, match="staging has no last known good infrastructure"):
        service.restore_last_good("staging")


def test_the_engine_applies_and_rolls_back_infrastructure_through_the_hook(
        service: InfrastructureService, tmp_path: Path) -> None:
    with rig(tmp_path / "rig") as built:
        ports = dataclasses.replace(built.engine.ports, infrastructure=TerraformHook(lambda: service))
        engine = Engine(built.engine.config, service.registry, ports, operator=OPERATOR)
        try:
            deployment = engine.deploy_to_environment("dev", {"infrastructure": "infra-v7"})
            engine.drive(deployment.id, sleep=built.sleep)
            finished = service.registry.get_deployment(deployment.id)
            assert finished is not None and finished.status == DeploymentStatus.SUCCEEDED
            good = last_good(service.registry, "dev")
            assert good is not None and good["version"] == "infra-v7"

            rolled = rollback_deployment(engine, "dev", "infrastructure", reason="bad scaling change")
            assert rolled.status == DeploymentStatus.SUCCEEDED
            restored = last_good(service.registry, "dev")
            assert restored is not None and restored["restored_from"] and restored["version"] == "infra-v7"
        finally:
            engine.release_locks()
