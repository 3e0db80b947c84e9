"""Alert policies in the sandbox, through the official clients: Google's checks, the infrastructure's 5xx policy
firing under a fault and resolving when it clears (Slack and PagerDuty told both times), and the console's adapter
naming the policy that fires."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import grpc
import pytest
from google.api_core import exceptions as gexc
from google.cloud import monitoring_v3
from google.cloud.monitoring_v3.services.notification_channel_service.transports import (
    NotificationChannelServiceGrpcTransport,
)

from core.providers.alert_policies import AlertPoliciesAdapter, alert_policy_client
from core.providers.profile import GoogleClients
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from tests.google_rig import FAST, PROJECT

SERVICE = "websocket-server"
RUN = f'resource.type="cloud_run_revision" AND resource.labels.service_name="{SERVICE}"'
COUNT = f'metric.type="run.googleapis.com/request_count" AND {RUN}'
PD_KEY = "0123456789abcdef0123456789abcdef"
Policy = monitoring_v3.AlertPolicy


@pytest.fixture
def policies(cloud: SandboxCloud) -> Iterator[monitoring_v3.AlertPolicyServiceClient]:
    client = alert_policy_client(cloud.endpoints.monitoring_target, anonymous=True)
    yield client
    client.transport.close()


@pytest.fixture
def channels(cloud: SandboxCloud) -> Iterator[monitoring_v3.NotificationChannelServiceClient]:
    channel = grpc.insecure_channel(cloud.endpoints.monitoring_target)
    client = monitoring_v3.NotificationChannelServiceClient(
        transport=NotificationChannelServiceGrpcTransport(channel=channel))
    yield client
    client.transport.close()


def error_rate_policy(channel_names: list[str]) -> Policy:
    """infrastructure/modules/monitoring/main.tf's google_monitoring_alert_policy.error_rate, for production."""
    rate = monitoring_v3.Aggregation(alignment_period=timedelta(seconds=60),
                                     per_series_aligner=monitoring_v3.Aggregation.Aligner.ALIGN_RATE,
                                     cross_series_reducer=monitoring_v3.Aggregation.Reducer.REDUCE_SUM)
    return Policy(
        display_name=f"{SERVICE} production: 5xx rate above 5.0 %", combiner=Policy.ConditionCombinerType.OR,
        notification_channels=channel_names, user_labels={"environment": "production", "service": SERVICE},
        conditions=[Policy.Condition(display_name="5xx responses / all responses", condition_threshold=(
            Policy.Condition.MetricThreshold(
                filter=f'{COUNT} AND metric.labels.response_code_class="5xx"', denominator_filter=COUNT,
                comparison=monitoring_v3.ComparisonType.COMPARISON_GT, threshold_value=0.05,
                duration=timedelta(seconds=300), aggregations=[rate], denominator_aggregations=[rate])))])


