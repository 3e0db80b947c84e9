"""The engine's probes as the sandbox's Cloud Monitoring counts them: each one a real request its revision served.

On Google Cloud the engine's probes (core.providers.probes) are requests to a revision's tag URL, and Cloud Run
counts every request it serves in run.googleapis.com/request_count and request_latencies, labelled by revision
and response code class; nothing in those labels names a user agent, so Monitoring cannot leave them out. The
sandbox does the same: a revision's server records each GET of "/" marked as a probe (`X-Opsconsole-Probe`) at
the sandbox time it was answered, with its status class and the latency it served, and `window` adds them to
that revision's simulated traffic. The probes are few (tens a window on each side, during analysis only).

Other real requests to the revision servers (the verifier's smoke bursts, health checks) stay out of the
simulated counts, as before: they were modelled as not part of the served traffic long before this log.
Kept in memory for the sandbox process's life, the newest `limit` per revision.
"""

from __future__ import annotations

import threading
from collections import deque

from core.providers.probes import PROBE_HEADER
from sandbox.traffic import RevisionTraffic

__all__ = ["PROBE_HEADER", "ProbeLog"]


class ProbeLog:
    """Probe requests per revision (full name): (sandbox time, status class, served latency in ms)."""

    def __init__(self, limit: int = 20_000) -> None:
        self._limit = limit
        self._served: dict[str, deque[tuple[float, str, float]]] = {}
        self._lock = threading.Lock()

    def add(self, revision_full: str, at: float, status: int, latency_ms: float) -> None:
        kind = f"{status // 100}xx"
        with self._lock:
            self._served.setdefault(revision_full, deque(maxlen=self._limit)).append((at, kind, latency_ms))

    def window(self, service_full: str, start: float, end: float) -> dict[str, RevisionTraffic]:
        """Per revision (short name) of the service: the probes answered in [start, end)."""
        prefix = service_full + "/revisions/"
        with self._lock:
            served = {name: list(entries) for name, entries in self._served.items() if name.startswith(prefix)}
        out: dict[str, RevisionTraffic] = {}
        for name, entries in served.items():
            inside = [(kind, ms) for at, kind, ms in entries if start <= at < end]
            if not inside:
                continue
            traffic = out[name.removeprefix(prefix)] = RevisionTraffic()
            for kind, ms in inside:
                traffic.codes[kind] = traffic.codes.get(kind, 0) + 1
                traffic.latency.add(ms)
        return out
