"""Environment bookkeeping kept in the hot file: statistics, current versions, health, last deployment.

These functions work on the JSON documents of the ``environments`` table, so that a registration, a
status change or the replay of an archived line after a crash all update them the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.registry.models import TERMINAL_STATUSES, DeploymentStatus, EnvironmentState

Doc = dict[str, Any]


def empty_environment(name: str) -> Doc:
    """The document of an environment the registry has not seen yet."""
    return {
        "name": name,
        "health": "unknown",
        "statistics": {"total": 0, **{status.value: 0 for status in DeploymentStatus}},
        "versions": {},
        "last": None,
    }


def count_new(env: Doc, deployment: Doc) -> None:
    """A deployment entered the registry (registered, imported, or replayed from the archive)."""
    stats = env["statistics"]
    stats["total"] = stats.get("total", 0) + 1
    stats[deployment["status"]] = stats.get(deployment["status"], 0) + 1
    _note_finished(env, deployment)


def count_change(env: Doc, old_status: str, deployment: Doc) -> None:
    """A registered deployment moved from ``old_status`` to ``deployment["status"]``."""
    stats = env["statistics"]
    if old_status != deployment["status"]:
        stats[old_status] = max(0, stats.get(old_status, 0) - 1)
        stats[deployment["status"]] = stats.get(deployment["status"], 0) + 1
    _note_finished(env, deployment)


def _note_finished(env: Doc, deployment: Doc) -> None:
    if deployment["status"] not in TERMINAL_STATUSES:
        return
    last = env.get("last")
    if last is None or deployment["id"] > last["id"]:
        env["last"] = deployment
    if deployment["status"] != DeploymentStatus.SUCCEEDED:
        return
    # "Current" is what the most recently *finished* success installed: an older deployment that
    # finishes later (or history imported out of order) must not win over it.
    finished = _moment(deployment["ended_at"])
    for component, version in deployment["versions"].items():
        held = env["versions"].get(component)
        if held is None or (_moment(held["ended_at"]), held["deployment_id"]) <= (finished, deployment["id"]):
            env["versions"][component] = {
                "version": version,
                "deployment_id": deployment["id"],
                "ended_at": deployment["ended_at"],
            }


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def to_state(env: Doc, active: list[Any]) -> EnvironmentState:
    """The EnvironmentState model of a document plus its active deployments (already models)."""
    return EnvironmentState.model_validate(
        {
            "name": env["name"],
            "active": active,
            "current_versions": {name: held["version"] for name, held in env["versions"].items()},
            "health": env["health"],
            "last": env["last"],
            "statistics": env["statistics"],
        }
    )
