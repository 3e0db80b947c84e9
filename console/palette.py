"""The command palette's entries on the main screen: every action of the table, and the incidents (list, and show
or postmortem of the newest ones). Kept out of console/app.py, which only asks for them."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from console.actions import ACTIONS, keys_for
from console.screens.incidents import IncidentScreen, IncidentsScreen
from core.errors import OpsError
from core.recovery.incident import IncidentStore

if TYPE_CHECKING:
    from console.app import OpsConsoleApp

INCIDENTS_LISTED = 10  # the newest incidents that get their own show/postmortem entries


def palette_commands(app: OpsConsoleApp) -> Iterable[SystemCommand]:
    for action in ACTIONS:
        if action.id != "quit":  # the built-in palette already has Quit
            yield SystemCommand(f"{action.title} ({keys_for(action, app.keymap)})", action.description,
                                partial(app.run_action, action.action))
    registry = app.engine.registry
    yield SystemCommand("Incidents", "every incident, newest first: show one, read its postmortem",
                        lambda: app.push_screen(IncidentsScreen(registry)))
    try:
        newest = IncidentStore(registry).list()[:INCIDENTS_LISTED]
    except OpsError:  # a damaged record: the Incidents screen says which; the palette still opens
        newest = []
    for record in newest:
        name, about = record["id"], f"{record.get('severity')} {record.get('status')}: {record.get('summary', '')}"
        yield SystemCommand(f"Incident {name}: show", about, partial(_incident, app, name, False))
        yield SystemCommand(f"Incident {name}: postmortem", about, partial(_incident, app, name, True))


def _incident(app: OpsConsoleApp, incident_id: str, postmortem: bool) -> None:
    app.push_screen(IncidentScreen(app.engine.registry, incident_id, postmortem=postmortem))
