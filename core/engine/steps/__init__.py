"""The engine's steps by concern, and which one handles each kind of stage.

Every handler first asks the provider whether the stage's effect is already in place (a restarted
engine finds its own revision, its own split, its own Vercel build) and only then acts, through
`StepContext.act`, which writes the intent ahead. So a stage is never applied twice.
"""

from __future__ import annotations

from collections.abc import Callable

from core.engine.context import StepContext
from core.engine.steps.analysis import observe
from core.engine.steps.finish import finalize
from core.engine.steps.frontend import deploy_frontend, promote_frontend
from core.engine.steps.infrastructure import apply_infrastructure
from core.engine.steps.revision import deploy_revision
from core.engine.steps.rollback import roll_back, verify_stable
from core.engine.steps.traffic import apply_manual_weight, set_traffic
from core.engine.steps.verification import verify
from core.engine.tick import Tick
from core.model.deployment import Deployment
from core.model.rollout import Rollout
from core.strategies import StageKind

Handler = Callable[[StepContext, Deployment, Rollout], Tick]

HANDLERS: dict[StageKind, Handler] = {
    StageKind.APPLY_INFRASTRUCTURE: apply_infrastructure,
    StageKind.DEPLOY_REVISION: deploy_revision,
    StageKind.DEPLOY_FRONTEND: deploy_frontend,
    StageKind.VERIFY: verify,
    StageKind.SET_TRAFFIC: set_traffic,
    StageKind.OBSERVE: observe,
    StageKind.PROMOTE_FRONTEND: promote_frontend,
    StageKind.FINALIZE: finalize,
}

__all__ = ["HANDLERS", "Handler", "apply_manual_weight", "finalize", "roll_back", "verify_stable"]
