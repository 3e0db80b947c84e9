"""The sandbox's stand-in for Monitoring's alert evaluation: incidents open and close on the sandbox clock.

Like Google, every enabled policy is evaluated about once a minute (of sandbox time; a frozen clock is evaluated
when a test moves it, or on `evaluate()`): a condition must hold for its duration, no data is not a violation
(the rule is core.model.alerts', run by core.providers.alert_policies.evaluate over the sandbox's own query
engine). When a policy starts to fire an incident opens and each of its notification channels is told; when it
stops, the incident closes and they are told again: a `slack` channel posts to the sandbox's Slack sink, a
`pagerduty` channel sends a PagerDuty Events v2 trigger, then a resolve with the same dedup key (the
incident's id). A delivery that fails is kept on the incident, never fatal to the evaluation.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from google.cloud import monitoring_v3

from core.providers.alert_policies import evaluate
from sandbox.monitoring_alerts import AlertStore

Answer = Callable[[str, monitoring_v3.ListTimeSeriesRequest], list[monitoring_v3.TimeSeries]]
EVALUATION_PERIOD_S = 60.0


@dataclass
class Incident:
    id: str
    policy: str
    display_name: str
    summary: str
    opened_at: float
    closed_at: float | None = None
    failures: list[str] = field(default_factory=list)


class AlertEvaluator:
    """Evaluates the store's enabled policies and keeps their incidents; `start()` runs it in a thread."""

    def __init__(self, store: AlertStore, answer: Answer, clock: Callable[[], float]) -> None:
        self.store = store
        self._answer = answer
        self._clock = clock
        self._lock = threading.Lock()
        self.incidents: list[Incident] = []
        self.slack_url = ""
        self.pagerduty_url = ""
        self.listeners: list[Callable[[], None]] = []
        self._last = -1.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open_incidents(self) -> list[Incident]:
        with self._lock:
            return [i for i in self.incidents if i.closed_at is None]

    def evaluate(self) -> list[Incident]:
        """Evaluate every enabled policy now; the incidents opened or closed by it."""
        with self._lock:
            now = self._clock()
            self._last = now
            when = datetime.fromtimestamp(now, UTC)
            changed: list[Incident] = []
            for policy in list(self.store.policies.values()):
                project = policy.name.split("/")[1]
                open_ = next((i for i in self.incidents if i.policy == policy.name and i.closed_at is None), None)
                fired = evaluate(policy, lambda r, p=project: self._answer(p, r), project, when) \
                    if policy.enabled is None or policy.enabled else None
                if fired is not None and open_ is None:
                    incident = Incident(uuid.uuid4().hex, policy.name, policy.display_name, fired.describe(), now)
                    self.incidents.append(incident)
                    self._deliver(policy, incident, opening=True)
                    changed.append(incident)
                elif fired is None and open_ is not None:
                    open_.closed_at = now
                    self._deliver(policy, open_, opening=False)
                    changed.append(open_)
        if changed:
            for listener in list(self.listeners):
                listener()
        return changed

    def _deliver(self, policy: monitoring_v3.AlertPolicy, incident: Incident, opening: bool) -> None:
        for name in policy.notification_channels:
            channel = self.store.channels.get(name)
            if channel is None or not (channel.enabled is None or channel.enabled):
                continue
            secret = self.store.secrets.get(name, {})
            try:
                if channel.type_ == "slack" and self.slack_url:
                    verb = "opened" if opening else "closed"
                    text = f"Incident {verb} for {incident.display_name}: {incident.summary}"
                    httpx.post(self.slack_url, json={"text": text}, timeout=5.0).raise_for_status()
                elif channel.type_ == "pagerduty" and self.pagerduty_url:
                    event: dict[str, Any] = {"routing_key": secret.get("service_key", ""),
                                             "dedup_key": incident.id,
                                             "event_action": "trigger" if opening else "resolve"}
                    if opening:
                        event["payload"] = {"summary": f"{incident.display_name}: {incident.summary}"[:1024],
                                            "source": "Cloud Monitoring (sandbox)", "severity": "critical"}
                    httpx.post(f"{self.pagerduty_url.rstrip('/')}/v2/enqueue", json=event,
                               timeout=5.0).raise_for_status()
            except httpx.HTTPError as exc:
                incident.failures.append(f"{channel.type_} {name}: {exc}")

    def start(self, poll_s: float = 1.0) -> None:
        """Evaluate whenever a minute of sandbox time has passed since the last evaluation."""
        def loop() -> None:
            while not self._stop.wait(poll_s):
                if self._clock() - self._last >= EVALUATION_PERIOD_S and self.store.policies:
                    self.evaluate()

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="alert-evaluator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def to_dict(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(i) for i in self.incidents]

    def load(self, data: list[dict[str, Any]] | None) -> None:
        with self._lock:
            self.incidents = [Incident(**d) for d in data or []]
