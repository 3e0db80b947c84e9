"""`opsconsole infra apply` puts the monitoring module's alert policies and notification channels into the sandbox's
Cloud Monitoring, as the google provider would: read back with the official clients, a second apply changes
nothing, a changed threshold updates the one policy, and the policies reach Slack and PagerDuty."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.cloud import monitoring_v3

from core.config import default_config
from sandbox.terraform_apply_monitoring import clients
from tests.infra_rig import InfraRig, infra_rig_fixture  # noqa: F401  (the fixture)

PRODUCTION = default_config().environment("production").infrastructure
PROJECT = f"projects/{PRODUCTION.gcp_project}"
OPERATOR = {"OPSCONSOLE_OPERATOR": "alice", "OPSCONSOLE_TEAMS__OPERATIONS": '["alice"]'}


@pytest.fixture
def monitoring(infra_rig: InfraRig) -> Iterator[tuple[monitoring_v3.NotificationChannelServiceClient,
                                                      monitoring_v3.AlertPolicyServiceClient]]:
    with clients(infra_rig.cloud.endpoints.monitoring_target) as both:
        yield both


def apply(infra_rig: InfraRig) -> None:
    code, _, err = infra_rig.run("infra", "apply", "production", "--yes", **OPERATOR)
    assert code == 0, err


def test_an_apply_leaves_the_modules_policies_and_channels_and_a_second_changes_nothing(
        infra_rig: InfraRig, monitoring: tuple) -> None:
    channel_client, policy_client = monitoring
    apply(infra_rig)

    channels = {c.type_: c for c in channel_client.list_notification_channels(name=PROJECT)}
    assert sorted(channels) == ["pagerduty", "slack"]
    assert channels["slack"].display_name == "Slack #agent-network-ops (production)"
    assert channels["slack"].labels["channel_name"] == "#agent-network-ops"
    assert channels["slack"].labels["auth_token"] == "**********"  # a sensitive label, answered masked
    assert dict(channels["pagerduty"].user_labels) == {"environment": "production", "service": "websocket-server"}

    policies = {p.display_name: p for p in policy_client.list_alert_policies(name=PROJECT)}
    assert sorted(policies) == [
        "Redis production: memory above 80 %", "Redis production: more than 5000 clients",
        "websocket-server production: 5xx rate above 5 %",
        "websocket-server production: instances near the maximum of 20",
        "websocket-server production: p99 latency above 1000 ms"]
    errors = policies["websocket-server production: 5xx rate above 5 %"]
    assert sorted(errors.notification_channels) == sorted(c.name for c in channels.values())
    threshold = errors.conditions[0].condition_threshold
    assert threshold.threshold_value == 0.05 and threshold.duration.total_seconds() == 300
    assert threshold.filter == ('metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'
                                ' AND resource.labels.service_name="websocket-server" AND '
                                'metric.labels.response_code_class="5xx"')
    assert threshold.denominator_aggregations[0].per_series_aligner == monitoring_v3.Aggregation.Aligner.ALIGN_RATE
    instances = policies["websocket-server production: instances near the maximum of 20"]
    assert instances.conditions[0].condition_threshold.threshold_value == 16  # floor(20 * 0.8)
    # The PagerDuty key reached Monitoring (kept unmasked inside, where the evaluator pages with it).
    assert len(infra_rig.cloud.alerts.secrets[channels["pagerduty"].name]["service_key"]) == 32

    apply(infra_rig)  # nothing differs: no call changes anything (an update would stamp a new mutation record)
    assert list(policy_client.list_alert_policies(name=PROJECT)) == sorted(policies.values(), key=lambda p: p.name)
    assert list(channel_client.list_notification_channels(name=PROJECT)) == \
        sorted(channels.values(), key=lambda c: c.name)


def test_a_changed_configuration_updates_the_policy_it_changes(infra_rig: InfraRig, monitoring: tuple) -> None:
    _, policy_client = monitoring
    apply(infra_rig)
    before = {p.display_name: p.name for p in policy_client.list_alert_policies(name=PROJECT)}

    code, _, err = infra_rig.run("infra", "apply", "production", "--yes", **OPERATOR,
                                   OPSCONSOLE_ENVIRONMENTS__PRODUCTION__INFRASTRUCTURE__MAX_INSTANCES="30")
    assert code == 0, err
    after = {p.display_name: p for p in policy_client.list_alert_policies(name=PROJECT)}
    assert len(after) == 5
    moved = after["websocket-server production: instances near the maximum of 30"]
    assert moved.conditions[0].condition_threshold.threshold_value == 24
    # Found by its former display name and updated in place, as the provider updates the id in its state.
    assert moved.name == before["websocket-server production: instances near the maximum of 20"]
    assert moved.mutation_record != moved.creation_record
