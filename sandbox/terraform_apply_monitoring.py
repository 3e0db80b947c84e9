"""What the Terraform stand-in's apply does to the sandbox's Monitoring: alert policies and notification channels.

Real Terraform's google provider creates, updates and deletes `google_monitoring_notification_channel` and
`google_monitoring_alert_policy` through Cloud Monitoring's NotificationChannelService and AlertPolicyService. The
stand-in does the same through the official google-cloud-monitoring clients (gRPC) against the running sandbox
(TF_STANDIN_MONITORING_TARGET, host:port, set by the composition root beside TF_STANDIN_CLOUDRUN_URL). Channels
come first, since policies name them; deletions run the other way round. `translate` is the one reading of the
module's attributes as API objects: the sandbox's seed (sandbox/seed_alerting.py) creates the same objects from it.

The stand-in's state holds the planned attributes, not the ids the provider would keep, so an object is found the
way a person finds it in the console: by its display name (and a channel also by its type) in its project. Like a
refresh, an apply compares every planned object with what Monitoring answers and changes only what differs, so a
second apply changes nothing. Sensitive labels are answered masked and are not compared, as the provider cannot
either. The sandbox serves no UpdateNotificationChannel, so a changed channel is deleted and created again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from google.cloud import monitoring_v3

from sandbox.terraform_apply import MONITORING_VARIABLE, ApplyFailed
from sandbox.terraform_module_values import (
    Instance,
    NotKnown,
    Scope,
    counted,
    data_sources,
    module_outputs,
    resource_names,
)

CHANNEL_TYPE = "google_monitoring_notification_channel"
POLICY_TYPE = "google_monitoring_alert_policy"
Policy = monitoring_v3.AlertPolicy
Channel = monitoring_v3.NotificationChannel


class Untranslatable(Exception):
    """An attribute the stand-in cannot send; the apply reports it in Terraform's error box."""


def _first(value: Any) -> dict[str, Any]:
    return value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else {}


def _duration(text: Any) -> timedelta:
    if not isinstance(text, str) or not text.endswith("s"):
        raise Untranslatable(f"a duration must be written like \"300s\", got {text!r}")
    return timedelta(seconds=float(text[:-1]))


def _aggregation(block: dict[str, Any]) -> monitoring_v3.Aggregation:
    agg = monitoring_v3.Aggregation(group_by_fields=list(block.get("group_by_fields") or []))
    if block.get("alignment_period"):
        agg.alignment_period = _duration(block["alignment_period"])
    if block.get("per_series_aligner"):
        agg.per_series_aligner = monitoring_v3.Aggregation.Aligner[block["per_series_aligner"]]
    if block.get("cross_series_reducer"):
        agg.cross_series_reducer = monitoring_v3.Aggregation.Reducer[block["cross_series_reducer"]]
    return agg


def _condition(block: dict[str, Any]) -> Policy.Condition:
    threshold = _first(block.get("condition_threshold"))
    if not threshold:
        raise Untranslatable(f"condition {block.get('display_name')!r}: the stand-in applies condition_threshold only")
    made = Policy.Condition.MetricThreshold(
        filter=threshold.get("filter", ""), denominator_filter=threshold.get("denominator_filter") or "",
        comparison=monitoring_v3.ComparisonType[threshold.get("comparison") or "COMPARISON_UNSPECIFIED"],
        threshold_value=float(threshold.get("threshold_value") or 0),
        duration=_duration(threshold.get("duration") or "0s"),
        aggregations=[_aggregation(a) for a in threshold.get("aggregations") or []],
        denominator_aggregations=[_aggregation(a) for a in threshold.get("denominator_aggregations") or []])
    trigger = _first(threshold.get("trigger"))
    if trigger:
        made.trigger = Policy.Condition.Trigger(count=int(trigger.get("count") or 0),
                                                percent=float(trigger.get("percent") or 0))
    return Policy.Condition(display_name=block.get("display_name", ""), condition_threshold=made)


