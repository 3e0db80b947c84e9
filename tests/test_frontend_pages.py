"""The frontend is verified by fetching its pages, as a browser would, from the URLs Vercel's API answers: the
deployment's own URL before promotion, the production alias after. The sandbox's Vercel serves the Next.js app's
pages for every deployment with NEXT_PUBLIC_WEBSOCKET_URL inlined at build time, and page faults break them the
way a bad release does."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from console.wiring import Wiring, seed_from_config
from core.config import ConsoleConfig, default_config
from core.registry import DeploymentStatus
from core.verify.frontend import check_pages
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.serving import LoopThread, ServedApp
from tests.cli_project import EPOCH, run
from tests.engine_rig import START, rig, rig_config

STAGING_WEB = "agent-network-web-staging"
STAGING_WS = "wss://ws.staging.agent-network.example"  # the built-in configuration's staging WebSocket URL


def test_the_production_alias_serves_the_app_with_the_configured_websocket_url_baked_in(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        live = r.wiring.frontend().production_deployment(STAGING_WEB)
        assert live is not None and live.aliases == (f"{STAGING_WEB}.vercel.app",)
        web = r.wiring.web()
        page = web.get(f"https://{live.aliases[0]}/agents")
        assert page.status_code == 200 and "<title>AI Agent Network · Agents</title>" in page.text
        assert check_pages(web, live.aliases[0], STAGING_WS) == []
        assert check_pages(web, live.url, STAGING_WS) == [], "the deployment's own URL serves the same build"
        wrong = check_pages(web, live.aliases[0], "wss://elsewhere.example")
        assert wrong == [f"https://{live.aliases[0]}/agents opens {STAGING_WS}, not the configured "
                         "wss://elsewhere.example"]
        gone = check_pages(web, "agent-network-web-nobody.vercel.app", STAGING_WS)
        assert gone[0] == ("https://agent-network-web-nobody.vercel.app/ answered 404 "
                           "(404: NOT_FOUND DEPLOYMENT_NOT_FOUND)")


@pytest.mark.parametrize(("fault", "wrong"), [
    ("server-error", "/agents answered 500 (500: INTERNAL_SERVER_ERROR FUNCTION_INVOCATION_FAILED)"),
    ("missing-asset", "answered 404 (404: NOT_FOUND NOT_FOUND)"),
    ("wrong-websocket-url", f"/agents opens ws://localhost:8080, not the configured {STAGING_WS}"),
])
def test_a_broken_build_fails_its_preview_check_on_its_own_url_and_never_reaches_production(
        tmp_path: Path, fault: str, wrong: str) -> None:
    with rig(tmp_path, start=START) as r:
        frontend = r.wiring.frontend()
        before = frontend.production_deployment(STAGING_WEB)
        r.cloud.vercel.set_page_fault(STAGING_WEB, fault)
        deployment = r.engine.deploy_to_environment("staging", {"frontend": "release/2.1"})
        r.drive(deployment.id)
        final = r.deployment(deployment.id)
        built = frontend.get_deployment(r.rollout(deployment.id).frontend_new or "")
        assert final.status == DeploymentStatus.ROLLED_BACK
        assert final.rollback_cause is not None and f"https://{built.url}" in final.rollback_cause
        assert wrong in final.rollback_cause, final.rollback_cause
        assert not any(e.action == "promote frontend" for e in r.registry.events(deployment.id))
        live = frontend.production_deployment(STAGING_WEB)
        assert before is not None and live is not None and live.id == before.id


def test_the_websocket_url_is_the_one_set_when_the_build_ran_and_production_is_checked_on_its_alias(
        tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        frontend, web = r.wiring.frontend(), r.wiring.web()
        before = frontend.production_deployment(STAGING_WEB)
        assert before is not None
        r.cloud.vercel_env.projects[STAGING_WEB]["NEXT_PUBLIC_WEBSOCKET_URL"]["value"] = "wss://old.example"
        deployment = r.engine.deploy_to_environment("staging", {"frontend": "release/2.1"})
        r.drive(deployment.id)
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.ROLLED_BACK
        assert "opens wss://old.example" in (final.rollback_cause or "")
        assert check_pages(web, before.aliases[0], STAGING_WS) == [], "the older build keeps what it was built with"

        r.cloud.vercel_env.projects[STAGING_WEB]["NEXT_PUBLIC_WEBSOCKET_URL"]["value"] = STAGING_WS
        fixed = r.engine.deploy_to_environment("staging", {"frontend": "release/2.2"})
        r.drive(fixed.id)
        assert r.deployment(fixed.id).status == DeploymentStatus.SUCCEEDED
        verified = [e.detail["summary"] for e in r.registry.events(fixed.id) if e.action == "verify frontend"]
        assert verified[-1].endswith(f"serves production; its pages load from {STAGING_WEB}.vercel.app")


def test_sandbox_page_fault_breaks_a_projects_pages_in_a_running_sandbox_and_refuses_an_unknown_project(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = default_config()
    cloud = SandboxCloud(seed=seed_from_config(config), clock=SandboxClock(speed=0, start=EPOCH),
                         state_file=project / "sandbox.json").start()
    wiring = Wiring.for_sandbox(config, cloud)
    try:
        code, out, err = run(capsys, "sandbox", "page-fault", STAGING_WEB, "server-error", "--existing")
        assert (code, err) == (0, "") and out.strip() == f"{STAGING_WEB}: every build serve pages with server-error"
        alias = f"https://{STAGING_WEB}.vercel.app"
        assert wiring.web().get(f"{alias}/agents").status_code == 500
        assert wiring.web().get(f"{alias}/").status_code == 200
        code, out, err = run(capsys, "sandbox", "page-fault", STAGING_WEB, "none", "--existing")
        assert code == 0 and check_pages(wiring.web(), f"{STAGING_WEB}.vercel.app", STAGING_WS) == []
        code, out, err = run(capsys, "sandbox", "page-fault", "no-such-web", "missing-asset")
        assert code == 2 and "has no project 'no-such-web'" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    finally:
        wiring.close()
        cloud.stop()


def test_a_redirect_to_another_host_is_a_problem_not_a_login_page_taken_for_the_app(loop: LoopThread) -> None:
    async def protected(request: web.Request) -> web.Response:
        # What Vercel's Deployment Protection answers a browser without a session: off to vercel.com to log in.
        raise web.HTTPTemporaryRedirect("https://vercel.com/sso-api?url=https%3A%2F%2Fx.vercel.app%2F&nonce=abc")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect("/")  # the same host: followed

    app = web.Application()
    app.router.add_get("/", protected)
    app.router.add_get("/agents/", moved)
    served = ServedApp(loop, app)
    try:
        with httpx.Client() as http:
            problems = check_pages(http, served.url, STAGING_WS, pages=("/agents/",))
        assert problems == [f"{served.url}/agents/ redirected to https://vercel.com/sso-api (another host: is the "
                            "deployment protected?)"]
    finally:
        served.stop()


BYPASS = "bypass-0d5c1e8a2f"  # a made-up Protection Bypass for Automation secret


def _protected_config(with_reference: bool) -> ConsoleConfig:
    data = rig_config().model_dump()
    staging = data["environments"]["staging"]
    if with_reference:
        project = staging["infrastructure"]["gcp_project"]
        staging["secrets"]["vercel_protection_bypass"] = \
            f"sm://projects/{project}/secrets/vercel-protection-bypass/versions/latest"
    return ConsoleConfig.model_validate(data)


def test_a_protected_deployment_url_answers_401_without_the_bypass_and_the_preview_check_says_so(
        tmp_path: Path) -> None:
    with rig(tmp_path, start=START, config=_protected_config(False)) as r:
        r.cloud.vercel_protection.protect(STAGING_WEB, BYPASS)
        alias = f"{STAGING_WEB}.vercel.app"
        assert check_pages(r.wiring.web(), alias, STAGING_WS) == [], "the production domain stays public"
        deployment = r.engine.deploy_to_environment("staging", {"frontend": "release/2.1"})
        r.drive(deployment.id)
        final = r.deployment(deployment.id)
        built = r.wiring.frontend().get_deployment(r.rollout(deployment.id).frontend_new or "")
        assert final.status == DeploymentStatus.ROLLED_BACK
        assert f"https://{built.url}/ answered 401 (Authentication Required)" in (final.rollback_cause or "")


def test_with_the_environments_bypass_secret_a_protected_preview_is_checked_and_the_secret_is_never_recorded(
        tmp_path: Path) -> None:
    with rig(tmp_path, start=START, config=_protected_config(True)) as r:
        r.cloud.vercel_protection.protect(STAGING_WEB, BYPASS)
        project = r.engine.environment("staging").infrastructure.gcp_project
        r.cloud.secret_store.add_version(project, "vercel-protection-bypass", BYPASS)
        deployment = r.engine.deploy_to_environment("staging", {"frontend": "release/2.1"})
        r.drive(deployment.id)
        assert r.deployment(deployment.id).status == DeploymentStatus.SUCCEEDED
        recorded = json.dumps([e.model_dump(mode="json") for e in r.registry.events(deployment.id)])
        assert "verify frontend" in recorded and BYPASS not in recorded
