"""Notifications over httpx, behind `Notifier`: Slack incoming webhooks (text plus blocks) and the
PagerDuty Events API v2 (alerts with trigger/acknowledge/resolve by dedup_key, change events on deploys).

A webhook URL and a routing key are secrets: they are never part of an error message, a log line or
a repr. Calls go through the shared retry policy (429 and 5xx retried, never 400).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from core.errors import BadInput
from core.model.notice import Link, Notice
from core.ports import Notifier
from core.providers.http_retry import DEFAULT_POLICY, RetryPolicy, hide_in_logs, send

__all__ = ["Link", "Notice", "Notifier", "PagerDutyNotifier", "SlackNotifier", "slack_blocks"]

PAGERDUTY_EVENTS = "https://events.pagerduty.com"
SEVERITIES = ("info", "warning", "error", "critical")
_SEVERITY_MARK = {"info": ":information_source:", "warning": ":warning:", "error": ":x:",
                  "critical": ":rotating_light:"}


def _check_severity(severity: str) -> None:
    if severity not in SEVERITIES:
        raise BadInput(f"Notification severity {severity!r} is not one of {', '.join(SEVERITIES)}.")


def _escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_blocks(notice: Notice) -> list[dict[str, Any]]:
    """Block Kit for a notice: the summary, its details as fields, its links and source as context."""
    mark = _SEVERITY_MARK.get(notice.severity, "")
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {
        "type": "mrkdwn", "text": _clip(f"{mark} *{_escape(notice.summary)}*".strip(), 3000)}}]
    fields = [{"type": "mrkdwn", "text": _clip(f"*{_escape(k)}*\n{_escape(v)}", 2000)}
              for k, v in notice.details.items()]
    # A section holds at most 10 fields.
    blocks += [{"type": "section", "fields": fields[i:i + 10]} for i in range(0, len(fields), 10)]
    context = [{"type": "mrkdwn", "text": _clip(f"<{link.href}|{_escape(link.text or link.href)}>", 3000)}
               for link in notice.links[:9]]
    context.append({"type": "mrkdwn", "text": _clip(f"from {_escape(notice.source)}", 3000)})
    blocks.append({"type": "context", "elements": context})
    return blocks


class SlackNotifier:
    """Posts to one Slack incoming webhook."""

    def __init__(self, webhook_url: str, client: httpx.Client | None = None,
                 retry: RetryPolicy = DEFAULT_POLICY) -> None:
        if not webhook_url.startswith(("https://", "http://")):
            raise BadInput("The Slack webhook URL is not an http(s) URL; check the secret it is read from.")
        self._url = webhook_url
        self._owns_client = client is None
        self._client = client or httpx.Client()
        self._retry = retry
        hide_in_logs(webhook_url)

    def __repr__(self) -> str:
        return "SlackNotifier(webhook_url='***')"

    def post(self, text: str, blocks: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Post a message; `text` is also the fallback shown in notifications when there are blocks."""
        payload: dict[str, Any] = {"text": text}
        if blocks:
            payload["blocks"] = list(blocks)
        # Not idempotent: a post that may have arrived is not sent again (it would show twice).
        send(self._client, "POST", self._url, operation="Slack: posting a message to the webhook",
             policy=self._retry, idempotent=False, secrets=(self._url,), json=payload)

    def notify(self, notice: Notice) -> None:
        _check_severity(notice.severity)
        self.post(notice.summary, slack_blocks(notice))

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


def _links(links: Sequence[Link]) -> list[dict[str, str]]:
    return [{"href": link.href, "text": link.text} if link.text else {"href": link.href} for link in links]


