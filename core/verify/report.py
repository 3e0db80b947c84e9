"""What verification is about (VerifyTarget) and what it found (CheckResult, VerificationReport).

A report is shown on screens, printed as JSON by the CLI and stored in the registry, so it holds
numbers, names and URLs only: never an environment variable's value and never a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from core.config import EnvironmentConfig
from core.errors import BadInput
from core.model.service import RevisionState

Outcome = Literal["pass", "fail", "no_data", "skipped"]
OUTCOMES: tuple[Outcome, ...] = ("pass", "fail", "no_data", "skipped")


@dataclass(frozen=True)
class RevisionRef:
    """Which revision was verified, and where: the part of a target a report keeps."""

    environment: str
    service: str
    revision: str
    url: str

    def to_dict(self) -> dict[str, str]:
        return {"environment": self.environment, "service": self.service, "revision": self.revision,
                "url": self.url}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RevisionRef:
        return cls(environment=str(data["environment"]), service=str(data["service"]),
                   revision=str(data["revision"]), url=str(data["url"]))


@dataclass(frozen=True)
class VerifyTarget:
    """A revision to verify: its environment, service, name, own (tag) URL, config and plain env vars.

    `env_vars` are the revision's plain environment variables when known; they are read by the
    security check only and kept out of repr and of every report.
    """

    environment: str
    service: str
    revision: str
    url: str
    config: EnvironmentConfig = field(repr=False, compare=False)
    env_vars: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_revision(cls, config: EnvironmentConfig, revision: RevisionState,
                      env_vars: Mapping[str, str] | None = None) -> VerifyTarget:
        """The target for a revision as the Cloud Run provider reports it (its URL is its tag URL); its plain
        environment is the revision's own unless `env_vars` is given."""
        plain = revision.plain_env if env_vars is None else env_vars
        return cls(environment=config.name, service=config.infrastructure.service_name, revision=revision.name,
                   url=revision.url, config=config, env_vars=dict(plain))

    @property
    def ref(self) -> RevisionRef:
        return RevisionRef(self.environment, self.service, self.revision, self.url)


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. `summary` is one clause with numbers (no final period); `details` is JSON-safe."""

    name: str
    outcome: Outcome
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "outcome": self.outcome, "summary": self.summary, "details": dict(self.details)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        outcome = data.get("outcome")
        if outcome not in OUTCOMES:
            raise BadInput(f"Verification result {data.get('name')!r} has outcome {outcome!r}; "
                           f"expected one of {', '.join(OUTCOMES)}.")
        return cls(name=str(data["name"]), outcome=outcome, summary=str(data.get("summary", "")),
                   details=dict(data.get("details") or {}))


@dataclass(frozen=True)
class VerificationReport:
    """Every check run on one revision. It passes when each required check passed (no_data is not a pass)."""

    target: RevisionRef
    results: list[CheckResult]
    started_at: datetime
    duration_s: float
    required: tuple[str, ...] = ()

    def result(self, name: str) -> CheckResult | None:
        return next((r for r in self.results if r.name == name), None)

    @property
    def passed(self) -> bool:
        return all((r := self.result(name)) is not None and r.passed for name in self.required)

    @property
    def failed_checks(self) -> list[str]:
        """Checks whose outcome is "fail" (no_data and skipped are listed in the summary, not here)."""
        return [r.name for r in self.results if r.outcome == "fail"]

    @property
    def summary(self) -> str:
        """One line: "4/5 checks passed; websocket: 3 of 20 messages lost (15 %)"."""
        passed = sum(r.passed for r in self.results)
        parts = [f"{passed}/{len(self.results)} checks passed"]
        for r in self.results:
            if not r.passed:
                label = r.name if r.name in self.required else f"{r.name} (not required)"
                outcome = "" if r.outcome == "fail" else r.outcome.replace("_", " ") + ", "
                parts.append(f"{label}: {outcome}{r.summary}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.to_dict(),
            "passed": self.passed,
            "summary": self.summary,
            "required": list(self.required),
            "failed_checks": self.failed_checks,
            "started_at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerificationReport:
        """A report from `to_dict()` (derived keys such as passed and summary are recomputed, not read)."""
        try:
            return cls(target=RevisionRef.from_dict(data["target"]),
                       results=[CheckResult.from_dict(r) for r in data["results"]],
                       started_at=datetime.fromisoformat(data["started_at"]),
                       duration_s=float(data["duration_s"]), required=tuple(data.get("required", ())))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"A stored verification report is malformed ({type(exc).__name__}: {exc}).") from None
