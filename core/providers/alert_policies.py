"""Which alert policies fire now: the official AlertPolicyServiceClient lists them, ListTimeSeries evaluates them.

Cloud Monitoring has no public API that lists open incidents (the v3 API serves alert policies, notification
channels, snoozes and time series; incidents are seen in the console's UI or received on a channel:
cloud.google.com/monitoring/api/ref_v3/rpc, cloud.google.com/monitoring/alerts/incidents-events), so the console
evaluates each enabled threshold condition itself, over its own duration, with the rule in core.model.alerts.
A policy belongs to a service when its user labels say so (`service`, and `environment` when asked; the
infrastructure's monitoring module labels every policy so) or when a condition's filter names the service.

`evaluate` is also what the sandbox's stand-in for Monitoring's evaluation runs, over its own query engine, so
the sandbox and the console agree by construction on what "fires" means.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from core.model.alerts import FiringPolicy, PeriodValues, combine, condition_met, periods_needed, ratio, violating
from core.providers.google_retry import RetryPolicy, call_google

if TYPE_CHECKING:
    from google.cloud import monitoring_v3

API = "Cloud Monitoring"
RAW_PERIOD_S = 60.0  # a condition without aggregation compares raw points, one a minute for the metrics served
Read = Callable[["monitoring_v3.ListTimeSeriesRequest"], "list[monitoring_v3.TimeSeries]"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _number(point: monitoring_v3.Point) -> float:
    which = point.value._pb.WhichOneof("value")
    if which == "distribution_value":
        return float(point.value.distribution_value.mean)
    return float(getattr(point.value, which or "double_value"))


def _values(read: Read, project: str, filter_: str, aggregations: list[monitoring_v3.Aggregation], now: datetime,
            periods: int) -> tuple[PeriodValues, float]:
    """Per series (its labels), the value of each period, 0 being the newest (ending now)."""
    from google.cloud import monitoring_v3

    aggregation = aggregations[0] if aggregations else None  # Google applies one; the modules never give more
    period = aggregation.alignment_period.total_seconds() if aggregation and aggregation.per_series_aligner \
        else RAW_PERIOD_S
    request = monitoring_v3.ListTimeSeriesRequest(
        name=f"projects/{project}", filter=filter_,
        interval=monitoring_v3.TimeInterval(start_time=now - timedelta(seconds=period * periods), end_time=now),
        aggregation=aggregation, view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL)
    out: dict[Hashable, dict[int, float]] = {}
    for ts in read(request):
        key = (tuple(sorted(ts.resource.labels.items())), tuple(sorted(ts.metric.labels.items())))
        values = out.setdefault(key, {})
        for point in ts.points:
            index = round((now - point.interval.end_time).total_seconds() / period)
            if 0 <= index < periods and index not in values:
                values[index] = _number(point)
    return out, period


def evaluate(policy: monitoring_v3.AlertPolicy, read: Read, project: str, now: datetime) -> FiringPolicy | None:
    """The policy as firing now when its conditions hold (joined by its combiner), else None."""
    from google.cloud import monitoring_v3

    held: list[tuple[str, float, float, str, datetime]] = []
    met = []
    for condition in policy.conditions:
        threshold = condition.condition_threshold
        if not threshold or not threshold.filter:
            met.append(False)  # absence, log-match and MQL/PromQL conditions are not evaluated here
            continue
        duration = threshold.duration.total_seconds() if threshold.duration else 0.0
        first = list(threshold.aggregations)[:1]
        period = first[0].alignment_period.total_seconds() if first and first[0].per_series_aligner \
            else RAW_PERIOD_S
        periods = periods_needed(duration, period)
        series, _ = _values(read, project, threshold.filter, list(threshold.aggregations), now, periods)
        if threshold.denominator_filter:
            below, _ = _values(read, project, threshold.denominator_filter,
                               list(threshold.denominator_aggregations), now, periods)
            series = ratio(series, below)
        comparison = monitoring_v3.ComparisonType(threshold.comparison).name
        bad = violating(series, comparison, threshold.threshold_value, periods)
        trigger = threshold.trigger
        ok = condition_met(len(bad), len(series), trigger.count if trigger else 0, trigger.percent if trigger else 0.0)
        met.append(ok)
        if ok:
            worst = max(bad.values()) if comparison in ("COMPARISON_GT", "COMPARISON_GE") else min(bad.values())
            held.append((condition.display_name, worst, threshold.threshold_value, comparison,
                         now - timedelta(seconds=max(duration, period))))
    combiner = policy.combiner.name if policy.combiner else "OR"
    if not held or not combine(combiner, met):
        return None
    name, value, limit, comparison, since = held[0]
    return FiringPolicy(name=policy.name, display_name=policy.display_name, condition=name, value=value,
                        threshold=limit, comparison=comparison, since=since)


def _belongs(policy: monitoring_v3.AlertPolicy, service: str, environment: str | None) -> bool:
    labels = dict(policy.user_labels)
    if labels.get("service") == service:
        return environment is None or labels.get("environment") in (None, environment)
    named = re.compile(r'resource\.labels?\.service_name\s*=\s*"' + re.escape(service) + '"')
    return any(named.search(c.condition_threshold.filter or "") for c in policy.conditions)


class AlertPoliciesAdapter:
    """AlertPolicies (core.ports) over the official AlertPolicyServiceClient and MetricServiceClient."""

    def __init__(self, policies: monitoring_v3.AlertPolicyServiceClient, metrics: monitoring_v3.MetricServiceClient,
                 project: str, *, policy: RetryPolicy | None = None, now: Callable[[], datetime] = _utc_now) -> None:
        self._policies = policies
        self._metrics = metrics
        self.project = project
        self._policy = policy or RetryPolicy()
        self._retry = self._policy.retry()
        self._now = now  # the sandbox profile passes the sandbox clock

    def _read(self, request: monitoring_v3.ListTimeSeriesRequest) -> list[monitoring_v3.TimeSeries]:
        return call_google(API, "evaluating an alert condition of", f"projects/{self.project}",
                           lambda: list(self._metrics.list_time_series(request=request, retry=self._retry,
                                                                       timeout=self._policy.deadline)))

    def firing(self, service: str, environment: str | None = None) -> list[FiringPolicy]:
        """The enabled policies of `service` (in `environment`, when given) whose conditions hold now."""
        listed = call_google(API, "listing the alert policies of", f"projects/{self.project}",
                             lambda: list(self._policies.list_alert_policies(
                                 name=f"projects/{self.project}", retry=self._retry, timeout=self._policy.deadline)))
        now = self._now()
        out = []
        for policy in listed:
            if (policy.enabled is None or policy.enabled) and _belongs(policy, service, environment):
                fired = evaluate(policy, self._read, self.project, now)
                if fired is not None:
                    out.append(fired)
        return sorted(out, key=lambda f: f.display_name)


def alert_policy_client(monitoring_target: str, anonymous: bool) -> monitoring_v3.AlertPolicyServiceClient:
    """The AlertPolicyServiceClient on the same endpoint as the MetricService (Monitoring serves both on one host)."""
    from google.cloud import monitoring_v3

    if anonymous:
        import grpc
        from google.cloud.monitoring_v3.services.alert_policy_service.transports import AlertPolicyServiceGrpcTransport

        channel = grpc.insecure_channel(monitoring_target)
        return monitoring_v3.AlertPolicyServiceClient(transport=AlertPolicyServiceGrpcTransport(channel=channel))
    default = monitoring_target == "monitoring.googleapis.com:443"
    return monitoring_v3.AlertPolicyServiceClient(client_options=None if default else
                                                  {"api_endpoint": monitoring_target})
