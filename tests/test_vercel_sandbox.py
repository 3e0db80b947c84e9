"""The sandbox's Vercel API answers with Vercel's paths, shapes and errors, and builds on its clock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.serving import LoopThread, ServedApp
from sandbox.vercel_api import REQUEST_LOG, vercel_app
from sandbox.vercel_state import HttpFaults, Timings, VercelState
from tests.manual_clock import ManualClock

PROJECTS = ["agent-network-web-dev", "agent-network-web-staging", "agent-network-web"]
AUTH = {"Authorization": "Bearer sandbox-token"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def state(clock: ManualClock) -> VercelState:
    # Aliasing within the request (201): the asynchronous 202 path has its own tests below and in test_vercel_promote.
    state = VercelState(clock=clock.time, timings=Timings(queued_seconds=2, build_seconds=40, alias_seconds=0))
    state.seed(PROJECTS)
    return state


@pytest.fixture
def served(loop: LoopThread, state: VercelState) -> Iterator[ServedApp]:
    app = ServedApp(loop, vercel_app(state))
    yield app
    app.stop()


@pytest.fixture
def api(served: ServedApp) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, headers=AUTH) as client:
        yield client


def deploy(api: httpx.Client, project: str, **extra: object) -> dict:
    repo_id = api.get(f"/v9/projects/{project}").json()["link"]["repoId"]
    body = {"name": project, "project": project,
            "gitSource": {"type": "github", "ref": "main", "repoId": repo_id}, **extra}
    answer = api.post("/v13/deployments", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_request_without_a_token_is_refused_like_vercel(served: ServedApp) -> None:
    answer = httpx.get(f"{served.url}/v9/projects/agent-network-web")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"
    assert "missing an authentication token" in answer.json()["error"]["message"]


def test_seeded_project_has_a_ready_production_deployment_holding_its_alias(api: httpx.Client) -> None:
    project = api.get("/v9/projects/agent-network-web").json()
    production = project["targets"]["production"]
    assert project["id"].startswith("prj_")
    assert production["id"].startswith("dpl_")
    assert production["readyState"] == "READY"
    assert production["alias"] == ["agent-network-web.vercel.app"]
    assert project["lastRollbackTarget"] is None
    # The same project answers by id as by name.
    assert api.get(f"/v9/projects/{project['id']}").json()["name"] == "agent-network-web"


def test_unknown_project_and_deployment_are_404_with_vercel_error_json(api: httpx.Client) -> None:
    for path in ("/v9/projects/nope", "/v13/deployments/dpl_nope"):
        answer = api.get(path)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"


def test_a_build_progresses_with_the_clock_to_ready(api: httpx.Client, clock: ManualClock) -> None:
    created = deploy(api, "agent-network-web", target="production", autoAssignCustomDomains=False)
    assert created["readyState"] == "QUEUED"
    assert created["gitSource"]["ref"] == "main" and len(created["meta"]["githubCommitSha"]) == 40
    clock.advance(3)
    assert api.get(f"/v13/deployments/{created['id']}").json()["readyState"] == "BUILDING"
    clock.advance(40)
    ready = api.get(f"/v13/deployments/{created['url']}").json()
    assert ready["readyState"] == "READY"
    # A staged production build does not take the domains by itself.
    assert ready["readySubstate"] == "STAGED" and ready["alias"] == []


def test_an_auto_assigned_production_build_takes_the_domains_when_ready(api: httpx.Client,
                                                                         clock: ManualClock) -> None:
    created = deploy(api, "agent-network-web-dev", target="production")
    clock.advance(60)
    production = api.get("/v9/projects/agent-network-web-dev").json()["targets"]["production"]
    assert production["id"] == created["id"]
    assert production["alias"] == ["agent-network-web-dev.vercel.app"]


def test_a_project_set_to_fail_builds_ends_in_error(api: httpx.Client, state: VercelState,
                                                    clock: ManualClock) -> None:
    state.set_fail_builds("agent-network-web-staging", True)
    created = deploy(api, "agent-network-web-staging")
    clock.advance(60)
    failed = api.get(f"/v13/deployments/{created['id']}").json()
    assert failed["readyState"] == "ERROR"
    assert failed["errorMessage"]


def test_create_refuses_a_body_without_a_usable_git_source(api: httpx.Client) -> None:
    no_git = api.post("/v13/deployments", json={"name": "agent-network-web"})
    assert no_git.status_code == 400 and no_git.json()["error"]["code"] == "missing_files"
    wrong_repo = api.post("/v13/deployments", json={
        "name": "agent-network-web", "gitSource": {"type": "github", "ref": "main", "repoId": "1"}})
    assert wrong_repo.status_code == 400
    assert wrong_repo.json()["error"]["code"] == "incorrect_git_source_info"


def test_list_pages_newest_first_with_vercel_pagination(api: httpx.Client, clock: ManualClock) -> None:
    ids = []
    for _ in range(3):
        ids.append(deploy(api, "agent-network-web")["id"])
        clock.advance(1)
    first = api.get("/v6/deployments", params={"projectId": "agent-network-web", "limit": 2}).json()
    assert [d["uid"] for d in first["deployments"]] == [ids[2], ids[1]]
    assert first["pagination"]["count"] == 2 and first["pagination"]["next"] is not None
    rest = api.get("/v6/deployments", params={"projectId": "agent-network-web", "limit": 2,
                                              "until": first["pagination"]["next"]}).json()
    assert rest["deployments"][0]["uid"] == ids[0]
    assert rest["pagination"]["next"] is None  # the seeded deployment ends the list
    queued = api.get("/v6/deployments", params={"projectId": "agent-network-web", "state": "QUEUED,BUILDING"})
    assert {d["uid"] for d in queued.json()["deployments"]} == set(ids)
    production = api.get("/v6/deployments", params={"projectId": "agent-network-web", "target": "production"})
    assert [d["readyState"] for d in production.json()["deployments"]] == ["READY"]


def test_promote_and_rollback_move_the_production_alias(api: httpx.Client, clock: ManualClock) -> None:
    project = api.get("/v9/projects/agent-network-web").json()
    seeded = project["targets"]["production"]["id"]
    new = deploy(api, "agent-network-web", target="production", autoAssignCustomDomains=False)
    clock.advance(60)
    assert api.post(f"/v10/projects/{project['id']}/promote/{new['id']}").status_code == 201
    after = api.get("/v9/projects/agent-network-web").json()
    assert after["targets"]["production"]["id"] == new["id"]
    assert after["lastAliasRequest"]["type"] == "promote"
    assert after["lastAliasRequest"]["jobStatus"] == "succeeded"
    assert api.post(f"/v1/projects/{project['id']}/rollback/{seeded}").status_code == 201
    rolled = api.get("/v9/projects/agent-network-web").json()
    assert rolled["targets"]["production"]["id"] == seeded
    assert rolled["lastRollbackTarget"]["toDeploymentId"] == seeded
    assert api.get(f"/v13/deployments/{new['id']}").json()["alias"] == []


def test_promote_and_rollback_address_the_project_by_id_only(api: httpx.Client) -> None:
    seeded = api.get("/v9/projects/agent-network-web").json()["targets"]["production"]["id"]
    answer = api.post(f"/v10/projects/agent-network-web/promote/{seeded}")
    assert answer.status_code == 404


def test_promote_of_a_deployment_still_building_is_refused(api: httpx.Client) -> None:
    project_id = api.get("/v9/projects/agent-network-web").json()["id"]
    new = deploy(api, "agent-network-web", target="production", autoAssignCustomDomains=False)
    answer = api.post(f"/v10/projects/{project_id}/promote/{new['id']}")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "deployment_not_ready"


def test_an_alias_job_takes_time_when_configured(api: httpx.Client, state: VercelState,
                                                 clock: ManualClock) -> None:
    state.timings.alias_seconds = 5
    project = api.get("/v9/projects/agent-network-web").json()
    new = deploy(api, "agent-network-web", target="production", autoAssignCustomDomains=False)
    clock.advance(60)
    assert api.post(f"/v10/projects/{project['id']}/promote/{new['id']}").status_code == 202
    pending = api.get("/v9/projects/agent-network-web").json()
    assert pending["lastAliasRequest"]["jobStatus"] == "in-progress"
    assert pending["targets"]["production"]["id"] != new["id"]
    clock.advance(5)
    assert api.get("/v9/projects/agent-network-web").json()["targets"]["production"]["id"] == new["id"]


def test_team_scoped_sandbox_requires_the_team_id(loop: LoopThread, clock: ManualClock) -> None:
    state = VercelState(clock=clock.time, team_id="team_sandbox123")
    state.seed(["agent-network-web"])
    served = ServedApp(loop, vercel_app(state))
    try:
        with httpx.Client(base_url=served.url, headers=AUTH) as api:
            assert api.get("/v9/projects/agent-network-web").status_code == 403
            answer = api.get("/v9/projects/agent-network-web", params={"teamId": "team_sandbox123"})
            assert answer.status_code == 200
    finally:
        served.stop()


def test_injected_faults_answer_with_vercel_errors(loop: LoopThread, clock: ManualClock) -> None:
    state = VercelState(clock=clock.time, faults=HttpFaults(share=1.0, statuses=(429,), retry_after=3))
    app = vercel_app(state)
    served = ServedApp(loop, app)
    try:
        answer = httpx.get(f"{served.url}/v9/projects/x", headers=AUTH)
        assert answer.status_code == 429
        assert answer.json()["error"]["code"] == "rate_limited"
        assert answer.headers["Retry-After"] == "3"
        assert app[REQUEST_LOG][-1]["status"] == 429
    finally:
        served.stop()


def test_state_survives_a_round_trip_and_keeps_building(state: VercelState, clock: ManualClock) -> None:
    project = state.project("agent-network-web")
    dep = state.create_deployment(name=project.name, project=None, target="production", git_ref="main",
                                  git_sha=None, repo_id=project.repo_id, auto_assign=True)
    reloaded = VercelState.from_dict(state.to_dict(), clock=clock.time)
    assert reloaded.deployment(dep.id).ready_state == "QUEUED"
    clock.advance(60)
    assert reloaded.deployment(dep.id).ready_state == "READY"
    assert reloaded.project("agent-network-web").production_deployment_id == dep.id
