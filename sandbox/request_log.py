"""The sandbox's log of mutating Cloud Run calls: what each PATCH or POST asked for, when, and the answer.

A crash test reads it (`GET /sandbox/requests` on the control API) to prove from the cloud's side that
a restarted console never sent a traffic split twice and that every split it sent summed to 100.
Every non-GET request to the Cloud Run API is logged once it is answered, refused ones and injected
faults included (`status` tells them apart). The log lives in memory for the life of the sandbox
process (a restarted sandbox starts an empty log) and keeps the newest `limit` entries.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

LATEST = "LATEST"  # the key of a LATEST-type traffic target, which names no revision


@dataclass(frozen=True)
class LoggedRequest:
    """One mutating call. `split` is the body's traffic by revision (None when the body set no traffic)."""

    seq: int
    at: float  # sandbox time of the answer
    rpc: str  # UpdateService, CreateService...
    path: str
    status: int  # HTTP status of the answer
    split: dict[str, int] | None
    tags: dict[str, str] = field(default_factory=dict)  # tag -> revision (LATEST for a LATEST target)
    template_revision: str = ""  # template.revision as sent: unchanged on a traffic-only PATCH
    image: str = ""


def _body_fields(raw: bytes) -> dict[str, Any]:
    """Split, tags, revision and image of a Service body; a body that is not one logs as empty."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {"split": None}
    if not isinstance(body, dict):
        return {"split": None}
    template = body.get("template") if isinstance(body.get("template"), dict) else {}
    containers = template.get("containers") or [{}]
    image = containers[0].get("image", "") if isinstance(containers[0], dict) else ""
    traffic = body.get("traffic")
    split: dict[str, int] | None = None
    tags: dict[str, str] = {}
    if isinstance(traffic, list):
        split = {}
        for target in (t for t in traffic if isinstance(t, dict)):
            revision = str(target.get("revision") or LATEST)
            percent = int(target.get("percent", 0) or 0)
            if percent:
                split[revision] = split.get(revision, 0) + percent
            if target.get("tag"):
                tags[str(target["tag"])] = revision
    return {"split": split, "tags": tags, "template_revision": str(template.get("revision", "")),
            "image": str(image)}


class RequestLog:
    """Thread-safe, bounded, append-only; `since(seq)` returns the entries after `seq`, oldest first."""

    def __init__(self, limit: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LoggedRequest] = deque(maxlen=limit)
        self._seq = 0

    def record(self, at: float, rpc: str, path: str, status: int, body: bytes) -> LoggedRequest:
        with self._lock:
            self._seq += 1
            entry = LoggedRequest(seq=self._seq, at=at, rpc=rpc, path=path, status=status, **_body_fields(body))
            self._entries.append(entry)
            return entry

    def since(self, seq: int = 0) -> list[LoggedRequest]:
        with self._lock:
            return [e for e in self._entries if e.seq > seq]

    def to_dict(self, seq: int = 0) -> dict[str, Any]:
        """The answer of `GET /sandbox/requests?since=seq`; `dropped` counts entries the limit let go."""
        with self._lock:
            entries = [asdict(e) for e in self._entries if e.seq > seq]
            dropped = self._seq - len(self._entries)
        return {"requests": entries, "last_seq": self._seq, "dropped": dropped}
