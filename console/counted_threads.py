"""Thread workers the console counts until they really end: a cancelled thread runs on to its end, and a test or
a quitting console must know when nothing is working any more (`busy`)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.app import App
from textual.worker import Worker


class CountedThreads(App[None]):
    """Mixed into the console's App: `_in_thread` runs work in a thread worker and counts it while it runs."""

    _threads_lock = threading.Lock()
    _threads_running = 0

    def _in_thread(self, work: Callable[[], None], *, name: str, group: str, exclusive: bool = False) -> Worker[None]:
        def counted() -> None:
            with self._threads_lock:
                self._threads_running += 1
            try:
                work()
            finally:
                with self._threads_lock:
                    self._threads_running -= 1

        return self.run_worker(counted, name=name, group=group, thread=True, exclusive=exclusive, exit_on_error=False)

    @property
    def busy(self) -> bool:
        """Whether a refresh, an action or a driver is still working (also one whose worker was cancelled)."""
        return self._threads_running > 0 or any(not w.is_finished for w in self.workers if w.group != "dialog")
