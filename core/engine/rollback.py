"""Roll a component back outside a running deployment, and verify what an environment serves.

`rollback_deployment` is the seed's procedure: the WebSocket server goes back to the previous stable
revision (traffic only; nothing is rebuilt), the frontend takes Vercel's instant rollback to the
previous production deployment, infrastructure re-applies the last known good configuration through
the Terraform hook. Each is recorded in the registry as a deployment of strategy `rollback`, with its
cause, verified afterwards and announced (to Slack; PagerDuty only where `operator_rollback` pages). A rollback whose
checks afterwards fail (the revision gone back to is unhealthy, the frontend gone back to does not serve its pages)
is recorded as failed and announced as `rollback_failed`, which pages where the environment's rule says.
"""

from __future__ import annotations

from datetime import timedelta

from core.engine.engine import Engine
from core.engine.frontend_back import frontend_serves, rollback_target
from core.engine.steps.rollback import stable_health
from core.errors import BadInput, OperationFailed
from core.model.deployment import Deployment, DeploymentStatus
from core.model.events import DeploymentFinished, RolledBack
from core.model.rollout import STABLE_TAG
from core.model.service import ServiceState
from core.strategies import PREVIOUS_REVISION_TAG, window_of
from core.verify import VerificationReport, VerifyTarget, verify_revision

ROLLBACK_COMPONENTS = ("websocket-server", "frontend", "infrastructure")


def previous_revision(state: ServiceState, version: str | None = None) -> str:
    """The revision to go back to: the one named (by revision name or image tag), else the newest ready
    revision created before the one serving now, so a second rollback goes further back, never forward."""
    current = state.revision(state.serving_revision or "")
    if version:
        for revision in state.revisions:
            if version in (revision.name, revision.image.rsplit(":", 1)[-1], revision.image):
                if not revision.ready:
                    raise OperationFailed(f"revision {revision.name} ({version}) is not ready; cannot route to it")
                return revision.name
        raise BadInput(f"{state.name} has no revision named or tagged {version!r}")
    older = [
        r
        for r in state.revisions
        if r.ready
        and current is not None
        and r.name != current.name
        and (r.create_time is None or current.create_time is None or r.create_time < current.create_time)
    ]
    if not older:
        raise OperationFailed(f"{state.name} has no earlier ready revision to roll back to")
    return older[0].name  # revisions are newest first


