"""Each revision is a real HTTP + WebSocket endpoint on loopback that reflects its phase and the scenario."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import httpx
import pytest

from core.providers.cloudrun import CloudRunAdapter
from core.providers.profile import google_clients
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.revision_server import REVISION_HEADER

DEV = "projects/ai-agent-network-dev/locations/us-central1/services/websocket-server"


@pytest.fixture
def cloud() -> Iterator[SandboxCloud]:
    sandbox = SandboxCloud(clock=SandboxClock(speed=0)).start()
    yield sandbox
    sandbox.stop()


def stable_url(cloud: SandboxCloud) -> tuple[str, str]:
    svc = cloud.cloudrun.service(DEV)
    revision = f"{DEV}/revisions/{svc.latest_ready}"
    return svc.latest_ready, cloud.revision_url(revision)


async def test_a_ready_revision_answers_health_checks_and_echoes_websocket_messages(cloud: SandboxCloud) -> None:
    name, url = stable_url(cloud)
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/healthz") as health:
            assert health.status == 200 and health.headers[REVISION_HEADER] == name
        async with http.get(url + "/readyz") as ready:
            body = await ready.json()
    assert ready.status == 200 and body["status"] == "ok"
    assert {name: dep["ok"] for name, dep in body["dependencies"].items()} == {
        "redis": True, "firebase": True, "calendar": True}
    assert body["dependencies"]["redis"]["keys"] == {"agent": 8, "fanout": 1, "sessions": 1}  # the seeded keyspace
    async with aiohttp.ClientSession() as http, http.ws_connect(url + "/ws") as ws:
        await ws.send_json({"id": "m-1", "text": "hello"})
        ack = await ws.receive_json(timeout=5)
        await ws.send_str("plain text")
        plain = await ws.receive_json(timeout=5)
    assert ack["type"] == "ack" and ack["id"] == "m-1" and ack["revision"] == name
    assert plain["echo"] == "plain text" and plain["id"] is None


async def test_with_redis_down_readiness_fails_and_messages_are_not_delivered(cloud: SandboxCloud) -> None:
    _, url = stable_url(cloud)
    cloud.set_scenario("redis-unreachable")
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/healthz") as health:
            assert health.status == 200  # the process is alive...
        async with http.get(url + "/readyz") as ready:
            redis = (await ready.json())["dependencies"]["redis"]
            # Unreachable now, so no count now; the counts it last read, and when, stay in the answer.
            assert ready.status == 503 and redis["ok"] is False and "keys" not in redis
            assert sum(redis["last_keys"].values()) == 10 and redis["last_keys_at"]
        async with http.ws_connect(url + "/ws") as ws:
            await ws.send_json({"id": "m-1"})
            with pytest.raises(asyncio.TimeoutError):
                await ws.receive_json(timeout=0.3)  # ...but nothing reaches the other side


@pytest.mark.parametrize(("scenario", "down", "status"), [("firebase-unreachable", "firebase", 503),
                                                            ("calendar-unreachable", "calendar", 200)])
async def test_a_dependency_scenario_shows_in_readiness_by_name(cloud: SandboxCloud, scenario: str, down: str,
                                                                status: int) -> None:
    _, url = stable_url(cloud)
    cloud.set_scenario(scenario)
    async with aiohttp.ClientSession() as http, http.get(url + "/readyz") as ready:
        body = await ready.json()
    # Firebase is required (503), Google Calendar optional: its loss degrades the server but leaves it ready.
    assert ready.status == status and body["status"] == "degraded"
    assert [name for name, dep in body["dependencies"].items() if not dep["ok"]] == [down]
    assert body["dependencies"][down]["error"]


@pytest.mark.parametrize("scenario", ["region-outage", "instances-zero"])
async def test_an_outage_makes_every_endpoint_answer_503(cloud: SandboxCloud, scenario: str) -> None:
    _, url = stable_url(cloud)
    cloud.set_scenario(scenario)
    async with aiohttp.ClientSession() as http:
        for path in ("/healthz", "/readyz", "/ws", "/"):
            async with http.get(url + path) as answer:
                assert answer.status == 503, path
        async with http.get(cloud.service_url(DEV) + "/healthz") as via_service:
            assert via_service.status == 503


async def test_the_service_url_routes_requests_by_the_traffic_split(cloud: SandboxCloud) -> None:
    name, _ = stable_url(cloud)
    async with aiohttp.ClientSession() as http:
        seen = set()
        for _ in range(5):
            async with http.get(cloud.service_url(DEV) + "/healthz") as answer:
                seen.add(answer.headers[REVISION_HEADER])
    assert seen == {name}


def test_a_starting_revision_is_unavailable_until_it_is_ready(cloud: SandboxCloud) -> None:
    clients = google_clients(cloud.endpoints)
    run = CloudRunAdapter(clients.services, clients.revisions, "ai-agent-network-dev", "us-central1")
    rev = run.deploy_revision("websocket-server", "img:v2", "canary", wait=False)
    url = cloud.revision_url(f"{DEV}/revisions/{rev.name}")
    starting = httpx.get(url + "/healthz")
    assert starting.status_code == 503 and starting.json()["reason"] == "the revision is still starting"
    cloud.clock.advance(30)
    assert httpx.get(url + "/healthz").status_code == 200
    clients.close()
