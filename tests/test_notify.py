"""Slack and PagerDuty notifiers deliver to the sandbox's sinks what the real services expect."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from core.errors import BadInput
from core.providers.http_retry import RequestRefused, RetriesExhausted, RetryPolicy
from core.providers.notify import Link, Notice, PagerDutyNotifier, SlackNotifier, slack_blocks
from sandbox.serving import LoopThread, ServedApp
from sandbox.sinks import SinkStore, sinks_app
from sandbox.vercel_state import HttpFaults
from tests.manual_clock import ManualClock

WEBHOOK_SECRET = "xoxWEBHOOKsecret9a7d"
ROUTING_KEY = "R0UT1NGKEYsecret0123456789abcdef"  # 32 characters, like a real integration key



@pytest.fixture
def store() -> SinkStore:
    return SinkStore()


@pytest.fixture
def sinks(loop: LoopThread, store: SinkStore) -> Iterator[ServedApp]:
    served = ServedApp(loop, sinks_app(store))
    yield served
    served.stop()


@pytest.fixture
def timer() -> ManualClock:
    return ManualClock(start=0.0)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.fixture
def slack(sinks: ServedApp, client: httpx.Client, timer: ManualClock) -> SlackNotifier:
    url = f"{sinks.url}/slack/services/T0SANDBOX/B0SANDBOX/{WEBHOOK_SECRET}"
    return SlackNotifier(url, client=client, retry=RetryPolicy(sleep=timer.sleep, clock=timer.time))


@pytest.fixture
def pagerduty(sinks: ServedApp, client: httpx.Client, timer: ManualClock) -> PagerDutyNotifier:
    return PagerDutyNotifier(sinks.url, ROUTING_KEY, client=client,
                             retry=RetryPolicy(sleep=timer.sleep, clock=timer.time))


def test_a_slack_notice_arrives_as_text_with_valid_blocks(slack: SlackNotifier, store: SinkStore) -> None:
    notice = Notice("Canary of websocket-server at 25 % is failing <5xx 8 %>", severity="error",
                    details={"environment": "production", "revision": "websocket-server-00042-abc"},
                    links=(Link("https://console.example/deploy/42", "deployment 42"),))
    slack.notify(notice)
    [message] = store.slack_messages()
    assert message["text"] == notice.summary
    assert message["blocks"][0]["text"]["text"].startswith(":x: *Canary of websocket-server")
    assert "&lt;5xx 8 %&gt;" in message["blocks"][0]["text"]["text"]
    assert {"type": "mrkdwn", "text": "*environment*\nproduction"} in message["blocks"][1]["fields"]
    assert message["blocks"][2]["elements"][0]["text"] == "<https://console.example/deploy/42|deployment 42>"
    assert store.received("slack")[0].answer == "ok"


def test_many_details_are_split_into_sections_slack_accepts(slack: SlackNotifier, store: SinkStore) -> None:
    details = {f"check {i}": "passed" for i in range(23)}
    slack.notify(Notice("Verification finished", details=details))
    assert [len(b.get("fields", [])) for b in slack_blocks(Notice("x", details=details))] == [0, 10, 10, 3, 0]
    assert len(store.slack_messages()) == 1


def test_a_payload_slack_rejects_is_not_retried_and_hides_the_webhook(slack: SlackNotifier,
                                                                       store: SinkStore) -> None:
    with pytest.raises(RequestRefused) as refused:
        slack.post("deploy started", blocks=[{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}])
    assert str(refused.value) == ("Slack: posting a message to the webhook was refused: HTTP 400 "
                                  "(invalid_blocks)")
    assert len(store.received("slack")) == 1
    assert WEBHOOK_SECRET not in str(refused.value) and WEBHOOK_SECRET not in repr(slack)


def test_slack_under_thirty_percent_faults_delivers_every_message_once(loop: LoopThread,
                                                                       client: httpx.Client) -> None:
    store = SinkStore(faults=HttpFaults(share=0.3, statuses=(429, 500, 503), seed=5, retry_after=1))
    served = ServedApp(loop, sinks_app(store))
    timer = ManualClock(start=0.0)
    try:
        slack = SlackNotifier(f"{served.url}/slack/services/T/B/{WEBHOOK_SECRET}", client=client,
                              retry=RetryPolicy(max_attempts=8, sleep=timer.sleep, clock=timer.time))
        for n in range(15):
            slack.post(f"message {n}")
    finally:
        served.stop()
    assert [m["text"] for m in store.slack_messages()] == [f"message {n}" for n in range(15)]
    assert len(store.received("slack")) > 15  # faults were injected and retried through


def test_pagerduty_alert_lifecycle_by_dedup_key(pagerduty: PagerDutyNotifier, store: SinkStore) -> None:
    key = pagerduty.trigger("deploy-42-canary", "Canary of websocket-server failing", "opsconsole/production",
                            severity="critical", component="websocket-server", custom_details={"5xx": "8 %"},
                            links=[Link("https://console.example/deploy/42", "deployment")])
    assert key == "deploy-42-canary"
    assert store.alert_status(key) == "triggered"
    pagerduty.acknowledge(key)
    assert store.alert_status(key) == "acknowledged"
    pagerduty.resolve(key)
    assert store.alert_status(key) == "resolved"
    trigger = store.pagerduty_events()[0]
    assert trigger["routing_key"] == ROUTING_KEY and trigger["event_action"] == "trigger"
    assert trigger["payload"] == {"summary": "Canary of websocket-server failing",
                                  "source": "opsconsole/production", "severity": "critical",
                                  "component": "websocket-server", "custom_details": {"5xx": "8 %"}}
    assert trigger["links"] == [{"href": "https://console.example/deploy/42", "text": "deployment"}]
    assert [e["event_action"] for e in store.pagerduty_events()] == ["trigger", "acknowledge", "resolve"]


def test_a_trigger_without_a_key_gets_one_it_can_resolve_with(pagerduty: PagerDutyNotifier,
                                                                store: SinkStore) -> None:
    key = pagerduty.trigger(None, "Redis unreachable", "opsconsole/staging")
    pagerduty.resolve(key)
    assert store.alert_status(key) == "resolved"


def test_a_change_event_records_a_deploy(pagerduty: PagerDutyNotifier, store: SinkStore) -> None:
    pagerduty.change_event("Promoted frontend dpl_abc to production", source="opsconsole",
                           links=[Link("https://agent-network-web.vercel.app")],
                           custom_details={"environment": "production", "git_sha": "a" * 40})
    [change] = store.change_events()
    assert change["payload"]["summary"] == "Promoted frontend dpl_abc to production"
    assert change["payload"]["custom_details"]["environment"] == "production"
    assert change["links"] == [{"href": "https://agent-network-web.vercel.app"}]


def test_notify_pages_for_errors_and_records_changes_otherwise(pagerduty: PagerDutyNotifier,
                                                               store: SinkStore) -> None:
    pagerduty.notify(Notice("Deploy of frontend started", severity="info"))
    pagerduty.notify(Notice("Rollback of websocket-server failed", severity="error", dedup_key="rb-7"))
    assert [c["payload"]["summary"] for c in store.change_events()] == ["Deploy of frontend started"]
    assert store.alert_status("rb-7") == "triggered"


def test_an_event_pagerduty_rejects_is_sent_once_and_hides_the_routing_key(pagerduty: PagerDutyNotifier,
                                                                          store: SinkStore) -> None:
    with pytest.raises(RequestRefused) as refused:
        pagerduty.trigger("deploy-9", "   ", "opsconsole")
    message = str(refused.value)
    assert message == ("PagerDuty: triggering alert deploy-9 was refused: HTTP 400 "
                       "('payload.summary' is missing or blank)")
    assert len(store.received("pagerduty")) == 1
    assert ROUTING_KEY not in message and ROUTING_KEY not in repr(pagerduty)


def test_pagerduty_that_keeps_failing_ends_with_a_clear_error(loop: LoopThread, client: httpx.Client) -> None:
    store = SinkStore(faults=HttpFaults(share=1.0, statuses=(503,)))
    served = ServedApp(loop, sinks_app(store))
    timer = ManualClock(start=0.0)
    try:
        pagerduty = PagerDutyNotifier(served.url, ROUTING_KEY, client=client,
                                      retry=RetryPolicy(sleep=timer.sleep, clock=timer.time))
        with pytest.raises(RetriesExhausted) as failed:
            pagerduty.trigger("deploy-42", "Canary failing", "opsconsole")
    finally:
        served.stop()
    assert str(failed.value) == "PagerDuty: triggering alert deploy-42 failed after 4 attempts: HTTP 503"
    assert len(store.received("pagerduty")) == 4
    assert timer.now <= 30


def test_a_malformed_routing_key_is_bad_input_without_echoing_it() -> None:
    with pytest.raises(BadInput) as bad:
        PagerDutyNotifier("https://events.pagerduty.com", "short-secret-key")
    assert "32 characters" in str(bad.value) and "short-secret-key" not in str(bad.value)


def test_the_webhook_url_never_reaches_the_logs(slack: SlackNotifier,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="httpx"):
        slack.post("deploy finished")
    lines = [record.getMessage() for record in caplog.records if record.name == "httpx"]
    assert lines and all(WEBHOOK_SECRET not in line for line in lines)
    assert "***" in lines[0]
