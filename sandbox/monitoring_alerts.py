"""The sandbox's Cloud Monitoring AlertPolicyService and NotificationChannelService (gRPC, the official protos).

Create, get, list, update (with an update mask of top-level fields) and delete, checked as Google checks them:
names `projects/P/alertPolicies/ID` and `projects/P/notificationChannels/ID`; NOT_FOUND for what does not
exist; a policy needs a display name, 1 to 6 conditions (each with a display name and a condition), a combiner
when it has several, notification channels that exist; a threshold condition a valid filter, a comparison and
aggregations ListTimeSeries would accept, with an alignment period of at most 25 hours ("90,000 seconds for
alerting policies", the Aggregation reference); a channel a known type and its required labels. Sensitive
labels (a Slack token, a PagerDuty key) are answered masked, as Google does, and kept in memory only: the
state file holds the masked form.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from google.cloud import monitoring_v3
from google.protobuf import empty_pb2

from sandbox.cloudrun_model import ApiError
from sandbox.monitoring_query import Query
from sandbox.monitoring_sources import RUN_METRICS

ALERT_SERVICE = "google.monitoring.v3.AlertPolicyService"
CHANNEL_SERVICE = "google.monitoring.v3.NotificationChannelService"
MAX_CONDITIONS = 6
MAX_ALERT_PERIOD_S = 90_000
MASK = "**********"
# channel type -> (required labels, sensitive labels)
CHANNEL_TYPES = {"slack": ({"channel_name", "auth_token"}, {"auth_token"}),
                 "pagerduty": ({"service_key"}, {"service_key"}),
                 "email": ({"email_address"}, set()),
                 "webhook_tokenauth": ({"url"}, set())}


def _bad(field: str, why: str) -> ApiError:
    return ApiError("INVALID_ARGUMENT", f"Field {field} {why}")


class AlertStore:
    """Alert policies and notification channels per project, and the sensitive labels of channels (memory only)."""

    def __init__(self, projects: Callable[[], set[str]], clock: Callable[[], float]) -> None:
        self._projects = projects
        self._clock = clock
        self._lock = threading.Lock()
        self.policies: dict[str, monitoring_v3.AlertPolicy] = {}
        self.channels: dict[str, monitoring_v3.NotificationChannel] = {}
        self.secrets: dict[str, dict[str, str]] = {}  # channel name -> sensitive label -> value
        self.listeners: list[Callable[[], None]] = []

    def _project(self, name: str) -> str:
        project = name.removeprefix("projects/")
        if not name.startswith("projects/") or "/" in project or not project:
            raise _bad("name", f'had an invalid value of "{name}": must be projects/PROJECT_ID.')
        if project not in self._projects():
            raise ApiError("NOT_FOUND", f"Project {project!r} is not known to the sandbox.")
        return project

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def _record(self) -> monitoring_v3.MutationRecord:
        return monitoring_v3.MutationRecord(mutate_time=datetime.fromtimestamp(self._clock(), UTC),
                                            mutated_by="sandbox")

    @staticmethod
    def _lookup(table: dict[str, Any], name: str, kind: str) -> Any:
        parts = name.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != kind or not parts[3]:
            raise _bad("name", f'had an invalid value of "{name}": must be projects/PROJECT_ID/{kind}/ID.')
        found = table.get(name)
        if found is None:
            raise ApiError("NOT_FOUND", f"Requested entity was not found: {name}.")
        return found

    # -- alert policies --------------------------------------------------------------------------

    def _check_policy(self, project: str, policy: monitoring_v3.AlertPolicy) -> None:
        if not policy.display_name.strip():
            raise _bad("alertPolicy.displayName", "is required.")
        conditions = list(policy.conditions)
        if not 1 <= len(conditions) <= MAX_CONDITIONS:
            raise _bad("alertPolicy.conditions", f"must hold 1 to {MAX_CONDITIONS} conditions, got {len(conditions)}.")
        if len(conditions) > 1 and not policy.combiner:
            raise _bad("alertPolicy.combiner", "is required when a policy has more than one condition.")
        for i, condition in enumerate(conditions):
            where = f"alertPolicy.conditions[{i}]"
            if not condition.display_name.strip():
                raise _bad(f"{where}.displayName", "is required.")
            kinds = [k for k in ("condition_threshold", "condition_absent", "condition_matched_log",
                                 "condition_monitoring_query_language", "condition_prometheus_query_language")
                     if k in condition]
            if len(kinds) != 1:
                raise _bad(where, "must set exactly one condition (conditionThreshold, conditionAbsent, ...).")
            if kinds[0] == "condition_threshold":
                self._check_threshold(f"{where}.conditionThreshold", condition.condition_threshold)
        for channel in policy.notification_channels:
            if channel not in self.channels or not channel.startswith(f"projects/{project}/"):
                raise ApiError("NOT_FOUND", f"Notification channel {channel} does not exist.")

    @staticmethod
    def _check_threshold(where: str, threshold: monitoring_v3.AlertPolicy.Condition.MetricThreshold) -> None:
        if not threshold.comparison:
            raise _bad(f"{where}.comparison", "is required.")
        if not threshold.filter:
            raise _bad(f"{where}.filter", "is required.")
        pairs = [(threshold.filter, list(threshold.aggregations))]
        if threshold.denominator_filter:
            pairs.append((threshold.denominator_filter, list(threshold.denominator_aggregations)))
        for filter_, aggregations in pairs:
            for agg in aggregations or [None]:
                if agg is not None and agg.alignment_period and \
                        agg.alignment_period.total_seconds() > MAX_ALERT_PERIOD_S:
                    raise _bad(f"{where}.aggregations.alignmentPeriod",
                               f"must be at most {MAX_ALERT_PERIOD_S} seconds for alerting policies.")
                query = Query(monitoring_v3.ListTimeSeriesRequest(
                    filter=filter_, aggregation=agg, interval=monitoring_v3.TimeInterval(end_time=datetime.now(UTC))))
                if query.metric in RUN_METRICS:  # the aligner and reducer must suit the metric, as in a query
                    query.check_types(*RUN_METRICS[query.metric][:2])

    def create_policy(self, request: monitoring_v3.CreateAlertPolicyRequest) -> monitoring_v3.AlertPolicy:
        project = self._project(request.name)
        policy = monitoring_v3.AlertPolicy(request.alert_policy)
        with self._lock:
            self._check_policy(project, policy)
            policy.name = f"projects/{project}/alertPolicies/{uuid.uuid4().int % 10**19}"
            for i, condition in enumerate(policy.conditions):
                condition.name = f"{policy.name}/conditions/{uuid.uuid4().int % 10**19 + i}"
            if "enabled" not in policy:
                policy.enabled = True
            policy.creation_record = policy.mutation_record = self._record()
            self.policies[policy.name] = policy
        self._changed()
        return policy

    def get_policy(self, request: monitoring_v3.GetAlertPolicyRequest) -> monitoring_v3.AlertPolicy:
        with self._lock:
            return self._lookup(self.policies, request.name, "alertPolicies")  # type: ignore[no-any-return]

    def list_policies(self, request: monitoring_v3.ListAlertPoliciesRequest) -> monitoring_v3.ListAlertPoliciesResponse:
        project = self._project(request.name)
        if request.filter:
            raise ApiError("UNIMPLEMENTED", "The sandbox lists alert policies without a filter.")
        with self._lock:
            found = sorted((p for n, p in self.policies.items() if n.startswith(f"projects/{project}/")),
                           key=lambda p: p.name)
        return monitoring_v3.ListAlertPoliciesResponse(alert_policies=found, total_size=len(found))

    def update_policy(self, request: monitoring_v3.UpdateAlertPolicyRequest) -> monitoring_v3.AlertPolicy:
        wanted = request.alert_policy
        with self._lock:
            current = self._lookup(self.policies, wanted.name, "alertPolicies")
            merged = monitoring_v3.AlertPolicy(current)
            paths = list(request.update_mask.paths) if request.update_mask else []
            if paths:
                for path in paths:
                    field = path.split(".")[0]
                    setattr(merged, field, getattr(wanted, field))
            else:
                merged = monitoring_v3.AlertPolicy(wanted, creation_record=current.creation_record)
            self._check_policy(wanted.name.split("/")[1], merged)
            merged.mutation_record = self._record()
            self.policies[merged.name] = merged
        self._changed()
        return merged

    def delete_policy(self, request: monitoring_v3.DeleteAlertPolicyRequest) -> empty_pb2.Empty:
        with self._lock:
            self._lookup(self.policies, request.name, "alertPolicies")
            del self.policies[request.name]
        self._changed()
        return empty_pb2.Empty()

    # -- notification channels -------------------------------------------------------------------

    def _masked(self, channel: monitoring_v3.NotificationChannel) -> monitoring_v3.NotificationChannel:
        shown = monitoring_v3.NotificationChannel(channel)
        for label in CHANNEL_TYPES.get(channel.type_, (set(), set()))[1]:
            if label in shown.labels:
                shown.labels[label] = MASK
        return shown

    def create_channel(self, request: monitoring_v3.CreateNotificationChannelRequest
                       ) -> monitoring_v3.NotificationChannel:
        project = self._project(request.name)
        channel = monitoring_v3.NotificationChannel(request.notification_channel)
        if channel.type_ not in CHANNEL_TYPES:
            raise _bad("notificationChannel.type", f'had an invalid value of "{channel.type_}": the sandbox knows '
                                                   f"{', '.join(sorted(CHANNEL_TYPES))}.")
        required, sensitive = CHANNEL_TYPES[channel.type_]
        missing = sorted(required - set(channel.labels))
        if missing:
            raise _bad("notificationChannel.labels", f"must set {', '.join(missing)} for a {channel.type_} channel.")
        channel.name = f"projects/{project}/notificationChannels/{uuid.uuid4().int % 10**19}"
        if "enabled" not in channel:
            channel.enabled = True
        channel.creation_record = self._record()
        with self._lock:
            self.secrets[channel.name] = {k: channel.labels[k] for k in sensitive}
            stored = self._masked(channel)
            self.channels[channel.name] = stored
        self._changed()
        return stored

    def get_channel(self, request: monitoring_v3.GetNotificationChannelRequest) -> monitoring_v3.NotificationChannel:
        with self._lock:
            return self._lookup(self.channels, request.name, "notificationChannels")  # type: ignore[no-any-return]

    def list_channels(self, request: monitoring_v3.ListNotificationChannelsRequest
                      ) -> monitoring_v3.ListNotificationChannelsResponse:
        project = self._project(request.name)
        with self._lock:
            found = sorted((c for n, c in self.channels.items() if n.startswith(f"projects/{project}/")),
                           key=lambda c: c.name)
        return monitoring_v3.ListNotificationChannelsResponse(notification_channels=found, total_size=len(found))

    def delete_channel(self, request: monitoring_v3.DeleteNotificationChannelRequest) -> empty_pb2.Empty:
        with self._lock:
            self._lookup(self.channels, request.name, "notificationChannels")
            users = [p.name for p in self.policies.values() if request.name in p.notification_channels]
            if users and not request.force:
                raise ApiError("FAILED_PRECONDITION", f"Notification channel {request.name} is used by alert "
                                                      f"policies ({', '.join(users)}); delete with force.")
            del self.channels[request.name]
            self.secrets.pop(request.name, None)
        self._changed()
        return empty_pb2.Empty()

    # -- persistence -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, list[str]]:
        with self._lock:
            return {"policies": [monitoring_v3.AlertPolicy.to_json(p) for p in self.policies.values()],
                    "channels": [monitoring_v3.NotificationChannel.to_json(c) for c in self.channels.values()]}

    def load(self, data: dict[str, list[str]] | None) -> None:
        if not data:
            return
        with self._lock:
            policies = [monitoring_v3.AlertPolicy.from_json(text) for text in data["policies"]]
            channels = [monitoring_v3.NotificationChannel.from_json(text) for text in data["channels"]]
            self.policies = {p.name: p for p in policies}
            self.channels = {c.name: c for c in channels}


def handlers(store: AlertStore) -> dict[str, dict[str, tuple[Callable[[Any], Any], Any, Any]]]:
    """Per gRPC service, method -> (function, request class, response serializer)."""
    ser = {"policy": monitoring_v3.AlertPolicy.serialize, "channel": monitoring_v3.NotificationChannel.serialize,
           "empty": empty_pb2.Empty.SerializeToString}
    return {
        ALERT_SERVICE: {
            "CreateAlertPolicy": (store.create_policy, monitoring_v3.CreateAlertPolicyRequest, ser["policy"]),
            "GetAlertPolicy": (store.get_policy, monitoring_v3.GetAlertPolicyRequest, ser["policy"]),
            "ListAlertPolicies": (store.list_policies, monitoring_v3.ListAlertPoliciesRequest,
                                  monitoring_v3.ListAlertPoliciesResponse.serialize),
            "UpdateAlertPolicy": (store.update_policy, monitoring_v3.UpdateAlertPolicyRequest, ser["policy"]),
            "DeleteAlertPolicy": (store.delete_policy, monitoring_v3.DeleteAlertPolicyRequest, ser["empty"]),
        },
        CHANNEL_SERVICE: {
            "CreateNotificationChannel": (store.create_channel, monitoring_v3.CreateNotificationChannelRequest,
                                          ser["channel"]),
            "GetNotificationChannel": (store.get_channel, monitoring_v3.GetNotificationChannelRequest, ser["channel"]),
            "ListNotificationChannels": (store.list_channels, monitoring_v3.ListNotificationChannelsRequest,
                                         monitoring_v3.ListNotificationChannelsResponse.serialize),
            "DeleteNotificationChannel": (store.delete_channel, monitoring_v3.DeleteNotificationChannelRequest,
                                          ser["empty"]),
        },
    }
