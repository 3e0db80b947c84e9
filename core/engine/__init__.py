"""The deployment engine: plans carried out stage by stage, written ahead to the registry, resumable."""

from core.engine.engine import Engine, current_operator
from core.engine.events import EngineEvent, EventBus
from core.engine.lock import EnvironmentBusy, EnvironmentLock
from core.engine.operator import PromotionBlocked, abort, approve, pause, promote, resume, set_weight
from core.engine.ports import InfrastructureHook, Ports
from core.engine.rollback import rollback_deployment, verify_deployment
from core.engine.rollout import Rollout
from core.engine.tick import Tick

__all__ = [
    "Engine",
    "EngineEvent",
    "EnvironmentBusy",
    "EnvironmentLock",
    "EventBus",
    "InfrastructureHook",
    "Ports",
    "PromotionBlocked",
    "Rollout",
    "Tick",
    "abort",
    "approve",
    "current_operator",
    "pause",
    "promote",
    "resume",
    "rollback_deployment",
    "set_weight",
    "verify_deployment",
]
