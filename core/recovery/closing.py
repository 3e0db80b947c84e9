"""Ending an incident by hand: resolved (the operator saw it recover) or aborted (guided recovery abandoned, handled
by hand). Either way the page it raised is resolved under its dedup key and Slack is told why — a page nobody
closes keeps someone on call looking at a solved problem. The CLI's `incident resolve|abort` and the recovery
screen's keys both come here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from core.engine import Engine
from core.errors import BadInput
from core.recovery.incident import Incident, IncidentStore
from core.recovery.notify import announce

Ending = Literal["resolved", "aborted"]


def end_incident(engine: Engine, store: IncidentStore, incident_id: str, how: Ending, reason: str) -> Incident:
    """Resolve or abort the open incident `incident_id` with the operator's reason; refused on a read-only console,
    without access to its environment, or when it is not open (nothing written, nothing sent)."""
    if not reason.strip():
        raise BadInput("say why: the reason goes on the incident's timeline and to Slack")
    found = store.get(incident_id)
    env = str(found.record.get("environment"))
    engine.gate.check(env, "record incidents")
    if found.record.get("status") != "open":
        raise BadInput(f"incident {incident_id} is {found.record.get('status')}; only an open one can be "
                       f"{'resolved' if how == 'resolved' else 'aborted'}")
    now = engine.ports.now()
    if how == "resolved":
        started = datetime.fromisoformat(str(found.record["started_at"]))
        found.update(status="resolved", resolved_at=now.isoformat(), resolution=reason.strip(),
                     time_to_restore_s=round((now - started).total_seconds(), 1))
        found.add("resolved", f"resolved by {engine.operator}: {reason.strip()}", at=now, actor=engine.operator)
        announce(engine, found, "resolve")
    else:
        found.update(status="aborted", abort_reason=reason.strip())
        found.add("aborted", reason.strip(), at=now, actor=engine.operator)
        announce(engine, found, "abort")
    return found
