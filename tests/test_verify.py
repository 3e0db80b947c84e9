"""Verification of a revision against the real sandbox: its endpoints, WebSocket, metrics and settings."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest

from core.config import CHECKS, EnvironmentConfig, ValidationCriteria, default_config
from core.errors import BadInput
from core.providers.cloudrun import CloudRunAdapter, RevisionState
from core.providers.google_retry import RetryPolicy
from core.providers.monitoring import MonitoringAdapter
from core.providers.profile import GoogleClients
from core.verify import VerificationReport, VerifyTarget, check_budget, verify_revision
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.faults import ApiFaults

SERVICE = "websocket-server"
WINDOW_S = 300
PRODUCTION: EnvironmentConfig = default_config().environment("production")
CRITERIA = PRODUCTION.strategy.criteria  # all five checks required
LEAKED_KEY = "AIzaSyD4-not-a-real-key-but-shaped-12345"
LEAKED_PASSWORD = "correct-horse-battery"


def canary_serving(run: CloudRunAdapter, clock: SandboxClock, percent: int = 50) -> RevisionState:
    """A tagged canary that is ready and has served `percent` of traffic for one window."""
    stable = run.get_service(SERVICE).latest_ready_revision
    canary = run.deploy_revision(SERVICE, "us-docker.pkg.dev/p/agent-network/websocket-server:v2", "canary",
                                 wait=False).name
    clock.advance(30)
    run.set_traffic(SERVICE, {stable: 100 - percent, canary: percent})
    clock.advance(WINDOW_S)
    state = run.get_service(SERVICE).revision(canary)
    assert state is not None and state.ready and state.url
    return state


def verify(target: VerifyTarget, clock: SandboxClock, metrics: MonitoringAdapter | None = None,
           checks: tuple[str, ...] = CHECKS, criteria: ValidationCriteria = CRITERIA, profile: str = "sandbox",
           timeout: float = 2.0, run: CloudRunAdapter | None = None) -> VerificationReport:
    end = clock.now()
    return verify_revision(target, checks, metrics=metrics, criteria=criteria,
                           window=(end - timedelta(seconds=WINDOW_S), end), profile=profile, timeout=timeout,
                           now=clock.now, cloudrun=run)


def test_a_healthy_revision_passes_every_check(run: CloudRunAdapter, metrics: MonitoringAdapter,
                                               clock: SandboxClock) -> None:
    rev = canary_serving(run, clock)
    report = verify(VerifyTarget.from_revision(PRODUCTION, rev, {"LOG_LEVEL": "info"}), clock, metrics, run=run)
    assert report.passed, report.summary
    assert [r.name for r in report.results] == list(CHECKS)
    assert report.summary == "6/6 checks passed"
    websocket = report.result("websocket")
    assert websocket is not None and websocket.details["delivered"] == 20 and websocket.details["lost"] == 0
    assert "all 20 messages acknowledged" in websocket.summary
    errors = report.result("error_rate")
    assert errors is not None and errors.details["requests"] >= CRITERIA.min_requests_per_window
    health = report.result("health")
    assert health is not None and health.details["/healthz"]["status"] == 200
    integration = report.result("integration")
    # Each one measured by the revision itself (its /readyz), none passed on configuration alone.
    assert integration is not None and integration.summary == "3 of 3 integrations measured reachable"
    assert report.target.revision == rev.name and report.started_at == clock.now()


def test_with_redis_down_messages_are_lost_and_the_redis_integration_fails(
        cloud: SandboxCloud, run: CloudRunAdapter, clock: SandboxClock) -> None:
    rev = canary_serving(run, clock)
    cloud.set_scenario("redis-unreachable")
    report = verify(VerifyTarget.from_revision(PRODUCTION, rev), clock,
                    checks=("websocket", "integration"), timeout=0.4)
    assert not report.passed
    websocket = report.result("websocket")
    assert websocket is not None and websocket.outcome == "fail"
    assert websocket.details["lost"] == 20 and websocket.details["loss_percent"] == 100.0
    assert websocket.summary.startswith("20 of 20 messages lost (100 %")
    integration = report.result("integration")
    assert integration is not None and integration.outcome == "fail"
    assert integration.summary == f"Redis is unreachable from {rev.name} (connection to 10.0.0.3:6379 timed out)"
    assert report.summary.startswith("0/6 checks passed; health: skipped, required by the validation criteria "
                                     "but not run; websocket: 20 of 20 messages lost (100 %): no ack within 0.4 s;")
    assert {"websocket", "integration"} <= set(report.failed_checks)


def test_in_a_region_outage_health_fails_quoting_the_503_reason(
        cloud: SandboxCloud, run: CloudRunAdapter, clock: SandboxClock) -> None:
    rev = canary_serving(run, clock)
    cloud.set_scenario("region-outage")
    report = verify(VerifyTarget.from_revision(PRODUCTION, rev), clock, checks=("health", "websocket"))
    health = report.result("health")
    assert health is not None and health.outcome == "fail"
    assert health.summary == "/healthz and /readyz answered 503: the region is unreachable"
    websocket = report.result("websocket")
    assert websocket is not None and websocket.outcome == "fail"
    assert "refused with 503 (the region is unreachable)" in websocket.summary


def test_a_revision_still_starting_fails_health(cloud: SandboxCloud, run: CloudRunAdapter,
                                               clock: SandboxClock) -> None:
    rev = run.deploy_revision(SERVICE, "img:v2", "canary", wait=False)
    assert not rev.ready and not rev.url  # Cloud Run routes its tag only once it is ready...
    url = cloud.revision_url(f"{run.resource(SERVICE)}/revisions/{rev.name}")  # ...but it listens already
    report = verify(VerifyTarget("production", SERVICE, rev.name, url, PRODUCTION), clock, checks=("health",))
    health = report.result("health")
    assert health is not None and health.outcome == "fail"
    assert health.summary == "/healthz and /readyz answered 503: the revision is still starting"
    assert not report.passed


@pytest.mark.parametrize("cloud", ["low-traffic"], indirect=True)
def test_low_traffic_gives_no_data_for_the_error_rate_which_is_not_a_pass(
        run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    rev = canary_serving(run, clock, percent=10)
    report = verify(VerifyTarget.from_revision(PRODUCTION, rev), clock, metrics, checks=("health", "error_rate"))
    errors = report.result("error_rate")
    assert errors is not None and errors.outcome == "no_data"
    assert 0 < errors.details["requests"] < CRITERIA.min_requests_per_window
    assert f"at least {CRITERIA.min_requests_per_window} needed" in errors.summary
    assert report.result("health").passed  # type: ignore[union-attr]
    assert not report.passed and report.failed_checks == []
    assert "error_rate: no data, only" in report.summary


def test_a_literal_secret_in_the_plain_environment_fails_security_without_echoing_it(
        run: CloudRunAdapter, clock: SandboxClock) -> None:
    rev = canary_serving(run, clock)
    env_vars = {"FIREBASE_API_KEY": LEAKED_KEY, "REDIS_URL": f"redis://default:{LEAKED_PASSWORD}@10.0.0.3:6379",
                "SESSION_SECRET": LEAKED_PASSWORD, "LOG_LEVEL": "debug", "CACHE_KEY_PREFIX": "v1",
                "FIREBASE_TOKEN_URL": "https://securetoken.googleapis.com/v1/token",
                "REDIS_CONNECTION": "sm://projects/ai-agent-network-prod/secrets/redis-url/versions/latest"}
    target = VerifyTarget.from_revision(PRODUCTION, rev, env_vars)
    report = verify(target, clock, checks=("security",))
    security = report.result("security")
    assert security is not None and security.outcome == "fail"
    assert security.details["leaked_variables"] == ["FIREBASE_API_KEY", "REDIS_URL", "SESSION_SECRET"]
    assert "FIREBASE_API_KEY (has the shape of a Google API key)" in security.summary
    assert "REDIS_URL (is a URL with a password in it)" in security.summary
    shown = json.dumps(report.to_dict()) + report.summary + repr(report) + repr(target)
    assert LEAKED_KEY not in shown and LEAKED_PASSWORD not in shown


def test_plain_http_is_allowed_on_loopback_in_the_sandbox_only(run: CloudRunAdapter, clock: SandboxClock) -> None:
    rev = canary_serving(run, clock)
    target = VerifyTarget.from_revision(PRODUCTION, rev, {"LOG_LEVEL": "info"})
    sandbox = verify(target, clock, checks=("security",), run=run).result("security")
    assert sandbox is not None and sandbox.passed, sandbox
    assert "loopback (sandbox)" in sandbox.summary and "is public (allUsers may invoke it), as configured" \
        in sandbox.summary
    gcp = verify(target, clock, checks=("security",), profile="gcp", run=run).result("security")
    assert gcp is not None and gcp.outcome == "fail"
    assert f"the revision URL {rev.url} uses http, not https, in the gcp profile" in gcp.summary


def test_the_report_survives_a_json_round_trip(run: CloudRunAdapter, metrics: MonitoringAdapter,
                                               cloud: SandboxCloud, clock: SandboxClock) -> None:
    rev = canary_serving(run, clock)
    cloud.set_scenario("region-outage")
    report = verify(VerifyTarget.from_revision(PRODUCTION, rev), clock, metrics, run=run)
    data = json.loads(json.dumps(report.to_dict()))
    again = VerificationReport.from_dict(data)
    assert again.results == report.results and again.target == report.target
    assert again.started_at == report.started_at and again.required == report.required
    assert again.passed is report.passed is False
    assert again.summary == report.summary == data["summary"]
    assert data["failed_checks"] == ["health", "websocket", "smoke", "integration"]


def test_unavailable_metrics_fail_the_error_rate_check_in_one_sentence_and_the_rest_still_run(
        cloud: SandboxCloud, clients: GoogleClients, run: CloudRunAdapter, clock: SandboxClock) -> None:
    rev = canary_serving(run, clock)
    cloud.faults.monitoring = ApiFaults(share=1.0)
    impatient = MonitoringAdapter(clients.metrics, PRODUCTION.infrastructure.gcp_project,
                                  policy=RetryPolicy(initial=0.01, maximum=0.02, deadline=0.3), now=clock.now)
    report = verify(VerifyTarget.from_revision(PRODUCTION, rev), clock, impatient, checks=("health", "error_rate"))
    errors = report.result("error_rate")
    assert errors is not None and errors.outcome == "fail"
    assert errors.summary.startswith("Cloud Monitoring: reading request counts of service websocket-server")
    assert "\n" not in errors.summary
    assert report.result("health").passed  # type: ignore[union-attr]


def test_only_required_checks_decide_and_a_missing_required_check_is_reported_skipped(
        run: CloudRunAdapter, clock: SandboxClock) -> None:
    rev = canary_serving(run, clock)
    target = VerifyTarget.from_revision(PRODUCTION, rev, {"API_TOKEN": LEAKED_PASSWORD})
    dev = ValidationCriteria(required_checks=["health", "websocket"])
    report = verify(target, clock, checks=("health", "websocket", "security"), criteria=dev)
    assert report.passed and report.failed_checks == ["security"]
    assert report.summary.startswith("2/3 checks passed; security (not required): literal secret values")
    missing = verify(target, clock, checks=("health",), criteria=dev)
    assert not missing.passed
    assert missing.result("websocket").outcome == "skipped"  # type: ignore[union-attr]


def test_without_a_metrics_provider_the_error_rate_check_is_skipped(run: CloudRunAdapter,
                                                                    clock: SandboxClock) -> None:
    rev = canary_serving(run, clock)
    report = verify(VerifyTarget.from_revision(PRODUCTION, rev), clock, None, checks=("error_rate",),
                    criteria=ValidationCriteria(required_checks=["error_rate"]))
    assert report.result("error_rate").outcome == "skipped"  # type: ignore[union-attr]
    assert not report.passed


@pytest.mark.parametrize(("kwargs", "complaint"), [
    ({"checks": ("health", "latency")}, "Unknown verification check 'latency'; known checks: health, websocket, smoke"),
    ({"profile": "aws"}, "Unknown profile 'aws'"),
    ({"messages": 0}, "at least 1 message"),
    ({"timeout": 0}, "positive number of seconds"),
])
def test_bad_arguments_are_refused_in_one_sentence(kwargs: dict[str, object], complaint: str) -> None:
    target = VerifyTarget("production", SERVICE, "websocket-server-x", "http://127.0.0.1:9", PRODUCTION)
    args: dict[str, object] = {"checks": ("health",), "metrics": None, "criteria": CRITERIA, "window": None,
                               "profile": "sandbox"} | kwargs
    with pytest.raises(BadInput, match=complaint):
        verify_revision(target, **args)  # type: ignore[arg-type]


def test_a_check_that_overruns_its_budget_fails_and_the_report_does_not_wait_for_it(
        cloud: SandboxCloud, run: CloudRunAdapter, metrics: MonitoringAdapter, clock: SandboxClock) -> None:
    rev = canary_serving(run, clock)
    timeout = 0.1
    budget = check_budget("error_rate", timeout)
    cloud.faults.monitoring = ApiFaults(latency_s=budget + 0.5)  # every metrics read hangs past the budget
    report = verify(VerifyTarget.from_revision(PRODUCTION, rev), clock, metrics, checks=("health", "error_rate"),
                    timeout=timeout)
    errors = report.result("error_rate")
    assert errors is not None and errors.outcome == "fail"
    assert errors.summary == f"the error_rate check did not finish within {budget:.1f} s"
    assert report.result("health").passed  # type: ignore[union-attr]


def test_a_revision_nobody_listens_on_fails_health_and_websocket_in_one_sentence_each(clock: SandboxClock) -> None:
    with socket.socket() as closed:  # a loopback port that was free a moment ago: nothing listens there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    target = VerifyTarget("production", SERVICE, "websocket-server-gone", f"http://127.0.0.1:{port}", PRODUCTION)
    report = verify(target, clock, checks=("health", "websocket"), timeout=1.0)
    health, websocket = report.result("health"), report.result("websocket")
    assert health is not None and health.summary == "/healthz and /readyz: could not connect (ConnectError)"
    assert websocket is not None and websocket.outcome == "fail"
    assert websocket.summary == (f"the WebSocket could not connect (ClientConnectorError) at "
                                 f"ws://127.0.0.1:{port}/ws")


async def test_verification_works_from_a_thread_that_already_runs_an_event_loop(
        run: CloudRunAdapter, clock: SandboxClock) -> None:
    # The TUI may call in from code that owns a loop; the WebSocket client must use a private one.
    rev = canary_serving(run, clock)
    report = verify(VerifyTarget.from_revision(PRODUCTION, rev), clock, checks=("websocket",),
                    criteria=ValidationCriteria(required_checks=["websocket"]))
    assert report.passed, report.summary
