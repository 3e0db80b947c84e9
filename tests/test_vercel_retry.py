"""The shared httpx retry policy, exercised through the Vercel adapter against the faulty sandbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from aiohttp import web

from core.errors import OperationFailed
from core.providers.http_retry import RetriesExhausted, RetryPolicy, retry_after_seconds, send
from core.providers.vercel import VercelAdapter
from sandbox.serving import LoopThread, ServedApp
from sandbox.vercel_api import REQUEST_LOG, VERCEL_STATE, vercel_app
from sandbox.vercel_state import HttpFaults, VercelState
from tests.manual_clock import ManualClock

PROJECT = "agent-network-web"
TOKEN = "vcp_SECRET-token-77e1"


def served_vercel(loop: LoopThread, clock: ManualClock,
                  faults: HttpFaults) -> tuple[ServedApp, web.Application]:
    state = VercelState(clock=clock.time, faults=faults)
    state.seed([PROJECT])
    app = vercel_app(state)
    return ServedApp(loop, app), app


def policy_for(clock: ManualClock, **overrides: float) -> RetryPolicy:
    return RetryPolicy(sleep=clock.sleep, clock=clock.time, random=lambda: 0.5, **overrides)  # type: ignore[arg-type]


def test_thirty_percent_injected_503_and_429_converge(loop: LoopThread) -> None:
    clock = ManualClock()
    served, app = served_vercel(loop, clock, HttpFaults(share=0.3, statuses=(429, 503), seed=11,
                                                        retry_after=2))
    try:
        with httpx.Client() as client:
            vercel = VercelAdapter(client, TOKEN, base_url=served.url,
                                   retry=policy_for(clock, max_attempts=8, deadline=120))
            created = vercel.create_deployment(PROJECT, "main", target="production")
            vercel.wait_ready(created.id, timeout=600, poll=5)
            vercel.promote(PROJECT, created.id)
            for _ in range(20):
                production = vercel.production_deployment(PROJECT)
                assert production is not None and production.id == created.id
    finally:
        served.stop()
    statuses = [entry["status"] for entry in app[REQUEST_LOG]]
    assert statuses.count(429) > 0 and statuses.count(503) > 0  # the faults really happened
    assert 0.15 < (statuses.count(429) + statuses.count(503)) / len(statuses) < 0.45
    assert 2.0 in clock.slept  # a 429's Retry-After was honoured


def test_persistent_failure_ends_with_a_clear_error_naming_operation_and_resource(loop: LoopThread) -> None:
    clock = ManualClock()
    served, app = served_vercel(loop, clock, HttpFaults())
    try:
        with httpx.Client() as client:
            vercel = VercelAdapter(client, TOKEN, base_url=served.url, retry=policy_for(clock))
            seeded = vercel.production_deployment(PROJECT)
            assert seeded is not None
            app[REQUEST_LOG].clear()
            app[VERCEL_STATE].faults = HttpFaults(share=1.0, statuses=(503,))
            start = clock.now
            with pytest.raises(RetriesExhausted) as failed:
                vercel.promote(PROJECT, seeded.id)
    finally:
        served.stop()
    assert str(failed.value) == (f"Vercel: promoting deployment {seeded.id} of project {PROJECT} "
                                 f"failed after 4 attempts: HTTP 503")
    assert len(app[REQUEST_LOG]) == 4
    assert clock.now - start <= 30  # inside the default deadline
    assert clock.slept == [0.75, 1.25, 2.25]  # exponential backoff with (fixed) jitter


def test_the_deadline_stops_retrying_before_the_attempts_run_out(loop: LoopThread) -> None:
    clock = ManualClock()
    served, app = served_vercel(loop, clock, HttpFaults(share=1.0, statuses=(500,)))
    try:
        with httpx.Client() as client:
            vercel = VercelAdapter(client, TOKEN, base_url=served.url,
                                   retry=policy_for(clock, max_attempts=10, deadline=5))
            start = clock.now
            with pytest.raises(RetriesExhausted, match=f"Vercel: reading project {PROJECT} failed after 4 "
                                                       f"attempts within its 5 s deadline: HTTP 500"):
                vercel.get_project(PROJECT)
    finally:
        served.stop()
    # Waits of 0.75 + 1.25 + 2.25 s fit in 5 s; the next (4.25 s) would not, so it stops at 4 of 10.
    assert clock.now - start <= 5
    assert len(app[REQUEST_LOG]) == 4


def test_retry_after_is_capped(loop: LoopThread) -> None:
    clock = ManualClock()
    served, _ = served_vercel(loop, clock, HttpFaults(share=1.0, statuses=(429,), retry_after=600))
    try:
        with httpx.Client() as client:
            vercel = VercelAdapter(client, TOKEN, base_url=served.url,
                                   retry=policy_for(clock, max_attempts=3, deadline=60, retry_after_cap=7))
            with pytest.raises(RetriesExhausted, match="HTTP 429"):
                vercel.get_project(PROJECT)
    finally:
        served.stop()
    assert clock.slept == [7, 7]


def test_connection_refused_is_retried_then_reported(loop: LoopThread) -> None:
    clock = ManualClock()
    served, _ = served_vercel(loop, clock, HttpFaults())
    url = served.url
    served.stop()  # nothing listens on this port any more
    with httpx.Client() as client:
        vercel = VercelAdapter(client, TOKEN, base_url=url, retry=policy_for(clock))
        with pytest.raises(RetriesExhausted) as failed:
            vercel.get_deployment("dpl_abc")
    message = str(failed.value)
    assert message.startswith("Vercel: reading deployment dpl_abc failed after 4 attempts: network error "
                              "(ConnectError")
    assert TOKEN not in message


def test_a_read_timeout_on_a_non_idempotent_post_is_not_resent(loop: LoopThread) -> None:
    calls: list[str] = []

    async def slow(request: web.Request) -> web.Response:
        calls.append(request.path)
        await asyncio.sleep(0.6)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/v13/deployments", slow)
    served = ServedApp(loop, app)
    clock = ManualClock()
    policy = policy_for(clock, attempt_timeout=0.2, min_attempt_timeout=0.2)
    try:
        with httpx.Client() as client, pytest.raises(OperationFailed, match="may already have been applied"):
            send(client, "POST", f"{served.url}/v13/deployments", operation="Vercel: creating a deployment",
                 policy=policy, idempotent=False, json={})
    finally:
        served.stop()
    assert calls == ["/v13/deployments"]


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "3"})) == 3
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after_seconds(httpx.Response(429, headers={"Retry-After": later})) <= 30  # type: ignore[operator]
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Response(429)) is None


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=4, jitter=0.5, random=lambda: 1.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [1.0, 1.5, 2.5, 4, 4]


def test_added_latency_on_the_vercel_api_ends_in_a_clear_timeout() -> None:
    state = VercelState(faults=HttpFaults(latency_s=0.5))
    state.seed(["agent-network-web"])
    loop = LoopThread()
    served = ServedApp(loop, vercel_app(state))
    try:
        policy = RetryPolicy(max_attempts=2, deadline=2.0, initial_backoff=0.01, attempt_timeout=0.2,
                             min_attempt_timeout=0.1)
        with httpx.Client() as client:
            adapter = VercelAdapter(client, "token", base_url=served.url, retry=policy)
            with pytest.raises(OperationFailed, match="agent-network-web"):
                adapter.production_deployment("agent-network-web")
    finally:
        served.stop()
        loop.stop()