def rollback_deployment(
    engine: Engine, env: str, component: str, version: str | None = None, *, reason: str
) -> Deployment:
    if component not in ROLLBACK_COMPONENTS:
        raise BadInput(f"unknown component {component!r}; choose one of {', '.join(ROLLBACK_COMPONENTS)}")
    if not reason.strip():
        raise BadInput("say why you roll back: the reason is recorded as the rollback cause")
    engine.check_access(env)
    if engine.active(env) is not None:
        raise OperationFailed(
            f"{env} has a deployment in progress; roll that one back instead (opsconsole rollback {env} --reason ...)"
        )
    config = engine.environment(env)
    now = engine.ports.now()
    cause = f"rolled back by {engine.operator}: {reason}"
    if component == "websocket-server":
        cloudrun = engine.ports.cloudrun(env)
        service = config.infrastructure.service_name
        state = cloudrun.get_service(service)
        target = previous_revision(state, version)
        image = state.revision(target).image if state.revision(target) else target  # type: ignore[union-attr]
        deployment = _register(engine, env, component, image.rsplit(":", 1)[-1], cause, now)
        engine.act(
            deployment,
            "roll back traffic",
            {"from": state.serving_revision, "to": target},
            lambda: cloudrun.set_traffic(service, {target: 100}, {STABLE_TAG: target, PREVIOUS_REVISION_TAG: None}),
        )
        passed, check = stable_health(engine, env, service, target)
    elif component == "frontend":
        frontend, project = engine.ports.frontend, config.application.frontend_project
        live = frontend.production_deployment(project)
        # Vercel's own rule picks (it lists its rollback candidates); one it would refuse is never sent.
        chosen = rollback_target(frontend, project, wanted=version)
        deployment = _register(engine, env, component, chosen.git_ref or chosen.id, cause, now)
        engine.act(
            deployment,
            "roll back frontend",
            {"from": live.id if live else None, "to": chosen.id},
            lambda: frontend.rollback(project, chosen.id),
        )
        passed, check = frontend_serves(engine.ports, env, project, chosen.id, config.application.websocket_url)
    else:
        hook = engine.ports.infrastructure
        if hook is None:
            raise OperationFailed("infrastructure cannot be rolled back here: no Terraform runner is configured")
        target = hook.known_good(env, version)  # an unknown --to is refused here: nothing registered or applied
        deployment = _register(engine, env, component, target, cause, now)
        result = engine.act(deployment, "restore infrastructure", {"to": target},
                            lambda: hook.restore(env, target))
        passed, check = True, str(result)  # the restore verified what it applied, or raised
    engine.record(deployment, "done" if passed else "failed", "rollback", {"cause": cause, "check": check})
    engine.emit(RolledBack(deployment.id, env, engine.ports.now(), cause, engine.operator))
    # A person asked for it: Slack by default, a page only where the rule says so (core.model.paging); one whose
    # checks failed leaves the environment broken, which is `rollback_failed`'s rule, under the same dedup key.
    if passed:
        said = engine.announcement(deployment, "operator_rollback", f"{env} {component} {cause}; {check}")
    else:
        said = engine.announcement(deployment, "rollback_failed", f"{env} {component} {cause}, but the checks "
                                   f"afterwards failed: {check}")
    engine.announce(deployment, said)
    ended = engine.ports.now()
    status = DeploymentStatus.SUCCEEDED if passed else DeploymentStatus.FAILED
    finished = engine.registry.update_deployment(
        deployment.id, status=status, ended_at=ended, rollback_cause=cause,
        metadata={"check": check, "rollback_verified": passed}, at=ended,
    )
    engine.emit(DeploymentFinished(finished.id, env, engine.ports.now(), str(status), check))
    return finished


def _register(engine: Engine, env: str, component: str, version: str, cause: str, now: object) -> Deployment:
    deployment_id = engine.registry.register_deployment(
        {
            "environment": env,
            "versions": {component: version},
            "strategy": "rollback",
            "actor": engine.operator,
            "started_at": now,
            "status": DeploymentStatus.IN_PROGRESS,
            "rollback_cause": cause,
        },
        at=engine.ports.now(),
    )
    return engine.get(deployment_id)


def verify_deployment(engine: Engine, env: str, deployment_id: str | None = None) -> VerificationReport:
    """Run the environment's required checks on the new revision of a deployment, or on what serves now."""
    config = engine.environment(env)
    service = config.infrastructure.service_name
    state = engine.ports.cloudrun(env).get_service(service)
    name = None
    if deployment_id:
        metadata = engine.get(deployment_id).metadata.get("rollout") or {}
        found = metadata.get("new_revision") if isinstance(metadata, dict) else None
        name = found if isinstance(found, str) else None
    name = name or state.serving_revision
    revision = state.revision(name) if name else None
    if revision is None:
        raise OperationFailed(f"{env} has no revision to verify")
    checks = list(config.strategy.criteria.required_checks)
    now = engine.ports.now()
    window_s = window_of(config.strategy)
    target = VerifyTarget.from_revision(config, revision)
    if not revision.url:  # an untagged revision has no address of its own: check what users reach, the service URL
        target = VerifyTarget(environment=env, service=service, revision=revision.name, url=state.uri, config=config,
                              env_vars=revision.plain_env)
    return verify_revision(
        target,
        checks,
        metrics=engine.ports.metrics(env),
        criteria=config.strategy.criteria,
        window=(now - timedelta(seconds=window_s), now),
        profile=engine.ports.profile,
        messages=engine.verify_messages,
        now=engine.ports.now,
        cloudrun=engine.ports.cloudrun(env),  # the security check reads the invoker policy and ingress there
    )
