"""Runbooks as data: one TOML file per failure type, validated here, refused at load naming file, step and field.

A runbook is an ordered list of steps with dependencies. Each step is an `action` (an engine call from
actions.ACTIONS), a `check` (a verification from actions.CHECKS with pass criteria), `manual` (an
instruction the operator confirms as done) or `approval` (needs an allowed operator). Teams extend
runbooks without code: new steps, new orders, new conditions (`when`/`unless` name classification
signals), new timeouts, retries and failure handling.
"""

from __future__ import annotations

import tomllib
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from core.errors import BadInput
from core.model import frontend_env

RUNBOOK_DIR = Path(__file__).with_name("runbooks")
FAILURE_TYPES = ("compute", "network", "storage", "unknown")
StepKind = Literal["action", "check", "manual", "approval"]
OnFailure = Literal["abort", "continue", "goto"]
StepId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,62}$")]
# What a step may do; the functions live in actions.py (a test keeps both lists equal).
ACTION_NAMES = ("route_to_last_healthy_revision", "raise_min_instances", "fail_over_region",
                "point_frontend_websocket", "redeploy_frontend", "promote_redis_replica", "restore_redis_backup",
                "reapply_infrastructure")
CHECK_NAMES = ("service_health", "service_ready", "websocket_delivery", "error_rate", "min_instances",
               "secondary_region_health", "frontend_websocket_url", "redis_keys_intact")
SIGNALS = ("production", "instances_zero", "bad_revision", "suspect_deployment", "region_unreachable",
           "control_plane_down", "redis_unreachable", "delivery_lost")


class _Strict(BaseModel):
    # inf and nan are valid TOML floats, but no timeout, estimate or parameter of a runbook.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RunbookStep(_Strict):
    """One step. `depends_on` orders steps; `fallback` steps run only when a failed step goes to them."""

    id: StepId
    title: str = Field(min_length=1, max_length=200)
    kind: StepKind
    action: str | None = None
    check: str | None = None
    instruction: str = ""
    depends_on: list[StepId] = Field(default_factory=list)
    timeout_s: float = Field(default=120.0, gt=0, le=7200)
    retries: int = Field(default=0, ge=0, le=10)
    backoff_s: float = Field(default=5.0, ge=0, le=600)
    on_failure: OnFailure = "abort"
    goto: StepId | None = None
    changes: bool = False
    estimate_s: float = Field(default=30.0, ge=0, le=7200)
    when: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)
    fallback: bool = False
    allowed: list[str] = Field(default_factory=list, description="approval: operators or teams (default: env access)")
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    checkpoint: bool = False  # set by the planner on the checks it inserts

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for what pydantic's per-field types cannot say."""
        found: list[tuple[str, str]] = []
        if self.kind == "action" and self.action not in ACTION_NAMES:
            found.append(("action", f"must be one of {', '.join(ACTION_NAMES)} for an action step, "
                                    f"got {self.action!r}"))
        if self.kind != "action" and self.action is not None:
            found.append(("action", f"only action steps name an action (this step is a {self.kind} step)"))
        if self.kind == "check" and self.check not in CHECK_NAMES:
            found.append(("check", f"must be one of {', '.join(CHECK_NAMES)} for a check step, got {self.check!r}"))
        if self.kind != "check" and self.check is not None:
            found.append(("check", f"only check steps name a check (this step is a {self.kind} step)"))
        if self.kind in ("manual", "approval") and not self.instruction:
            found.append(("instruction", f"a {self.kind} step needs an instruction for the operator"))
        if self.kind == "check" and self.changes:
            found.append(("changes", "a check step must not change anything"))
        if (self.on_failure == "goto") != (self.goto is not None):
            found.append(("goto", "name the step to go to exactly when on_failure is \"goto\""))
        named = self.params.get("variable")
        if named is not None and named != frontend_env.WEBSOCKET_URL:
            # One name everywhere (core/model/frontend_env.py, the Terraform's too): a failover that sets
            # another variable changes nothing the frontend reads.
            found.append(("params.variable", f"names {named!r}, but the frontend reads its WebSocket URL from "
                                             f"{frontend_env.WEBSOCKET_URL}; leave it out"))
        for name, signals in (("when", self.when), ("unless", self.unless)):
            unknown = [s for s in signals if s not in SIGNALS]
            if unknown:
                found.append((name, f"unknown signal {unknown[0]!r}; known: {', '.join(SIGNALS)}"))
        return found


class Runbook(_Strict):
    name: str
    failure_type: Literal["compute", "network", "storage", "unknown"]
    title: str = Field(min_length=1)
    description: str = ""
    steps: list[RunbookStep] = Field(min_length=1)

    def step(self, step_id: str) -> RunbookStep:
        return next(s for s in self.steps if s.id == step_id)


def _refuse(path: Path, step: str | None, field: str, message: str) -> BadInput:
    where = f"step {step!r}: " if step else ""
    return BadInput(f"Runbook file {path}: {where}field {field}: {message}.")


def _cross_checks(path: Path, book: Runbook) -> None:
    ids: set[str] = set()
    for step in book.steps:
        if step.id in ids:
            raise _refuse(path, step.id, "id", "is used by more than one step")
        ids.add(step.id)
    for step in book.steps:
        for field, message in step.problems():
            raise _refuse(path, step.id, field, message)
        for dep in step.depends_on:
            if dep not in ids:
                raise _refuse(path, step.id, "depends_on", f"names step {dep!r}, which this runbook does not have")
        if step.goto is not None and step.goto not in ids:
            raise _refuse(path, step.id, "goto", f"names step {step.goto!r}, which this runbook does not have")
    try:
        TopologicalSorter({s.id: s.depends_on for s in book.steps}).prepare()
    except CycleError as exc:
        cycle = list(exc.args[1])
        raise _refuse(path, cycle[0], "depends_on", "forms a cycle: " + " → ".join(cycle)) from None


def load_runbook_file(path: Path) -> Runbook:
    """Read and validate one runbook; any problem is a BadInput naming the file, the step and the field."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise BadInput(f"Runbook file {path} cannot be read: {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"Runbook file {path} is not UTF-8 text (byte {exc.start + 1}).") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise BadInput(f"Runbook file {path} is not valid TOML: it nests deeper than a runbook can.") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"Runbook file {path} is not valid TOML: {exc}.") from None
    try:
        book = Runbook.model_validate({"name": path.stem, **data})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        step = None
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            raw = (data.get("steps") or [])[loc[1]] if isinstance(data.get("steps"), list) else {}
            step = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else f"#{loc[1] + 1}"
            loc = loc[2:]
        field = ".".join(str(p) if str(p).isprintable() else repr(str(p)) for p in loc) or "(the step itself)"
        raise _refuse(path, step, field, err["msg"]) from None
    _cross_checks(path, book)
    return book


def runbook_for(failure_type: str, directory: Path | None = None) -> Runbook:
    """The runbook for a failure type (`unknown.toml` when there is none for it)."""
    directory = directory or RUNBOOK_DIR
    path = directory / f"{failure_type}.toml"
    if not path.exists():
        path = directory / "unknown.toml"
    return load_runbook_file(path)


def load_all(directory: Path | None = None) -> dict[str, Runbook]:
    directory = directory or RUNBOOK_DIR
    return {p.stem: load_runbook_file(p) for p in sorted(directory.glob("*.toml"))}
