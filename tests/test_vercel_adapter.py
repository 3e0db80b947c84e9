"""The Vercel adapter drives the sandbox's Vercel over real HTTP: deploy, wait, promote, roll back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from aiohttp import web

from core.errors import OperationFailed
from core.providers.http_retry import RequestRefused, RetryPolicy
from core.providers.vercel import VercelAdapter
from sandbox.serving import LoopThread, ServedApp
from sandbox.vercel_api import REQUEST_LOG, vercel_app
from sandbox.vercel_state import Timings, VercelState
from tests.manual_clock import ManualClock

PROJECT = "agent-network-web"
TOKEN = "vcp_SECRET-token-4f9a2c"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def state(clock: ManualClock) -> VercelState:
    state = VercelState(clock=clock.time, timings=Timings(queued_seconds=2, build_seconds=40),
                        team_id="team_opsconsole")
    state.seed(["agent-network-web-dev", PROJECT])
    return state


@pytest.fixture
def app(state: VercelState) -> web.Application:
    return vercel_app(state)


@pytest.fixture
def served(loop: LoopThread, app: web.Application) -> Iterator[ServedApp]:
    served = ServedApp(loop, app)
    yield served
    served.stop()


@pytest.fixture
def vercel(served: ServedApp, clock: ManualClock) -> Iterator[VercelAdapter]:
    policy = RetryPolicy(sleep=clock.sleep, clock=clock.time, random=lambda: 0.5)
    with httpx.Client() as client:
        yield VercelAdapter(client, TOKEN, team_id="team_opsconsole", base_url=served.url, retry=policy)


def test_deploy_promote_and_roll_back_round_trip(vercel: VercelAdapter) -> None:
    previous = vercel.production_deployment(PROJECT)
    assert previous is not None and previous.ready

    created = vercel.create_deployment(PROJECT, "main", sha="a" * 40, target="production")
    assert created.state == "QUEUED" and created.git_sha == "a" * 40 and created.target == "production"
    ready = vercel.wait_ready(created.id, timeout=300, poll=5)
    assert ready.ready and ready.ready_substate == "STAGED"
    assert vercel.production_deployment(PROJECT) == previous  # staged: production unchanged until promoted

    assert vercel.promote(PROJECT, created.id) is True
    promoted = vercel.production_deployment(PROJECT)
    assert promoted is not None and promoted.id == created.id
    assert promoted.aliases == (f"{PROJECT}.vercel.app",)

    assert vercel.rollback(PROJECT, previous.id) is True
    back = vercel.production_deployment(PROJECT)
    assert back is not None and back.id == previous.id
    assert vercel.get_project(PROJECT).rolled_back
    # Asking again for the rollback that already happened is a success (a retry after a lost answer).
    assert vercel.rollback(PROJECT, previous.id) is True


def test_promoting_a_deployment_that_is_not_ready_is_refused_once(vercel: VercelAdapter,
                                                                  app: web.Application) -> None:
    created = vercel.create_deployment(PROJECT, "feature/x", target="production")
    calls_before = len(app[REQUEST_LOG])
    with pytest.raises(RequestRefused) as refused:
        vercel.promote(PROJECT, created.id)
    message = str(refused.value)
    assert message.startswith(f"Vercel: promoting deployment {created.id} of project {PROJECT} was refused: "
                              f"HTTP 400")
    assert "QUEUED" in message and "only READY deployments" in message
    assert refused.value.status == 400
    assert len(app[REQUEST_LOG]) == calls_before + 1  # a 400 is never retried
    assert TOKEN not in message


def test_a_failed_build_is_a_clear_error(vercel: VercelAdapter, state: VercelState) -> None:
    state.set_fail_builds(PROJECT, True)
    created = vercel.create_deployment(PROJECT, "broken", target="production")
    expected = f"deployment {created.id} of project {PROJECT} failed to build"
    with pytest.raises(OperationFailed, match=expected):
        vercel.wait_ready(created.id, timeout=300, poll=5)


def test_waiting_gives_up_at_its_timeout_on_the_injected_clock(vercel: VercelAdapter, state: VercelState,
                                                               clock: ManualClock) -> None:
    state.timings.build_seconds = 3600
    created = vercel.create_deployment(PROJECT, "slow", target="production")
    start = clock.now
    with pytest.raises(OperationFailed, match="did not become ready within 120 s \\(it is still BUILDING\\)"):
        vercel.wait_ready(created.id, timeout=120, poll=10)
    assert clock.now - start == pytest.approx(120)


def test_rollback_to_a_deployment_that_never_served_production_is_refused(vercel: VercelAdapter) -> None:
    created = vercel.create_deployment(PROJECT, "main", target="production")
    vercel.wait_ready(created.id, timeout=300, poll=5)
    with pytest.raises(RequestRefused, match="never served production traffic"):
        vercel.rollback(PROJECT, created.id)


def test_list_deployments_filters_by_target_newest_first(vercel: VercelAdapter, clock: ManualClock) -> None:
    preview = vercel.create_deployment(PROJECT, "feature/y")
    clock.sleep(1)
    production = vercel.create_deployment(PROJECT, "main", target="production")
    listed = vercel.list_deployments(PROJECT)
    assert [d.id for d in listed[:2]] == [production.id, preview.id]
    assert preview.id not in {d.id for d in vercel.list_deployments(PROJECT, target="production")}
    assert [d.id for d in vercel.list_deployments(PROJECT, limit=1)] == [production.id]


def test_team_id_is_sent_and_the_token_only_in_the_header(vercel: VercelAdapter,
                                                          app: web.Application) -> None:
    vercel.production_deployment(PROJECT)
    last = app[REQUEST_LOG][-1]
    assert last["query"] == {"teamId": "team_opsconsole"}
    assert TOKEN not in str(app[REQUEST_LOG])
    assert TOKEN not in repr(vercel)


def test_an_unknown_deployment_is_a_clear_refusal(vercel: VercelAdapter) -> None:
    with pytest.raises(RequestRefused, match="Vercel: reading deployment dpl_missing was refused: HTTP 404"):
        vercel.get_deployment("dpl_missing")
