"""The hot registry file on disk: atomic writes, backup, schema header, corruption, locking, temp files."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from core.errors import BadInput, OperationFailed
from core.registry import (
    SCHEMA_VERSION,
    DeploymentRegistry,
    DeploymentStatus,
    RegistryCorrupt,
    RegistryLocked,
    RegistrySchemaTooNew,
    RegistryUnavailable,
)


def draft(**overrides: Any) -> dict[str, Any]:
    return {"environment": "staging", "versions": {"frontend": "3.1.0"}, "strategy": "blue-green",
            "actor": "ci"} | overrides


def test_file_carries_schema_and_a_serial_that_grows_per_write(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    ident = registry.register_deployment(draft())
    first = json.loads(registry.path.read_text())
    registry.update_deployment(ident, status="in_progress")
    second = json.loads(registry.path.read_text())
    assert first["_meta"]["schema"] == SCHEMA_VERSION == 1
    assert second["_meta"]["serial"] == first["_meta"]["serial"] + 1
    assert second["deployments"][ident]["status"] == "in_progress"


def test_previous_version_is_kept_as_backup(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    ident = registry.register_deployment(draft())
    before = registry.path.read_bytes()
    registry.update_deployment(ident, status="paused")
    assert registry.backup_path == tmp_path / "registry.json.bak"
    assert registry.backup_path.read_bytes() == before
    assert json.loads(registry.path.read_text())["deployments"][ident]["status"] == "paused"


def test_reads_see_writes_of_another_registry_instance(tmp_path: Path) -> None:
    reader = DeploymentRegistry(tmp_path / "registry.json")
    writer = DeploymentRegistry(tmp_path / "registry.json")
    assert reader.active_deployments() == []
    ident = writer.register_deployment(draft())
    assert [d.id for d in reader.active_deployments()] == [ident]
    writer.update_deployment(ident, status="in_progress")
    found = reader.get_deployment(ident)
    assert found is not None and found.status == DeploymentStatus.IN_PROGRESS


def test_writes_of_two_instances_do_not_lose_each_other(tmp_path: Path) -> None:
    one = DeploymentRegistry(tmp_path / "registry.json")
    two = DeploymentRegistry(tmp_path / "registry.json")
    ids = [one.register_deployment(draft()), two.register_deployment(draft()), one.register_deployment(draft())]
    one.set_health("staging", "healthy")
    two.set_health("staging", "degraded")
    third = DeploymentRegistry(tmp_path / "registry.json")
    assert sorted(d.id for d in third.active_deployments()) == sorted(ids)
    state = third.get_environment_state("staging")
    assert state.statistics["total"] == 3 and state.health == "degraded"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"_meta":{"schema":1,"serial":4},"deployments":{"d-2026', "not valid JSON"),
        (b"", "the file is empty"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"deployments": {}}', '"_meta" header'),
        (b'{"_meta":{"schema":1,"serial":1},"deployments":[]}', "table 'deployments'"),
        (b"\xff\xfe garbage", "not valid JSON"),
    ],
)
def test_unreadable_hot_file_is_refused_and_left_untouched(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "registry.json"
    path.write_bytes(content)
    with pytest.raises(RegistryCorrupt) as caught:
        DeploymentRegistry(path)
    message = str(caught.value)
    assert reason in message
    assert f"registry {path} is unreadable" in message
    assert f"the previous version is {path}.bak" in message
    assert "copy the backup into its place" in message
    assert isinstance(caught.value, OperationFailed)
    assert path.read_bytes() == content


def test_corruption_found_by_an_open_registry_blocks_writes_without_overwriting(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    kept = registry.register_deployment(draft())
    ident = registry.register_deployment(draft())
    damaged = registry.path.read_bytes()[:40]
    registry.path.write_bytes(damaged)
    with pytest.raises(RegistryCorrupt):
        registry.update_deployment(ident, status="failed")
    with pytest.raises(RegistryCorrupt):
        registry.get_deployment(ident)
    assert registry.path.read_bytes() == damaged
    # Following the message's advice brings the registry back.
    registry.backup_path.replace(registry.path)
    restored = DeploymentRegistry(registry.path)
    assert [d.id for d in restored.active_deployments()] == [kept]
    assert restored.register_deployment(draft())


def test_registry_from_a_newer_opsconsole_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    content = b'{"_meta":{"schema":2,"serial":9},"deployments":{}}'
    path.write_bytes(content)
    with pytest.raises(RegistrySchemaTooNew) as caught:
        DeploymentRegistry(path)
    assert str(caught.value) == (
        f"registry {path} was written by a newer opsconsole (schema 2, this one reads 1); upgrade opsconsole"
    )
    assert isinstance(caught.value, BadInput) and caught.value.exit_code == 2
    assert path.read_bytes() == content


def test_leftover_temp_files_are_removed_at_open(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    registry.register_deployment(draft())
    leftovers = [tmp_path / ".registry.json.tmp-4242-deadbeef", tmp_path / ".registry.json.tmp-77-0badf00d"]
    for leftover in leftovers:
        leftover.write_bytes(b'{"_meta":')
    unrelated = tmp_path / ".other.json.tmp-1-aaaa"
    unrelated.write_text("keep me")
    DeploymentRegistry(registry.path)
    assert not any(leftover.exists() for leftover in leftovers)
    assert unrelated.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".other.json.tmp-1-aaaa", "registry.json", "registry.json.lock",
    ]


def test_missing_directory_is_created(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "deep" / "er" / "registry.json")
    registry.register_deployment(draft())
    assert registry.path.is_file()


def test_a_held_lock_makes_writers_wait_then_give_up_with_a_clear_message(tmp_path: Path) -> None:
    holder = DeploymentRegistry(tmp_path / "registry.json")
    waiter = DeploymentRegistry(tmp_path / "registry.json", lock_timeout=0.2)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder._storage.transaction():
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        with pytest.raises(RegistryLocked, match=r"registry lock .*registry\.json\.lock is held by another process"):
            waiter.register_deployment(draft())
    finally:
        release.set()
        thread.join()
    assert waiter.register_deployment(draft())


def test_threads_sharing_one_registry_lose_nothing(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    other = DeploymentRegistry(tmp_path / "registry.json")
    made: list[str] = []
    errors: list[BaseException] = []

    def work(target: DeploymentRegistry) -> None:
        try:
            for _ in range(15):
                ident = target.register_deployment(draft())
                target.append_event(ident, "intent", "swap", actor="ci")
                target.update_deployment(ident, status="succeeded")
                made.append(ident)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in (registry, registry, other, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    fresh = DeploymentRegistry(registry.path)
    assert sorted(d.id for d in fresh.list_deployments()) == sorted(made)
    assert fresh.get_environment_state("staging").statistics["succeeded"] == 60
    assert all(len(fresh.events(ident)) == 1 for ident in made)


def test_unusable_location_is_explained_in_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(RegistryUnavailable, match=r"could not be used .*check that the disk has space"):
        DeploymentRegistry(blocker / "registry.json")
    (tmp_path / "registry.json").mkdir()
    with pytest.raises(RegistryUnavailable, match=r"registry file .*registry\.json could not be used"):
        DeploymentRegistry(tmp_path / "registry.json")


def test_a_missing_file_with_a_backup_beside_it_is_not_silently_started_afresh(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    registry.register_deployment(draft())
    registry.register_deployment(draft())
    registry.path.rename(tmp_path / "registry.json.damaged")
    with pytest.raises(RegistryCorrupt, match="the file is missing but its backup exists"):
        DeploymentRegistry(registry.path)
    assert not registry.path.exists()
