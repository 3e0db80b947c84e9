"""Telling people about a recorded change of health: a Slack line for every change, a PagerDuty page for a state
the environment's `page_at` says pages, resolved when health returns (core.model.health.alert_for decides).

Only the console that recorded the change calls this (core.health.record: the registry lets one of several
consoles record it), so a team of consoles sends one message per change, and PagerDuty's dedup key keeps a
worsening state one alert. A channel that fails is reported back, never raised: health goes on being watched.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.model.health import Health, HealthAlert
from core.model.notice import Notice
from core.ports import Notifier
from core.providers.notify import PagerDutyNotifier


def announce_health(notifiers: Sequence[Notifier], alert: HealthAlert, health: Health) -> tuple[list[str], list[str]]:
    """Send `alert` on every channel: (channels that took it, "Channel: error" for each that failed)."""
    source = f"opsconsole/{alert.environment}"
    details = {"environment": alert.environment, "state": health.state, "reason": health.reason,
               "observed_at": health.observed_at.isoformat()}
    details.update({key: str(value) for key, value in health.numbers.items() if value is not None})
    sent, failures = [], []
    for notifier in notifiers:
        name = type(notifier).__name__
        try:
            if isinstance(notifier, PagerDutyNotifier):
                if alert.page:
                    notifier.trigger(alert.dedup_key, alert.summary, source, alert.severity,
                                     component="websocket-server", custom_details=details)
                elif alert.resolve:
                    notifier.resolve(alert.dedup_key)
                else:
                    continue  # a change that neither pages nor ends a page is Slack's business only
            else:
                notifier.notify(Notice(summary=alert.summary, severity=alert.severity, source=source,
                                       details=details, dedup_key=alert.dedup_key))
            sent.append(name)
        except Exception as exc:  # any channel may fail (network, a refused payload); watching goes on
            failures.append(f"{name}: {exc}")
    return sent, failures
