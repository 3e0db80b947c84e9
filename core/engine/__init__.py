"""The deployment engine: plans carried out stage by stage, written ahead to the registry, resumable.

Layout: `engine` (the facade: deploy, tick, drive), `context` (what every step does around its action),
`steps/` (the steps by concern), `operator` (what a person asks of a running deployment), `rollback`
(a component back outside a deployment), `planning` and `choices` (from a request to a plan).
"""

from core.access import current_operator
from core.engine.bus import EventBus
from core.engine.engine import Engine
from core.engine.lock import EnvironmentBusy, EnvironmentLock
from core.engine.operator import (
    PromotionBlocked,
    RollbackDone,
    abort,
    approve,
    pause,
    promote,
    resume,
    roll_back,
    set_weight,
    verify,
)
from core.engine.rollback import rollback_deployment, verify_deployment
from core.engine.tick import Tick
from core.model.events import EngineEvent
from core.model.rollout import Rollout
from core.ports import InfrastructureHook, Ports

__all__ = [
    "Engine",
    "EngineEvent",
    "EnvironmentBusy",
    "EnvironmentLock",
    "EventBus",
    "InfrastructureHook",
    "Ports",
    "PromotionBlocked",
    "RollbackDone",
    "Rollout",
    "Tick",
    "abort",
    "approve",
    "current_operator",
    "pause",
    "promote",
    "resume",
    "roll_back",
    "rollback_deployment",
    "set_weight",
    "verify",
    "verify_deployment",
]
