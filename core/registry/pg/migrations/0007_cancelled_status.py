"""The `cancelled` status: a deployment ended before anything was sent to the cloud (core/model/deployment.py).

0001's status check and its generated `finished` column listed the statuses it knew; this widens both (never
editing an applied migration). A generated column's expression cannot be altered before PostgreSQL 17, so
`finished` is dropped and added again (its values are recomputed from `status`), with the partial unique index
that keeps one active deployment per environment built on it. The constraint name is PostgreSQL's default for
0001's inline column check. The rollback refuses while a cancelled deployment exists: 0001's check would not
hold it.
"""

from yoyo import step

__depends__ = {"0006_health_records"}

_OLD = "'succeeded', 'failed', 'rolled_back', 'aborted'"
_NEW = _OLD + ", 'cancelled'"


def _finished(terminal: str) -> str:
    return f"""
DROP INDEX one_active_deployment_per_environment;
ALTER TABLE deployments DROP COLUMN finished;
ALTER TABLE deployments ADD COLUMN finished boolean GENERATED ALWAYS AS (status IN ({terminal})) STORED;
CREATE UNIQUE INDEX one_active_deployment_per_environment ON deployments (environment) WHERE NOT finished"""


steps = [
    step("ALTER TABLE deployments DROP CONSTRAINT deployments_status_check, "
         "ADD CONSTRAINT deployments_status_check CHECK (status IN ('pending', 'in_progress', 'paused', "
         f"{_NEW}))",
         "ALTER TABLE deployments DROP CONSTRAINT deployments_status_check, "
         "ADD CONSTRAINT deployments_status_check CHECK (status IN ('pending', 'in_progress', 'paused', "
         f"{_OLD}))"),
    step(_finished(_NEW), _finished(_OLD)),
]
