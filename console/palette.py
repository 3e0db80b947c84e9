"""The command palette's entries on the main screen: every action of the table, the incidents (list, and show
or postmortem of the newest ones), and the selected environment's configuration (its history, a value set).
Kept out of console/app.py, which only asks for them."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.markup import escape

from console.actions import ACTIONS, keys_for
from console.screens.ask import AskScreen
from console.screens.config_history import ConfigHistoryScreen
from console.screens.confirm import ConfirmScreen
from console.screens.incidents import IncidentScreen, IncidentsScreen
from core.config.changes import WHAT, ConfigEditor, change_lines, editor_for, parse_value
from core.errors import OpsError
from core.recovery.incident import IncidentStore

if TYPE_CHECKING:
    from console.app import OpsConsoleApp

INCIDENTS_LISTED = 10  # the newest incidents that get their own show/postmortem entries


def palette_commands(app: OpsConsoleApp) -> Iterable[SystemCommand]:
    situation = app.situation(app.selected)
    for action in ACTIONS:
        if action.id != "quit":  # the built-in palette already has Quit
            why = action.unavailable(situation)  # said up front, as the action panel says it; running it says it again
            about = action.description if why is None else f"Not now on {app.selected}: {escape(why)}"  # markup
            yield SystemCommand(f"{action.title} ({keys_for(action, app.keymap)})", about,
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
    yield SystemCommand("Configuration history", f"every change of {app.selected}'s configuration: who, when, "
                        "before → after, why", lambda: app.push_screen(ConfigHistoryScreen(_editor(app), app.selected)))
    yield SystemCommand("Set a configuration value", f"change one setting of {app.selected} (validated, recorded "
                        "with your name)", partial(_set_value, app))


def _incident(app: OpsConsoleApp, incident_id: str, postmortem: bool) -> None:
    app.push_screen(IncidentScreen(app.engine.registry, incident_id, postmortem=postmortem))


def _editor(app: OpsConsoleApp) -> ConfigEditor:
    # The project file the console was started with: `opsconsole --config F ui` passes it on as OPSCONSOLE_CONFIG.
    return editor_for(None, app.engine.gate)


def _set_value(app: OpsConsoleApp) -> None:
    """Ask KEY = VALUE, production's name typed, then write it in a worker; the gate's refusal is said at once."""
    environment, editor = app.selected, _editor(app)
    if (why := editor.gate.refusal(environment, WHAT)) is not None:
        app.tell(why, severity="error")
        return

    def asked(answer: str | None) -> None:
        if answer is None:
            return
        key, _, text = (part.strip() for part in answer.partition("="))
        if not editor.gate.needs_confirmation(environment):
            _write(app, editor, environment, key, text)
            return

        def confirmed(typed: str | None) -> None:
            if typed is None:
                return
            try:
                editor.gate.confirmed(environment, typed=typed, yes=False, what="changing the configuration")
            except OpsError as exc:
                app.tell(str(exc), severity="error")
                return
            _write(app, editor, environment, key, text)

        app.push_screen(ConfirmScreen(environment, "Change the configuration", f"{key} will be set to {text}"),
                        confirmed)

    app.push_screen(AskScreen(f"Set a configuration value of {environment}", "setting"), asked)


def _write(app: OpsConsoleApp, editor: ConfigEditor, environment: str, key: str, text: str) -> None:
    def write() -> None:
        try:
            change, config = editor.set(environment, key, parse_value(text))
        except OpsError as exc:
            app.call_from_thread(app.tell, str(exc), severity="error")
            return
        said = "\n".join(change_lines(environment, change, config))
        app.call_from_thread(app.tell, f"{said}\nrecorded as change {change.id}; this console uses it when it is "
                             "started again")

    app.run_worker(write, thread=True, group="config-set")