def test_the_5xx_policy_fires_under_a_fault_and_resolves_when_it_clears(
        cloud: SandboxCloud, clock: SandboxClock, clients: GoogleClients,
        policies: monitoring_v3.AlertPolicyServiceClient,
        channels: monitoring_v3.NotificationChannelServiceClient) -> None:
    slack = channels.create_notification_channel(name=f"projects/{PROJECT}", notification_channel={
        "type_": "slack", "display_name": "Slack #ops", "labels": {"channel_name": "#ops", "auth_token": "xoxb-1"}})
    page = channels.create_notification_channel(name=f"projects/{PROJECT}", notification_channel={
        "type_": "pagerduty", "display_name": "PagerDuty", "labels": {"service_key": PD_KEY}})
    assert slack.labels["auth_token"] != "xoxb-1" and page.labels["service_key"] != PD_KEY  # answered masked
    created = policies.create_alert_policy(name=f"projects/{PROJECT}", alert_policy=error_rate_policy(
        [slack.name, page.name]))
    assert created.name.startswith(f"projects/{PROJECT}/alertPolicies/") and created.enabled
    adapter = AlertPoliciesAdapter(policies, clients.metrics, PROJECT, policy=FAST, now=clock.now)

    clock.advance(600)
    assert cloud.alert_evaluator.evaluate() == [] and adapter.firing(SERVICE, "production") == []

    cloud.set_scenario("canary-5xx", strike_serving=True)  # the serving revision answers 8 % with 5xx from now
    clock.advance(180)
    assert cloud.alert_evaluator.evaluate() == []  # three minutes over the limit: not yet its five-minute duration
    clock.advance(180)
    (opened,) = cloud.alert_evaluator.evaluate()
    (firing,) = adapter.firing(SERVICE, "production")
    assert firing.name == created.name and firing.value > 0.05 and firing.threshold == 0.05
    assert adapter.firing("other-service") == []
    (message,) = cloud.sinks.slack_messages()
    assert "5xx rate above 5.0 %" in message["text"] and "opened" in message["text"]
    (trigger,) = cloud.sinks.pagerduty_events()
    assert trigger["event_action"] == "trigger" and trigger["dedup_key"] == opened.id
    assert cloud.sinks.alert_status(opened.id) == "triggered"

    cloud.set_scenario("healthy")
    clock.advance(360)
    (closed,) = cloud.alert_evaluator.evaluate()
    assert closed.id == opened.id and closed.closed_at is not None and not closed.failures
    assert adapter.firing(SERVICE, "production") == []
    assert "closed" in cloud.sinks.slack_messages()[-1]["text"]
    resolve = cloud.sinks.pagerduty_events()[-1]
    assert resolve["event_action"] == "resolve" and resolve["dedup_key"] == opened.id
    assert cloud.sinks.alert_status(opened.id) == "resolved"


def test_policies_are_created_read_updated_and_deleted(policies: monitoring_v3.AlertPolicyServiceClient) -> None:
    created = policies.create_alert_policy(name=f"projects/{PROJECT}", alert_policy=error_rate_policy([]))
    assert policies.get_alert_policy(name=created.name).display_name == created.display_name
    created.display_name = "renamed"
    updated = policies.update_alert_policy(alert_policy=created, update_mask={"paths": ["display_name"]})
    assert updated.display_name == "renamed"
    assert [p.name for p in policies.list_alert_policies(name=f"projects/{PROJECT}")] == [created.name]
    policies.delete_alert_policy(name=created.name)
    with pytest.raises(gexc.NotFound):
        policies.get_alert_policy(name=created.name)


def bad(policy: Policy, **change: object) -> Policy:
    copy = Policy(policy)
    for key, value in change.items():
        setattr(copy, key, value)
    return copy


@pytest.mark.parametrize(("change", "error", "words"), [
    ({"display_name": ""}, gexc.InvalidArgument, "displayName is required"),
    ({"conditions": []}, gexc.InvalidArgument, "1 to 6 conditions"),
    ({"notification_channels": [f"projects/{PROJECT}/notificationChannels/404"]}, gexc.NotFound, "does not exist"),
])
def test_bad_policies_are_refused_with_googles_codes(policies: monitoring_v3.AlertPolicyServiceClient,
                                                     change: dict[str, object], error: type[Exception],
                                                     words: str) -> None:
    with pytest.raises(error, match=words):
        policies.create_alert_policy(name=f"projects/{PROJECT}", alert_policy=bad(error_rate_policy([]), **change))


def test_a_condition_with_a_query_google_refuses_is_refused(policies: monitoring_v3.AlertPolicyServiceClient) -> None:
    policy = error_rate_policy([])
    policy.conditions[0].condition_threshold.filter = 'metric.type="run.googleapis.com/request_count" AND (x'
    with pytest.raises(gexc.InvalidArgument, match="Field filter had an invalid value"):
        policies.create_alert_policy(name=f"projects/{PROJECT}", alert_policy=policy)
    policy = error_rate_policy([])
    policy.conditions[0].condition_threshold.filter = 'metric.type="run.googleapis.com/request_latencies"'
    policy.conditions[0].condition_threshold.denominator_filter = ""
    with pytest.raises(gexc.InvalidArgument, match="cannot be applied to metrics with kind DELTA and value type "
                                                   "DISTRIBUTION"):
        policies.create_alert_policy(name=f"projects/{PROJECT}", alert_policy=policy)
    with pytest.raises(gexc.InvalidArgument, match="projects/PROJECT_ID/alertPolicies/ID"):
        policies.get_alert_policy(name="alertPolicies/1")
