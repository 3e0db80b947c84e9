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

from collections.abc import Mapping

import httpx

from core.model.probes import ProbeSample
from core.verify.burst import interleaved_gets

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
        samples = {key: ProbeSample(url.rstrip("/") + "/") for key, url in urls.items()}
        interleaved_gets(self._client, list(samples.values()), requests, timeout=timeout_s,
                         workers=self._concurrency, name="probe", headers={"User-Agent": USER_AGENT, PROBE_HEADER: "1"})
        return samples
