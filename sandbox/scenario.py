"""Sandbox scenarios: data files that say how new revisions behave and which faults hit an environment.

A scenario is a TOML file in `sandbox/scenarios/`, validated here. Revisions created while a
scenario is active take its `new_revision` behaviour for life (a switch with `--now` also gives it to the
revisions serving at the switch, until the next switch: timeline.py); `traffic` and `environment` apply to
every service from the moment the scenario is switched on (the sandbox keeps the switch history, so
metrics of past windows stay the same).
"""

from __future__ import annotations

import math
import tomllib
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import BadInput

SCENARIO_DIR = Path(__file__).with_name("scenarios")
_Z99 = 2.3263478740408408  # standard normal quantile of 0.99


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrafficModel(_Strict):
    """Requests per second reaching a service: a daily sine around `rps`, with seeded noise per minute."""

    rps: float = Field(20.0, gt=0, description="mean requests per second per service")
    daily_amplitude: float = Field(0.3, ge=0, lt=1, description="relative swing of the daily pattern")
    noise: float = Field(0.1, ge=0, le=1, description="relative standard deviation of per-minute noise")


class RevisionBehaviour(_Strict):
    """How one revision serves: error rates, latency (lognormal from p50 and p99) and start-up."""

    error_rate_5xx: float = Field(0.002, ge=0, le=1)
    error_rate_4xx: float = Field(0.01, ge=0, le=1)
    latency_p50_ms: float = Field(35.0, gt=0)
    latency_p99_ms: float = Field(180.0, gt=0)
    ready_after_s: float = Field(8.0, ge=0, description="sandbox seconds from creation to Ready")
    never_ready: bool = False
    startup_timeout_s: float = Field(240.0, gt=0, description="when a never-ready revision is declared failed")
    concurrency: int = Field(80, ge=1, le=1000)

    @model_validator(mode="after")
    def _p99_not_below_p50(self) -> RevisionBehaviour:
        if self.latency_p99_ms < self.latency_p50_ms:
            raise ValueError("latency_p99_ms must not be below latency_p50_ms")
        return self

    @property
    def lognormal(self) -> tuple[float, float]:
        """(mu, sigma) of the latency lognormal in milliseconds."""
        mu = math.log(self.latency_p50_ms)
        return mu, (math.log(self.latency_p99_ms) - mu) / _Z99

    @property
    def mean_latency_ms(self) -> float:
        mu, sigma = self.lognormal
        return math.exp(mu + sigma * sigma / 2)


class EnvironmentFaults(_Strict):
    """Faults on every revision of every environment while the scenario is active."""

    unreachable: bool = Field(False, description="network: the region's services answer 503")
    redis_down: bool = Field(False, description="storage: /readyz fails, WebSocket messages are not delivered")
    instances_zero: bool = Field(False, description="compute: no instance runs, every request is a 503")
    firebase_down: bool = Field(False, description="Firebase Auth unreachable from the server: /readyz says so, 503")
    calendar_down: bool = Field(False, description="Google Calendar API unreachable: /readyz says degraded")
    extra_5xx_rate: float = Field(0.0, ge=0, le=1)
    extra_latency_ms: float = Field(0.0, ge=0)


class Scenario(_Strict):
    name: str
    description: str
    traffic: TrafficModel = TrafficModel()
    new_revision: RevisionBehaviour = RevisionBehaviour()
    environment: EnvironmentFaults = EnvironmentFaults()


BASELINE = RevisionBehaviour()


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def load_scenario_file(path: Path) -> Scenario:
    """Read and validate one scenario file; any problem is a BadInput naming the file and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"Scenario file {path} cannot be read: {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"Scenario file {path} is not UTF-8 text (byte {exc.start + 1}).") from None
    except RecursionError:
        raise BadInput(f"Scenario file {path} is not valid TOML: it nests too deep.") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"Scenario file {path} is not valid TOML: {exc}.") from None
    if "name" in data:
        raise BadInput(f"Scenario file {path}: field 'name' is not allowed, the file name is the scenario name.")
    try:
        return Scenario.model_validate({"name": path.stem, **data})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise BadInput(f"Scenario file {path}: field {field}: {err['msg']}.") from None


@cache
def _load_builtin(name: str) -> Scenario:
    return load_scenario_file(SCENARIO_DIR / f"{name}.toml")


def load_scenario(name: str) -> Scenario:
    """A built-in scenario by name (cached: the files ship with the package)."""
    if name not in scenario_names():
        raise BadInput(f"Unknown sandbox scenario {name!r}; known scenarios: {', '.join(scenario_names())}.")
    return _load_builtin(name)
