"""The sandbox's Slack incoming-webhook and PagerDuty Events API v2 sinks: they validate like the real
services, answer like them, and record every request they receive (for tests and the console's demo).

Routes: POST /slack/{path} (Slack: 200 `ok`, 400 `invalid_payload`/`no_text`/`invalid_blocks`),
POST /v2/enqueue (alert events) and POST /v2/change/enqueue (change events), both 202 on success
and 400 `{"status": "invalid event", "errors": [...]}` on a bad event.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from sandbox.vercel_state import HttpFaults

SEVERITIES = ("critical", "error", "warning", "info")
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
_TEXT_TYPES = ("plain_text", "mrkdwn")
_BLOCK_TYPES = frozenset({"section", "divider", "header", "context", "actions", "image", "input",
                          "rich_text", "file", "video", "markdown"})


@dataclass(frozen=True)
class SinkRecord:
    """One request a sink received: its channel, path, body (parsed JSON, or raw text) and our answer."""

    channel: str  # "slack", "pagerduty" or "pagerduty-change"
    path: str
    body: Any
    status: int
    answer: str
    at: float


class SinkStore:
    """Everything the sinks received, plus the alert state PagerDuty would keep per dedup_key."""

    def __init__(self, faults: HttpFaults | None = None, clock: Callable[[], float] = time.time) -> None:
        self.faults = faults or HttpFaults()
        self.clock = clock
        self._lock = threading.Lock()
        self._records: list[SinkRecord] = []
        self._alerts: dict[str, str] = {}
        self.listeners: list[Callable[[], None]] = []  # told after each request (the sandbox saves its state)

    def record(self, channel: str, path: str, body: Any, status: int, answer: str) -> None:
        with self._lock:
            self._records.append(SinkRecord(channel, path, body, status, answer, self.clock()))
        for listener in list(self.listeners):
            listener()

    def to_dict(self) -> dict[str, Any]:
        """The newest records and the alert states, for the state file: without routing keys, and the Slack
        webhook's secret path segment masked (a state file holds no secret)."""
        with self._lock:
            records = self._records[-KEPT:]
            return {"records": [{"channel": r.channel, "path": _masked_path(r.path), "body": _without_keys(r.body),
                                 "status": r.status, "answer": r.answer, "at": r.at} for r in records],
                    "alerts": dict(self._alerts)}

    def load(self, data: dict[str, Any] | None) -> None:
        if not data:
            return
        with self._lock:
            self._records = [SinkRecord(**r) for r in data.get("records", [])]
            self._alerts = dict(data.get("alerts", {}))

    def received(self, channel: str | None = None) -> list[SinkRecord]:
        """Every request, accepted or not (injected faults included), oldest first."""
        with self._lock:
            return [r for r in self._records if channel is None or r.channel == channel]

    def accepted(self, channel: str) -> list[Any]:
        return [r.body for r in self.received(channel) if 200 <= r.status < 300]

    def slack_messages(self) -> list[dict[str, Any]]:
        return self.accepted("slack")

    def pagerduty_events(self) -> list[dict[str, Any]]:
        return self.accepted("pagerduty")

    def change_events(self) -> list[dict[str, Any]]:
        return self.accepted("pagerduty-change")

    def alert_status(self, dedup_key: str) -> str | None:
        """`triggered`, `acknowledged` or `resolved`, or None if no alert ever had this key."""
        with self._lock:
            return self._alerts.get(dedup_key)

    def apply_event(self, action: str, dedup_key: str) -> None:
        with self._lock:
            current = self._alerts.get(dedup_key)
            open_alert = current in ("triggered", "acknowledged")
            if action == "trigger":
                # A trigger on an acknowledged alert adds to it without re-notifying.
                self._alerts[dedup_key] = current if current == "acknowledged" else "triggered"
            elif open_alert:
                # Acknowledge/resolve of a key with no open alert is dropped, as PagerDuty does.
                self._alerts[dedup_key] = "acknowledged" if action == "acknowledge" else "resolved"

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._alerts.clear()


SINK_STORE = web.AppKey("sink_store", SinkStore)
KEPT = 2000  # records kept in the state file, newest


