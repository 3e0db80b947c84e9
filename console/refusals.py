"""How the console says that an action cannot run: a warning toast and the same sentence in the log.

The sentence is core's (the access gate's with its fix, or the decision model's); the toast goes away after a
few seconds, the log line stays where the operator looks when the toast is gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.model.events import Note

if TYPE_CHECKING:
    from console.actions import OpsAction
    from console.app import OpsConsoleApp


def say_refusal(app: OpsConsoleApp, action: OpsAction, environment: str, why: str | None) -> bool:
    """Say why `action` cannot run on `environment` (`why` None: it can, and nothing is said); True when refused."""
    if why is None:
        return False
    sentence = f"{action.title} on {environment}: {why}"
    app.tell(sentence, severity="warning")
    app.post_message(app.EngineEventArrived(Note("", environment, app.engine.ports.now(), sentence)))
    return True
