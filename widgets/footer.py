"""The footer's keys, composed again only when they change.

Textual's Footer composes all its keys anew whenever the screen's bindings are updated, which every change of
focus does (`Screen.bindings_updated_signal`), even when the keys it shows stay the same. Selecting an environment
focuses its card: that rebuilt the footer on every select key, about a third of the key's time to the screen.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class SteadyFooter(Footer):
    """A Footer that recomposes only when a shown key, its description or whether it is enabled changed."""

    _shown: tuple[tuple[str, str, bool], ...] | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        shown = tuple((binding.key, binding.description, enabled)
                      for _, binding, enabled, _ in screen.active_bindings.values() if binding.show)
        if shown == self._shown and self._bindings_ready:
            return
        super().bindings_changed(screen)
        if screen.app.app_focus and self.is_attached and screen is self.screen:  # else Footer waits: so do we
            self._shown = shown