def policy_of(values: dict[str, Any]) -> Policy:
    """A google_monitoring_alert_policy's (rendered) attributes as the AlertPolicy the provider sends."""
    policy = Policy(display_name=values.get("display_name", ""),
                    combiner=Policy.ConditionCombinerType[values.get("combiner") or "COMBINE_UNSPECIFIED"],
                    enabled=values.get("enabled", True) is not False,
                    notification_channels=list(values.get("notification_channels") or []),
                    user_labels=dict(values.get("user_labels") or {}),
                    conditions=[_condition(c) for c in values.get("conditions") or []])
    documentation = _first(values.get("documentation"))
    if documentation:
        policy.documentation = Policy.Documentation(content=documentation.get("content", ""),
                                                    mime_type=documentation.get("mime_type") or "text/markdown")
    return policy


def channel_of(values: dict[str, Any]) -> Channel:
    """A google_monitoring_notification_channel's attributes as the NotificationChannel the provider sends: its
    sensitive_labels block goes into labels, where the API takes them (and answers them masked)."""
    labels = {k: str(v) for k, v in (values.get("labels") or {}).items() if v is not None}
    labels.update({k: str(v) for k, v in _first(values.get("sensitive_labels")).items() if v is not None})
    return Channel(type_=values.get("type", ""), display_name=values.get("display_name", ""),
                   description=values.get("description") or "", labels=labels,
                   user_labels=dict(values.get("user_labels") or {}),
                   enabled=values.get("enabled", True) is not False)


@dataclass
class Translation:
    """The monitoring objects of a configuration: channels now, policies once the channels' names are known."""

    channels: list[tuple[str, str, Channel]] = field(default_factory=list)  # (address, project, channel)
    policy_values: list[tuple[str, str, dict[str, Any], Scope]] = field(default_factory=list)
    scopes: dict[str, Scope] = field(default_factory=dict)  # per module address

    def display_name(self, item: Instance) -> str:
        """The display name of an object the plan no longer keeps, rendered as far as the plan's scope allows."""
        text = item.values.get("display_name") or ""
        try:
            return str(self.scopes[item.module].render(text)) if item.module in self.scopes else str(text)
        except NotKnown:
            return str(text)

    def policies(self, channel_names: dict[str, str]) -> list[tuple[str, str, Policy]]:
        """The policies, their channel references resolved to `channel_names` (address -> API name)."""
        out = []
        for address, project, values, scope in self.policy_values:
            module = address.rsplit(POLICY_TYPE, 1)[0].rstrip(".")
            channels = {name: [] for name, value in scope.names.get(CHANNEL_TYPE, {}).items()
                        if isinstance(value, list)}
            for channel_address, name in channel_names.items():
                if channel_address.startswith(f"{module}.{CHANNEL_TYPE}." if module else f"{CHANNEL_TYPE}."):
                    resource = channel_address.rsplit(".", 1)[-1].split("[")[0]
                    channels.setdefault(resource, []).append({"id": name})
            names = {**scope.names, CHANNEL_TYPE: channels}
            try:
                rendered = Scope(names, scope.evaluator.variables).render(values)
            except NotKnown as exc:
                raise Untranslatable(f"{address}: cannot evaluate {exc}") from None
            out.append((address, project, policy_of(rendered)))
        return out


def translate(instances: list[Instance], root: Path, variables: dict[str, Any]) -> Translation:
    """The channels and policies among `instances` (a plan's or a rendered configuration's) as API objects."""
    wanted = [i for i in instances if i.type in (CHANNEL_TYPE, POLICY_TYPE)]
    result = Translation()
    if not wanted:
        return result
    outputs = module_outputs(root, variables, instances)
    scopes = result.scopes
    for item in wanted:
        if item.module not in scopes:
            directory = _module_directory(root, item.module)
            given = _module_variables(root, variables, item.module, outputs)
            names = {**resource_names(instances, item.module, counted(directory)), "module": outputs,
                     "data": data_sources(directory, given)}
            scopes[item.module] = Scope(names, given)
        scope = scopes[item.module]
        project = str(item.values.get("project") or "")
        if item.type == CHANNEL_TYPE:
            try:
                result.channels.append((item.address, project, channel_of(scope.render(item.values))))
            except NotKnown as exc:
                raise Untranslatable(f"{item.address}: cannot evaluate {exc}") from None
        else:
            result.policy_values.append((item.address, project, item.values, scope))
    return result


