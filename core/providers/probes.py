"""The engine's probes over httpx: a short burst of real GETs to each revision's own (tag) URL, interleaved.

Why probes and not the load tester's results: a Flagger load tester (core.providers.loadtest) runs `hey` in the
background and reports nothing back (its webhook answers at once, `hey`'s summary stays in its log), so what its
requests saw reaches the engine only through Cloud Monitoring, late. A burst the engine sends itself is read
the moment it ends, costs a few dozen requests a window, and needs nothing but the tag URLs the rollout keeps.
GET of "/" only: a WebSocket round trip would add the fan-out path but not a cheaper or earlier signal.

Every probe says it is one (`User-Agent: opsconsole-probe/1`, `X-Opsconsole-Probe: 1`): on Google Cloud they are
real requests to Cloud Run, so Cloud Monitoring counts them in the revision's request_count like any other
(its labels carry no user agent to filter on); the request log (httpRequest.userAgent) tells them apart. They
run only while a deployment is judged, alike on both revisions, so health between deployments never sees them;
during one, a probe to a revision fails as often as a user's request to it does, so the 5xx share and latency
health judges per revision stay what users get (only the counts grow, by tens a window).
A service that demands an invoker token answers them 401/403, which count as answers, never as failures.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Mapping

import httpx

from core.model.probes import ProbeSample

USER_AGENT = "opsconsole-probe/1"
PROBE_HEADER = "X-Opsconsole-Probe"
CONCURRENCY = 16
"""Probes in flight, both revisions together (as many as the smoke check's): 50 a side at a p50 of 35 ms take
about a third of a second, and a burst stays a short moment in a window of a minute."""


class HttpProber:
    """Probes over one shared httpx client (the console's), on CONCURRENCY threads."""

    def __init__(self, client: httpx.Client, *, concurrency: int = CONCURRENCY) -> None:
        self._client, self._concurrency = client, concurrency

    def burst(self, urls: Mapping[str, str], requests: int, *, timeout_s: float) -> dict[str, ProbeSample]:
        """`requests` GETs of "/" per URL, taken in turn (so a slow moment of this machine hits both alike)."""
        samples = {key: ProbeSample(url) for key, url in urls.items()}
        order: Iterator[ProbeSample] = itertools.chain.from_iterable(itertools.repeat(list(samples.values()),
                                                                                      requests))
        lock = threading.Lock()

        def worker() -> None:
            while True:
                with lock:  # one shared iterator: each probe is sent by exactly one thread
                    sample = next(order, None)
                    if sample is None:
                        return
                    sample.sent += 1
                self._one(sample, timeout_s, lock)

        threads = [threading.Thread(target=worker, name=f"probe-{i}", daemon=True)
                   for i in range(max(1, min(self._concurrency, requests * len(samples))))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return samples

    def _one(self, sample: ProbeSample, timeout_s: float, lock: threading.Lock) -> None:
        url = sample.url.rstrip("/") + "/"
        start = time.monotonic()
        try:
            answer = self._client.get(url, timeout=timeout_s, follow_redirects=False,
                                      headers={"User-Agent": USER_AGENT, PROBE_HEADER: "1"})
        except httpx.HTTPError:
            with lock:
                sample.no_answer += 1
            return
        took_ms = (time.monotonic() - start) * 1000.0
        with lock:
            sample.latencies_ms.append(took_ms)
            sample.errors_5xx += answer.status_code >= 500