class PagerDutyNotifier:
    """Sends alert and change events for one PagerDuty service integration (its routing key)."""

    def __init__(self, events_url: str, routing_key: str,
                 client: httpx.Client | None = None, retry: RetryPolicy = DEFAULT_POLICY) -> None:
        if len(routing_key) != 32:
            raise BadInput(f"The PagerDuty routing key must be 32 characters long (the configured one has "
                           f"{len(routing_key)}); check the secret it is read from.")
        # Accept the enqueue URL itself as well as the API's base address.
        self._base = events_url.rstrip("/").removesuffix("/v2/enqueue")
        self._key = routing_key
        self._owns_client = client is None
        self._client = client or httpx.Client()
        self._retry = retry

    def __repr__(self) -> str:
        return f"PagerDutyNotifier(events_url={self._base!r}, routing_key='***')"

    def _enqueue(self, path: str, body: dict[str, Any], operation: str, idempotent: bool) -> dict[str, Any]:
        answer = send(self._client, "POST", f"{self._base}{path}", operation=f"PagerDuty: {operation}",
                      policy=self._retry, idempotent=idempotent, secrets=(self._key,),
                      json={"routing_key": self._key, **body})
        acknowledged: dict[str, Any] = answer.json()  # PagerDuty's JSON answer: status, message, dedup_key
        return acknowledged

    def trigger(self, dedup_key: str | None, summary: str, source: str, severity: str = "error", *,
                component: str | None = None, group: str | None = None, event_class: str | None = None,
                custom_details: Mapping[str, Any] | None = None, links: Sequence[Link] = (),
                timestamp: datetime | None = None) -> str:
        """Open (or add to) the alert `dedup_key`; returns the dedup key to acknowledge/resolve it with."""
        _check_severity(severity)
        # A key chosen here makes the trigger idempotent, so it is safe to resend after a lost answer.
        key = dedup_key or uuid.uuid4().hex
        payload: dict[str, Any] = {"summary": _clip(summary, 1024), "source": source, "severity": severity}
        optional = {"component": component, "group": group, "class": event_class,
                    "custom_details": dict(custom_details) if custom_details else None,
                    "timestamp": timestamp.isoformat() if timestamp else None}
        payload.update({k: v for k, v in optional.items() if v is not None})
        body: dict[str, Any] = {"event_action": "trigger", "dedup_key": key, "payload": payload}
        if links:
            body["links"] = _links(links)
        answer = self._enqueue("/v2/enqueue", body, f"triggering alert {key}", idempotent=True)
        return str(answer.get("dedup_key") or key)

    def acknowledge(self, dedup_key: str) -> None:
        self._enqueue("/v2/enqueue", {"event_action": "acknowledge", "dedup_key": dedup_key},
                      f"acknowledging alert {dedup_key}", idempotent=True)

    def resolve(self, dedup_key: str) -> None:
        self._enqueue("/v2/enqueue", {"event_action": "resolve", "dedup_key": dedup_key},
                      f"resolving alert {dedup_key}", idempotent=True)

    def change_event(self, summary: str, source: str | None = None, links: Sequence[Link] = (),
                     custom_details: Mapping[str, Any] | None = None,
                     timestamp: datetime | None = None) -> None:
        """Record a change (a deploy, a promotion, a rollback) on the service's timeline."""
        payload: dict[str, Any] = {"summary": _clip(summary, 1024)}
        if source:
            payload["source"] = source
        if custom_details:
            payload["custom_details"] = dict(custom_details)
        if timestamp:
            payload["timestamp"] = timestamp.isoformat()
        body: dict[str, Any] = {"payload": payload}
        if links:
            body["links"] = _links(links)
        self._enqueue("/v2/change/enqueue", body, "sending a change event", idempotent=False)

    def notify(self, notice: Notice) -> None:
        """As `notice.pagerduty` says; "auto": errors and critical notices page (an alert), info and warnings go
        on the change timeline."""
        _check_severity(notice.severity)
        if notice.pagerduty == "none":
            return
        if notice.pagerduty == "resolve":
            if notice.dedup_key:
                self.resolve(notice.dedup_key)
            return
        if notice.pagerduty == "page" or notice.severity in ("error", "critical"):
            self.trigger(notice.dedup_key, notice.summary, notice.source, notice.severity,
                         custom_details=notice.details, links=notice.links)
        else:
            self.change_event(notice.summary, notice.source, notice.links, notice.details)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
