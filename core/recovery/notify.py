"""Tell people about an incident, under the environment's paging rule (core.model.paging): opening it pages
PagerDuty when its severity is high enough (else Slack only), updates go to Slack, and resolving or aborting it
resolves the page it raised, under the same dedup key. An incident that is only looked at (a dry run, a read-only
console) tells nobody. A channel that fails is noted on the timeline; it never stops a recovery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from core.model.paging import Announcement, announcement, incident_dedup_key, resolution

if TYPE_CHECKING:
    from core.engine import Engine
    from core.recovery.incident import Incident

What = Literal["trigger", "update", "resolve", "abort"]


def opening(engine: Engine, environment: str, severity: str, summary: str, incident_id: str) -> Announcement:
    """What opening an incident sends: the one announcement both the confirmation shows and `announce` sends."""
    text = f"{severity} {environment}: {summary} (incident {incident_id}, recovery by {engine.operator})"
    return announcement(engine.environment(environment).notifications.rules(environment), "incident", text,
                        incident_dedup_key(incident_id), severity, quiet_severity="warning")


def ending(engine: Engine, incident: Incident, how: Literal["resolved", "aborted"], reason: str = "") -> Announcement:
    """What resolving or aborting `incident` sends: PagerDuty resolves the page it raised (if it raised one), Slack
    is told how it ended; `reason` is the operator's (none: it was validated as recovered)."""
    record = incident.record
    env = str(record["environment"])
    if how == "aborted":
        text = f"{env}: incident {incident.id} aborted by {engine.operator} (handled by hand): {reason}"
    elif reason:
        text = f"{env}: incident {incident.id} resolved by {engine.operator}: {reason}"
    else:
        text = f"{env} recovered: incident {incident.id} resolved in {record.get('time_to_restore_s') or 0:.0f} s"
    key = incident_dedup_key(incident.id)
    return resolution(env, text, key) if record.get("paged") else Announcement(env, text, key, "none", "info")


def _said(engine: Engine, incident: Incident, what: What) -> Announcement:
    record = incident.record
    env = str(record["environment"])
    if what == "trigger":
        return opening(engine, env, str(record["severity"]), str(record.get("summary", "")), incident.id)
    if what == "update":
        return Announcement(env, f"incident {incident.id}: {record.get('last_update', '')}",
                            incident_dedup_key(incident.id), "none", "warning")
    if what == "abort":
        return ending(engine, incident, "aborted", str(record.get("abort_reason", "")))
    return ending(engine, incident, "resolved", str(record.get("resolution", "")))


def announce(engine: Engine, incident: Incident, what: What) -> Announcement | None:
    """Send what `what` means for `incident` on every channel and note it on the timeline (None: not sent)."""
    if incident.record.get("dry_run"):
        return None
    said = _said(engine, incident, what)
    record = incident.record
    details = {"incident": incident.id, "environment": str(record["environment"]),
               "severity": str(record["severity"])}
    failures = engine.ports.notify(said.notice(details))
    failed = {failure.split(":", 1)[0] for failure in failures}
    sent = [type(n).__name__ for n in engine.ports.notifiers if type(n).__name__ not in failed]
    if what == "trigger" and said.pagerduty == "page":
        incident.update(paged=True, dedup_key=said.dedup_key)
    incident.add("notified", f"{what}: {said.slack}", at=engine.ports.now(), actor=engine.operator,
                 outputs={"channels": sent, "pagerduty": said.pagerduty, "dedup_key": said.dedup_key},
                 error="; ".join(failures) or None)
    return said