def _module_directory(root: Path, module: str) -> Path:
    from sandbox import terraform_hcl as hcl

    directory = root
    for name in module.split(".")[1::2]:  # "module.a.module.b" -> a, b
        directory = (directory / str(hcl.load_module(directory).modules[name].get("source", ""))).resolve()
    return directory


def _module_variables(root: Path, variables: dict[str, Any], module: str,
                      outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The variables a (first-level) module is called with, its defaults filled in, module references resolved."""
    from sandbox import terraform_hcl as hcl

    if not module:
        return variables
    name = module.split(".")[1]
    given = hcl.module_inputs(root, variables)[name]
    spec = hcl.load_module(_module_directory(root, module)).variables
    values = {k: s["default"] for k, s in spec.items() if isinstance(s, dict) and "default" in s}
    scope = Scope({"module": outputs})
    for key, value in given.items():
        try:
            values[key] = scope.render(value)
        except NotKnown:
            continue
    return values


# -- the apply ---------------------------------------------------------------------------------------------------

def instances_of(resource_changes: list[dict[str, Any]], side: str) -> list[Instance]:
    """The instances a plan keeps (`after`) or had (`before`)."""
    return [Instance(c.get("module_address", ""), c["type"], c["name"], c.get("index"), c["change"][side])
            for c in resource_changes if isinstance(c["change"].get(side), dict)]


@contextmanager
def clients(target: str) -> Iterator[tuple[monitoring_v3.NotificationChannelServiceClient,
                                          monitoring_v3.AlertPolicyServiceClient]]:
    """The official clients on the sandbox's Monitoring (anonymous, plain gRPC on loopback)."""
    import grpc
    from google.cloud.monitoring_v3.services.alert_policy_service.transports import AlertPolicyServiceGrpcTransport
    from google.cloud.monitoring_v3.services.notification_channel_service.transports import (
        NotificationChannelServiceGrpcTransport,
    )

    channel = grpc.insecure_channel(target)
    try:
        yield (monitoring_v3.NotificationChannelServiceClient(
                   transport=NotificationChannelServiceGrpcTransport(channel=channel)),
               monitoring_v3.AlertPolicyServiceClient(transport=AlertPolicyServiceGrpcTransport(channel=channel)))
    finally:
        channel.close()


def apply_monitoring(resource_changes: list[dict[str, Any]], variables: dict[str, Any], root: Path | None = None,
                     target: str | None = None) -> list[str]:
    """Make the sandbox's channels and policies look like the plan's; one line per object changed."""
    target = target if target is not None else os.environ.get(MONITORING_VARIABLE, "")
    types = (CHANNEL_TYPE, POLICY_TYPE)
    if not target or not any(c.get("type") in types for c in resource_changes):
        return []
    from google.api_core import exceptions as gexc

    root = root or Path.cwd()
    try:
        wanted = translate(instances_of(resource_changes, "after"), root, variables)
        with clients(target) as (channel_client, policy_client):
            return Converge(channel_client, policy_client).run(
                wanted, [i for i in instances_of(resource_changes, "before") if i.type in types
                         and i.address not in {c["address"] for c in resource_changes if c["change"].get("after")}])
    except Untranslatable as exc:
        raise ApplyFailed(f"Error applying Monitoring: {exc}") from None
    except gexc.GoogleAPICallError as exc:
        raise ApplyFailed(f"Error applying Monitoring at {target}: {exc.message}") from None


class Converge:
    """Create, update and delete channels and policies against Monitoring, matched by display name."""

    def __init__(self, channels: monitoring_v3.NotificationChannelServiceClient,
                 policies: monitoring_v3.AlertPolicyServiceClient) -> None:
        self.channels, self.policies = channels, policies
        self.said: list[str] = []
        self.wanted = Translation()

    def _live_channels(self, project: str) -> dict[tuple[str, str], Channel]:
        return {(c.type_, c.display_name): c for c in self.channels.list_notification_channels(
            name=f"projects/{project}")}

    def _live_policies(self, project: str) -> dict[str, Policy]:
        return {p.display_name: p for p in self.policies.list_alert_policies(name=f"projects/{project}")}

    def run(self, wanted: Translation, gone: list[Instance]) -> list[str]:
        self.wanted = wanted
        names = {address: self._channel(address, project, channel) for address, project, channel in wanted.channels}
        policies = wanted.policies(names)
        for address, project, policy in policies:
            self._policy(address, project, policy, {p.display_name for _, _, p in policies})
        for item in sorted(gone, key=lambda i: i.type != POLICY_TYPE):  # policies before the channels they name
            self._delete(item)
        return self.said

    def _channel(self, address: str, project: str, want: Channel) -> str:
        have = self._live_channels(project).get((want.type_, want.display_name))
        if have is not None and _same_channel(have, want):
            return str(have.name)
        if have is not None:
            self.channels.delete_notification_channel(name=have.name, force=True)
        made = self.channels.create_notification_channel(name=f"projects/{project}", notification_channel=want)
        self.said.append(f"{address}: {'replaced' if have is not None else 'created'} {made.name}")
        return str(made.name)

    def _policy(self, address: str, project: str, want: Policy, planned: set[str]) -> None:
        live = self._live_policies(project)
        have = live.get(want.display_name)
        if have is None:  # renamed (its threshold is in its name): the one with its labels and conditions
            have = next((p for name, p in live.items() if name not in planned and _identity(p) == _identity(want)),
                        None)
        if have is None:
            made = self.policies.create_alert_policy(name=f"projects/{project}", alert_policy=want)
            self.said.append(f"{address}: created {made.name}")
            return
        if _comparable(have) == _comparable(want):
            return
        want.name = have.name
        for mine, theirs in zip(want.conditions, have.conditions, strict=False):
            mine.name = theirs.name
        # The provider sends the fields that changed as the update mask (its Update of google_monitoring_alert_policy).
        fields = ("display_name", "combiner", "enabled", "notification_channels", "user_labels", "documentation",
                  "conditions")
        mask = [f for f in fields if getattr(_comparable(have), f) != getattr(_comparable(want), f)]
        self.policies.update_alert_policy(alert_policy=want, update_mask={"paths": mask})
        self.said.append(f"{address}: updated {have.name}")

    def _delete(self, item: Instance) -> None:
        from google.api_core import exceptions as gexc

        project, display = str(item.values.get("project") or ""), self.wanted.display_name(item)
        try:
            if item.type == POLICY_TYPE:
                found: Any = self._live_policies(project).get(display)
                if found is not None:
                    self.policies.delete_alert_policy(name=found.name)
            else:
                found = self._live_channels(project).get((str(item.values.get("type")), display))
                if found is not None:
                    self.channels.delete_notification_channel(name=found.name, force=True)
        except gexc.NotFound:
            found = None  # already gone: what a delete wants
        if found is not None:
            self.said.append(f"{item.address}: deleted {found.name}")


def _identity(policy: Policy) -> tuple[Any, ...]:
    """What stays when a policy's configured threshold (and so its display name) changes."""
    return (sorted(policy.user_labels.items()), [c.display_name for c in policy.conditions])


def _comparable(policy: Policy) -> Policy:
    copy = Policy(policy)
    for field_name in ("name", "creation_record", "mutation_record"):
        copy._pb.ClearField(field_name)
    for condition in copy.conditions:
        condition.name = ""
    return copy


def _same_channel(have: Channel, want: Channel) -> bool:
    from sandbox.monitoring_alerts import CHANNEL_TYPES

    sensitive = CHANNEL_TYPES.get(want.type_, (set(), set()))[1]

    def plain(channel: Channel) -> dict[str, str]:
        return {k: v for k, v in channel.labels.items() if k not in sensitive}

    return (plain(have), dict(have.user_labels), have.description, bool(have.enabled)) == \
        (plain(want), dict(want.user_labels), want.description, bool(want.enabled))
