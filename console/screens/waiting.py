"""The console started while the shared registry cannot be reached: say so in the header and keep trying.

Nothing can be shown or changed without the registry (it holds every deployment and the environment leases),
so this small app only says what is wrong, in the header and in one sentence, and tries again every few
seconds. It ends by itself once the registry answers, and the console proper opens; `q` gives up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, Static

from core.errors import OpsError

RETRY_S = 2.0


class WaitingForRegistry(App[bool]):
    """Tries `connect` every RETRY_S seconds in a thread; returns True once it succeeds, False if the person quits."""

    TITLE = "opsconsole"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit_waiting", "Quit")]

    def __init__(self, location: str, first_error: str, connect: Callable[[], object]) -> None:
        super().__init__()
        self.location = location
        self.connect = connect
        self.attempts = 1
        self.last_error = first_error
        self._stopped = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="why")
        yield Footer()

    def on_mount(self) -> None:
        self._show()
        self.run_worker(self._retry, thread=True, exit_on_error=False)

    def _show(self) -> None:
        self.sub_title = f"registry unreachable · retrying every {RETRY_S:g} s (attempt {self.attempts})"
        self.query_one("#why", Static).update(
            f"{self.last_error}\n\nThe console opens by itself as soon as the registry {self.location} answers. "
            "Press q to give up.")

    def _retry(self) -> None:
        while not self._stopped:
            time.sleep(RETRY_S)
            if self._stopped:
                return
            try:
                self.connect()
            except OpsError as error:
                self.attempts += 1
                self.last_error = str(error)
                self.call_from_thread(self._show)
                continue
            self.call_from_thread(self.exit, True)
            return

    def action_quit_waiting(self) -> None:
        self._stopped = True
        self.exit(False)
