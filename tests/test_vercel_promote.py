"""Vercel's promote that is still aliasing (202) and its rollback candidates, over real HTTP to the sandbox."""

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
    state = VercelState(clock=clock.time, timings=Timings(queued_seconds=2, build_seconds=40, alias_seconds=7))
    state.seed([PROJECT])
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
        yield VercelAdapter(client, TOKEN, base_url=served.url, retry=policy)


def build(vercel: VercelAdapter, ref: str) -> str:
    created = vercel.create_deployment(PROJECT, ref, target="production")
    return vercel.wait_ready(created.id, timeout=300, poll=5).id


def promoted(vercel: VercelAdapter, ref: str) -> str:
    dep = build(vercel, ref)
    assert vercel.promote(PROJECT, dep)
    return dep


def test_a_promote_still_aliasing_is_followed_until_the_domains_point_at_it(
        vercel: VercelAdapter, app: web.Application, clock: ManualClock) -> None:
    new = build(vercel, "main")
    start = clock.now
    assert vercel.promote(PROJECT, new, poll=2) is True
    live = vercel.production_deployment(PROJECT)
    assert live is not None and live.id == new  # the engine's next read sees the promote done
    assert clock.now - start == pytest.approx(8)  # 7 s of aliasing, seen on the poll after it ended
    log = app[REQUEST_LOG]
    promote = next(e for e in log if "/promote/dpl_" in e["path"])
    polls = [e for e in log if e["path"].endswith("/promote/aliases")]
    assert promote["status"] == 202 and len(polls) == 5 and all(e["status"] == 200 for e in polls)


def test_the_promote_aliases_answer_is_vercels_shape(vercel: VercelAdapter, served: ServedApp,
                                                     state: VercelState) -> None:
    project = vercel.get_project(PROJECT)
    new = build(vercel, "main")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    before = httpx.get(f"{served.url}/v1/projects/{project.id}/promote/aliases", headers=headers).json()
    assert before["aliases"] == []  # nothing promoted yet
    httpx.post(f"{served.url}/v10/projects/{project.id}/promote/{new}", headers=headers)
    during = httpx.get(f"{served.url}/v1/projects/{project.id}/promote/aliases", headers=headers).json()
    assert [(a["alias"], a["status"]) for a in during["aliases"]] == [(f"{PROJECT}.vercel.app", "in-progress")]
    assert during["aliases"][0]["id"] and during["pagination"]["count"] == 1
    failed = httpx.get(f"{served.url}/v1/projects/{project.id}/promote/aliases",
                       params={"failedOnly": "true"}, headers=headers).json()
    assert failed["aliases"] == []


def test_aliasing_that_outlasts_the_timeout_is_one_clear_sentence(vercel: VercelAdapter,
                                                                  state: VercelState) -> None:
    state.timings.alias_seconds = 600
    new = build(vercel, "main")
    with pytest.raises(OperationFailed) as caught:
        vercel.promote(PROJECT, new, timeout=30, poll=5)
    assert str(caught.value) == (f"Vercel: promoting deployment {new} of project {PROJECT} was still aliasing "
                                 f"after 30 s ({PROJECT}.vercel.app in-progress)")


def test_rollback_candidates_are_builds_that_held_production_and_do_not_now(
        vercel: VercelAdapter, state: VercelState) -> None:
    state.timings.alias_seconds = 0
    seeded = vercel.production_deployment(PROJECT)
    assert seeded is not None
    first = promoted(vercel, "release-1")
    staged = build(vercel, "release-2")  # built, never promoted
    preview = vercel.create_deployment(PROJECT, "feature/z")
    vercel.wait_ready(preview.id, timeout=300, poll=5)
    candidates = [d.id for d in vercel.list_deployments(PROJECT, rollback_candidate=True)]
    assert candidates == [seeded.id]  # not the live one, not the staged build, not the preview
    others = {d.id for d in vercel.list_deployments(PROJECT, rollback_candidate=False)}
    assert {first, staged, preview.id} <= others
    with pytest.raises(RequestRefused, match="never served production traffic"):
        vercel.rollback(PROJECT, staged)
    assert vercel.rollback(PROJECT, seeded.id) is True


def test_hobby_rolls_back_only_to_the_previous_production_deployment(vercel: VercelAdapter,
                                                                      state: VercelState) -> None:
    state.timings.alias_seconds = 0
    state.plan = "hobby"
    seeded = vercel.production_deployment(PROJECT)
    assert seeded is not None
    first = promoted(vercel, "release-1")
    promoted(vercel, "release-2")
    assert [d.id for d in vercel.list_deployments(PROJECT, rollback_candidate=True)] == [first]
    with pytest.raises(RequestRefused, match="upgrade to pro"):
        vercel.rollback(PROJECT, seeded.id)
    assert vercel.rollback(PROJECT, first) is True


def test_by_default_promote_and_rollback_answer_while_aliasing_and_the_adapter_waits_on_the_given_clock(
        loop: LoopThread, clock: ManualClock) -> None:
    state = VercelState(clock=clock.time)  # the sandbox's default timings
    state.seed([PROJECT])
    app = vercel_app(state)
    served = ServedApp(loop, app)
    try:
        policy = RetryPolicy(sleep=clock.sleep, clock=clock.time, random=lambda: 0.5)
        with httpx.Client() as client:
            vercel = VercelAdapter(client, TOKEN, base_url=served.url, retry=policy)
            seeded = vercel.production_deployment(PROJECT)
            assert seeded is not None
            new = build(vercel, "main")
            start = clock.now
            assert vercel.promote(PROJECT, new, poll=1) is True
            assert 0 < clock.now - start <= 3, "seconds of aliasing, waited on the clock given, not the wall's"
            start = clock.now
            assert vercel.rollback(PROJECT, seeded.id, poll=1) is True
            live = vercel.production_deployment(PROJECT)
            assert live is not None and live.id == seeded.id, "returned once the domains point back"
            assert 0 < clock.now - start <= 3
        answers = {e["path"].split("/")[4]: e["status"] for e in app[REQUEST_LOG] if e["method"] == "POST"
                   and ("/promote/" in e["path"] or "/rollback/" in e["path"])}
        assert answers == {"promote": 202, "rollback": 201}
        assert state.project(PROJECT).last_alias_request["jobStatus"] == "succeeded"  # type: ignore[index]
    finally:
        served.stop()