def _masked_path(path: str) -> str:
    head = path.rpartition("/")[0]
    return f"{head}/****" if path.startswith("/slack/") and head else path


def _without_keys(body: Any) -> Any:
    return {k: v for k, v in body.items() if k != "routing_key"} if isinstance(body, dict) else body


def notifications(records: list[SinkRecord]) -> list[dict[str, Any]]:
    """What `opsconsole sandbox notifications` shows, oldest first: time (ISO, sandbox clock), channel, action
    (message, trigger, acknowledge, resolve or change), dedup key, summary and the sink's HTTP answer."""
    from datetime import UTC

    summaries: dict[str, str] = {}  # a resolve carries no summary: the trigger's, by dedup key
    rows = []
    for record in records:
        body = record.body if isinstance(record.body, dict) else {}
        payload = body.get("payload") if isinstance(body.get("payload"), dict) else {}
        key = str(body.get("dedup_key") or "")
        if record.channel == "slack":
            action, summary = "message", str(body.get("text") or record.body)
        elif record.channel == "pagerduty":
            action = str(body.get("event_action") or "")
            summary = str(payload.get("summary") or summaries.get(key, ""))
            if key and payload.get("summary"):
                summaries[key] = summary
        else:
            action, summary = "change", str(payload.get("summary") or "")
        rows.append({"time": datetime.fromtimestamp(record.at, UTC).isoformat(), "channel": record.channel,
                     "action": action, "dedup_key": key, "summary": summary.strip().splitlines()[0][:300]
                     if summary.strip() else "", "status": record.status})
    return rows


# -- Slack --------------------------------------------------------------------------------------

def _text_object_error(obj: Any, where: str, limit: int, plain_only: bool = False) -> str | None:
    allowed = ("plain_text",) if plain_only else _TEXT_TYPES
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return f"{where} must be a text object of type {' or '.join(allowed)}"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return f"{where}.text must be a non-empty string"
    if len(text) > limit:
        return f"{where}.text must be at most {limit} characters"
    return None


def _block_error(block: Any, index: int) -> str | None:
    where = f"blocks[{index}]"
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return f"{where} must be an object with a type"
    kind = block["type"]
    if kind not in _BLOCK_TYPES:
        return f"{where} has unknown type {kind!r}"
    if kind == "header":
        return _text_object_error(block.get("text"), f"{where}.text", 150, plain_only=True)
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return f"{where} needs text or fields"
        if "text" in block and (err := _text_object_error(block["text"], f"{where}.text", 3000)):
            return err
        fields = block.get("fields", [])
        if not isinstance(fields, list) or len(fields) > 10:
            return f"{where}.fields must be a list of at most 10 text objects"
        for i, item in enumerate(fields):
            if err := _text_object_error(item, f"{where}.fields[{i}]", 2000):
                return err
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return f"{where}.elements must list 1 to 10 elements"
        for i, item in enumerate(elements):
            if isinstance(item, dict) and item.get("type") == "image":
                continue
            if err := _text_object_error(item, f"{where}.elements[{i}]", 3000):
                return err
    return None


def slack_payload_error(body: Any) -> tuple[str, str | None]:
    """Slack's error code for a webhook payload ('' when valid) and, for us, what exactly is wrong."""
    if not isinstance(body, dict):
        return "invalid_payload", "the payload is not a JSON object"
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return "no_text", "text is missing or empty"
    if len(text) > 40_000:
        return "msg_too_long", "text is longer than 40000 characters"
    if "blocks" in body:
        blocks = body["blocks"]
        if not isinstance(blocks, list) or len(blocks) > 50:
            return "invalid_blocks", "blocks must be a list of at most 50 blocks"
        for index, block in enumerate(blocks):
            if err := _block_error(block, index):
                return "invalid_blocks", err
    return "", None


# -- PagerDuty ----------------------------------------------------------------------------------

