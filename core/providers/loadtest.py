"""Synthetic load through a Flagger loadtester: its webhook API, asked to run `hey` against a URL for a while.

Flagger (github.com/fluxcd/flagger) gives canaries of quiet services traffic with `flagger-loadtester`: the
controller POSTs a CanaryWebhookPayload whose metadata says `type: cmd` and the `hey` command line, and the
load tester starts it and answers at once. This adapter speaks the same API, so a real loadtester works
unchanged; the sandbox serves one whose requests its Cloud Run counts.

`hey -q` is a rate per worker, so a rate is spread over workers of at most 10 requests per second each.
"""

from __future__ import annotations

import math
import shlex
from urllib.parse import urlsplit

import httpx

from core.errors import OperationFailed
from core.providers.http_retry import DEFAULT_POLICY, RetryPolicy, send

_PER_WORKER_RPS = 10.0


class LoadTestFailed(OperationFailed):
    """The load tester could not be asked to run (it refused, or never answered)."""


def hey_command(target_url: str, rps: float, seconds: float) -> str:
    """The `hey` command line that sends `rps` GETs per second to `target_url` for `seconds` (whole ms)."""
    if not rps > 0 or not seconds > 0:
        raise LoadTestFailed(f"a load test needs a positive rate and duration, got {rps} rps for {seconds} s")
    workers = max(1, math.ceil(rps / _PER_WORKER_RPS))
    duration = f"{math.ceil(seconds * 1000)}ms"
    return shlex.join(["hey", "-z", duration, "-q", f"{rps / workers:g}", "-c", str(workers), target_url])


class FlaggerLoadTester:
    """One loadtester webhook; `start` returns the command it accepted."""

    def __init__(self, url: str, client: httpx.Client, *, namespace: str = "ai-agent-network",
                 retry: RetryPolicy = DEFAULT_POLICY) -> None:
        self.url, self._client, self._namespace, self._retry = url, client, namespace, retry
        self._host = urlsplit(url).netloc or url

    def start(self, target_url: str, rps: float, seconds: float, *, name: str) -> str:
        cmd = hey_command(target_url, rps, seconds)
        payload = {"name": name, "namespace": self._namespace, "phase": "Progressing",
                   "metadata": {"type": "cmd", "cmd": cmd}}
        try:
            # Not idempotent: a run that may have started is not started twice (it would double the load).
            send(self._client, "POST", self.url, operation=f"load tester at {self._host}: starting {cmd}",
                 policy=self._retry, idempotent=False, json=payload)
        except OperationFailed as exc:
            raise LoadTestFailed(str(exc)) from exc
        return cmd
