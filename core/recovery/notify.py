"""Tell people about an incident: a PagerDuty alert triggered at the start and resolved at the end, Slack updates.

A channel that fails is noted on the timeline; it never stops a recovery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.model.notice import Notice
from core.providers.notify import PagerDutyNotifier

if TYPE_CHECKING:
    from core.recovery.context import RecoveryContext
    from core.recovery.incident import Incident

_PD_SEVERITY = {"SEV1": "critical", "SEV2": "error", "SEV3": "warning", "SEV4": "info"}


def dedup_key(incident_id: str) -> str:
    """The PagerDuty alert of an incident: triggered at the start and resolved at the end under this key."""
    return f"opsconsole-{incident_id}"


def announce(context: RecoveryContext, incident: Incident, what: str) -> None:
    """`what` is "trigger" (incident opened), "update" (a Slack line) or "resolve" (recovered)."""
    record = incident.record
    summary = {
        "trigger": f"{record['severity']} {record['environment']}: {record.get('summary', '')} "
                   f"(incident {incident.id}, recovery by {context.operator})",
        "resolve": f"{record['environment']} recovered: incident {incident.id} resolved in "
                   f"{record.get('time_to_restore_s') or 0:.0f} s",
        "update": f"incident {incident.id}: {record.get('last_update', '')}",
    }[what]
    source = f"opsconsole/{record['environment']}"
    details = {"incident": incident.id, "environment": str(record["environment"]),
               "severity": str(record["severity"])}
    sent, failures = [], []
    for notifier in context.engine.ports.notifiers:
        name = type(notifier).__name__
        try:
            if isinstance(notifier, PagerDutyNotifier):
                if what == "trigger":
                    severity = _PD_SEVERITY.get(record["severity"], "error")
                    notifier.trigger(dedup_key(incident.id), summary, source, severity, component="websocket-server",
                                     custom_details=details)
                elif what == "resolve":
                    notifier.resolve(dedup_key(incident.id))
                else:
                    continue
            else:
                severity = "info" if what == "resolve" else "warning" if what == "update" else "error"
                notifier.notify(Notice(summary=summary, severity=severity, source=source, details=details))
            sent.append(name)
        except Exception as exc:  # a notification channel is never worth failing a recovery for
            failures.append(f"{name}: {exc}")
    incident.add("notified", f"{what}: {summary}", at=context.now(), actor=context.operator,
                 outputs={"channels": sent}, error="; ".join(failures) or None)