def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _common_errors(body: dict[str, Any]) -> list[str]:
    errors = []
    key = body.get("routing_key")
    if not isinstance(key, str) or not key.strip():
        errors.append("'routing_key' is missing or blank")
    elif len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    links = body.get("links", [])
    if not isinstance(links, list) or not all(isinstance(x, dict) and isinstance(x.get("href"), str)
                                              for x in links):
        errors.append("'links' must be a list of objects with an 'href'")
    return errors


def _payload_errors(payload: Any, need_source_severity: bool) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or is not an object"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > 1024:
        errors.append("'payload.summary' is longer than 1024 characters")
    source = payload.get("source")
    if need_source_severity and (not isinstance(source, str) or not source.strip()):
        errors.append("'payload.source' is missing or blank")
    if need_source_severity and payload.get("severity") not in SEVERITIES:
        errors.append(f"'payload.severity' is invalid (must be one of: {', '.join(SEVERITIES)})")
    if "timestamp" in payload and not _is_timestamp(payload["timestamp"]):
        errors.append("'payload.timestamp' is not an ISO 8601 timestamp")
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict | str):
        errors.append("'payload.custom_details' must be an object")
    return errors


def alert_event_errors(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["Event object is not a JSON object"]
    errors = _common_errors(body)
    action = body.get("event_action")
    if action not in EVENT_ACTIONS:
        errors.append(f"'event_action' is invalid (must be one of: {', '.join(EVENT_ACTIONS)})")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        errors += _payload_errors(body.get("payload"), need_source_severity=True)
    return errors


def change_event_errors(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["Event object is not a JSON object"]
    return _common_errors(body) + _payload_errors(body.get("payload"), need_source_severity=False)


# -- the app ------------------------------------------------------------------------------------

def _parse(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _fault(store: SinkStore, channel: str) -> web.Response | None:
    status = store.faults.draw()
    if status is None:
        return None
    if channel == "slack":
        response = web.Response(status=status, text="rate_limited" if status == 429 else "internal_error")
    else:
        message = "throttle event" if status == 429 else "internal error"
        response = web.json_response({"status": message, "message": "Injected failure"}, status=status)
    if status == 429:
        response.headers["Retry-After"] = f"{store.faults.retry_after:g}"
    return response


async def slack_webhook(request: web.Request) -> web.Response:
    store = request.app[SINK_STORE]
    raw = await request.read()
    body = _parse(raw)
    response = _fault(store, "slack")
    if response is None:
        code, _ = slack_payload_error(body)
        response = web.Response(status=400 if code else 200, text=code or "ok", content_type="text/html")
    store.record("slack", request.path, body, response.status, response.text or "")
    return response


async def _pagerduty(request: web.Request, channel: str) -> web.Response:
    store = request.app[SINK_STORE]
    body = _parse(await request.read())
    response = _fault(store, channel)
    if response is None:
        errors = alert_event_errors(body) if channel == "pagerduty" else change_event_errors(body)
        if errors:
            response = web.json_response({"status": "invalid event", "message": "Event object is invalid",
                                          "errors": errors}, status=400)
        elif channel == "pagerduty":
            dedup_key = body.get("dedup_key") or uuid.uuid4().hex
            store.apply_event(body["event_action"], dedup_key)
            response = web.json_response({"status": "success", "message": "Event processed",
                                          "dedup_key": dedup_key}, status=202)
        else:
            response = web.json_response({"status": "success", "message": "Change event processed"},
                                         status=202)
    store.record(channel, request.path, body, response.status, response.text or "")
    return response


async def pagerduty_enqueue(request: web.Request) -> web.Response:
    return await _pagerduty(request, "pagerduty")


async def pagerduty_change_enqueue(request: web.Request) -> web.Response:
    return await _pagerduty(request, "pagerduty-change")


def sinks_app(store: SinkStore) -> web.Application:
    """Slack webhook and PagerDuty Events API v2 sinks recording into `store`; serve with `ServedApp`."""
    app = web.Application()
    app[SINK_STORE] = store
    app.router.add_post("/slack/{path:.+}", slack_webhook)
    app.router.add_post("/v2/enqueue", pagerduty_enqueue)
    app.router.add_post("/v2/change/enqueue", pagerduty_change_enqueue)
    return app
