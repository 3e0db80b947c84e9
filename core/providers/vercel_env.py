"""Vercel project environment variables (create-or-update, read) on top of VercelAdapter's retried calls.

Recovery uses it to point the frontend's WebSocket URL at another region before redeploying.
"""

from __future__ import annotations

from core.providers.vercel import VercelAdapter


class VercelEnvAdapter(VercelAdapter):
    """VercelAdapter plus `/v10/projects/{id}/env?upsert=true` and `/v9/projects/{id}/env`."""

    def set_env(self, project: str, key: str, value: str, target: tuple[str, ...] = ("production",)) -> None:
        body = {"key": key, "value": value, "type": "plain", "target": list(target)}
        # Upsert is idempotent: sending the same value twice leaves one variable with that value.
        self._call("POST", f"/v10/projects/{project}/env", f"setting {key} on project {project}",
                   params={"upsert": "true"}, json=body)

    def get_env(self, project: str, key: str) -> str | None:
        answer = self._call("GET", f"/v9/projects/{project}/env", f"reading variables of project {project}").json()
        found = next((e for e in answer.get("envs", []) if e.get("key") == key), None)
        return None if found is None else str(found.get("value", ""))
