"""Deployment strategies, one module each, registered by kind; and the plans they make.

A strategy is its settings model (core.config.strategies, registered with `register_settings`) and a
Strategy subclass in a module here (its traffic stages, label, whether an operator can step it).
Adding one is those two and its line in BUILT_IN below: the config union, plan generation, the CLI's
--strategy and the deploy wizard read the registry. The plan model itself lives in core.model.plan;
its names stay importable from here.
"""

from __future__ import annotations

from typing import Any

from core.model.plan import (
    ANALYSIS_METRICS,
    COMPONENT_ORDER,
    NEW_REVISION_TAG,
    PREVIOUS_REVISION_TAG,
    SCHEMA_VERSION,
    Component,
    DeploymentPlan,
    Mode,
    Monitoring,
    PlanContext,
    PlanError,
    RollbackAction,
    RollbackProcedure,
    Stage,
    StageKind,
    Target,
    Validation,
)
from core.strategies.blue_green import BlueGreen
from core.strategies.builder import PlanBuilder
from core.strategies.canary import Canary
from core.strategies.generate import generate_deployment_plan
from core.strategies.registry import (
    DEFAULT_WINDOW_S,
    Strategy,
    either,
    kinds,
    load_test_of,
    mode_of,
    probes_of,
    register,
    registered,
    strategy_for,
    strategy_of,
    summary_of,
    unregister,
    window_of,
)
from core.strategies.rolling import Rolling

BUILT_IN: tuple[Strategy[Any], ...] = (BlueGreen(), Canary(), Rolling())
"""The strategies that ship with the console, registered in this order: the order kinds are listed in."""
for _built_in in BUILT_IN:
    register(_built_in)

__all__ = [
    "ANALYSIS_METRICS",
    "BUILT_IN",
    "COMPONENT_ORDER",
    "DEFAULT_WINDOW_S",
    "NEW_REVISION_TAG",
    "PREVIOUS_REVISION_TAG",
    "SCHEMA_VERSION",
    "BlueGreen",
    "Canary",
    "Component",
    "DeploymentPlan",
    "Mode",
    "Monitoring",
    "PlanBuilder",
    "PlanContext",
    "PlanError",
    "RollbackAction",
    "RollbackProcedure",
    "Rolling",
    "Stage",
    "StageKind",
    "Strategy",
    "Target",
    "Validation",
    "either",
    "generate_deployment_plan",
    "kinds",
    "load_test_of",
    "mode_of",
    "probes_of",
    "register",
    "registered",
    "strategy_for",
    "strategy_of",
    "summary_of",
    "unregister",
    "window_of",
]
