"""What an operator may choose when starting a deployment: recent versions, valid versions, the default strategy.

Shared by the CLI's `deploy` and the console's deploy wizard, so both accept and refuse the same input
and both preview the plan the engine will run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING

from core.config import COMPONENTS, EnvironmentConfig
from core.engine.planning import plan_for
from core.errors import BadInput
from core.registry import Registry
from core.strategies import DeploymentPlan, mode_of, registered, strategy_for

if TYPE_CHECKING:
    from core.engine.engine import Engine

MODES = ("manual", "auto")
RECENT_SCANNED = 500  # deployments read for recent versions: enough for months, bounded for a 100 000 registry

# An OCI image reference: [host[:port]/]path[:tag][@sha256:digest], with a tag or a digest (a bare name
# would deploy whatever `latest` is at that moment, which is never what an operator reviewed).
_IMAGE = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]+)?/)?"  # registry host
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"  # repository path
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"  # tag
    r"(?:@sha256:[a-f0-9]{64})?"
)
# A git ref or commit as `git check-ref-format` accepts it (the common rules; Vercel resolves it).
_REF_FORBIDDEN = re.compile(r"[\x00-\x20~^:?*\[\\\x7f]|\.\.|@\{|//")
_INFRA = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,127}")


def validate_version(component: str, version: str) -> str:
    """The version, stripped, if it is a valid one for `component`; a BadInput naming what is wrong otherwise."""
    if component not in COMPONENTS:
        raise BadInput(f"unknown component {component!r}; choose one of {', '.join(COMPONENTS)}")
    text = version.strip()
    if not text:
        raise BadInput(f"{component} needs a version")
    if component == "websocket-server":
        last = text.rsplit("/", 1)[-1]
        if not _IMAGE.fullmatch(text) or (":" not in last and "@" not in last):
            raise BadInput(f"websocket-server {text!r} is not a container image with a tag or digest, "
                           "e.g. us-central1-docker.pkg.dev/PROJECT/REPO/websocket-server:v2.0.0")
    elif component == "frontend":
        if _REF_FORBIDDEN.search(text) or text.startswith(("/", ".", "-")) or text.endswith(("/", ".", ".lock")):
            raise BadInput(f"frontend {text!r} is not a git ref (a branch, tag or commit such as release/2.0)")
    elif not _INFRA.fullmatch(text):
        raise BadInput(f"infrastructure {text!r} is not a version (letters, digits and . _ / + -, e.g. v1.4.0)")
    return text


def validate_versions(versions: Mapping[str, str]) -> dict[str, str]:
    """Every given component's version validated (empty ones left out); at least one is needed."""
    chosen = {c: validate_version(c, v) for c, v in versions.items() if v.strip()}
    if not chosen:
        raise BadInput(f"name at least one component version to deploy ({', '.join(COMPONENTS)})")
    return chosen


def recent_versions(registry: Registry, *, environment: str | None = None, limit: int = 5,
                    scanned: int = RECENT_SCANNED) -> dict[str, list[str]]:
    """Per component, the last `limit` distinct versions deployed (newest first), from the newest deployments.

    With no environment, every environment's deployments count: a version in staging is the usual
    candidate for production.
    """
    found: dict[str, list[str]] = {c: [] for c in COMPONENTS}
    for deployment in islice(registry.iter_deployments(environment=environment), scanned):
        for component, version in deployment.versions.items():
            seen = found.setdefault(component, [])
            if version not in seen and len(seen) < limit:
                seen.append(version)
        if all(len(v) >= limit for v in found.values()):
            break
    return found


@dataclass(frozen=True)
class StrategyChoice:
    kind: str
    mode: str  # auto or manual; only a strategy stepped by hand (a canary) offers manual

    @property
    def label(self) -> str:
        return strategy_for(self.kind).label(self.mode)


def strategy_choices() -> list[StrategyChoice]:
    """Every registered strategy an operator can pick for one deployment, in each of its modes.

    The ones stepped by hand come first: production's canary is the choice the wizard most often opens on.
    """
    ordered = sorted(registered(), key=lambda strategy: not strategy.steppable_by_hand)  # stable: kept in order
    return [StrategyChoice(strategy.kind, mode) for strategy in ordered for mode in strategy.modes()]


def default_strategy(config: EnvironmentConfig) -> StrategyChoice:
    """The environment's configured strategy (and, for one stepped by hand, its configured mode)."""
    return StrategyChoice(config.strategy.kind, mode_of(config.strategy))


def serving_revision(engine: Engine, environment: str) -> str | None:
    """The revision with most of the WebSocket server's traffic: the stable one a new deployment starts from."""
    config = engine.environment(environment)
    serving = engine.ports.cloudrun(environment).get_service(config.infrastructure.service_name)
    return max(serving.traffic, key=lambda r: serving.traffic[r]) if serving.traffic else None


def preview_plan(engine: Engine, environment: str, versions: Mapping[str, str], *, strategy: str | None = None,
                 mode: str | None = None) -> DeploymentPlan:
    """The stages deploy_to_environment would register now (it asks Cloud Run for the stable revision)."""
    checked = validate_versions(versions)
    stable = serving_revision(engine, environment) if "websocket-server" in checked else None
    return plan_for(engine.environment(environment), checked, stable=stable, strategy=strategy, mode=mode).plan


_AGO = re.compile(r"(\d+)\s*(m|min|h|d|w)")


def parse_since(text: str, now: datetime) -> datetime | None:
    """'' (no limit), '30m', '24h', '7d', '2w' before `now`, or an ISO date/time (UTC when no zone is given).

    A moment the calendar cannot hold once the duration is taken off or the zone converted (`99999999w`,
    `0001-01-01T00:00+01:00`) is bad input, not an overflow.
    """
    text = text.strip()
    if not text:
        return None
    shown = repr(text if len(text) <= 40 else text[:37] + "...")
    try:
        if match := _AGO.fullmatch(text):
            amount, unit = int(match[1]), match[2]
            size = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
            return now - timedelta(seconds=amount * size)
        moment = datetime.fromisoformat(text)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)
        if moment.tzinfo is not None:
            moment.astimezone(UTC)  # where the registry compares it: it must exist in UTC too
        return moment
    except ValueError:
        raise BadInput(f"since {shown} is neither a duration (30m, 24h, 7d, 2w) nor a date (2026-11-01)") from None
    except OverflowError:
        raise BadInput(f"since {shown} is outside the calendar (years 1 to 9999, in UTC)") from None
