"""Telling people about a recorded change of health: a Slack line for every change, a PagerDuty page for a state
the environment's `page_at` says pages, resolved when health returns (core.model.health.alert_for decides). Health
returning also ends the pages rollbacks left open (an automatic rollback whose stable revision was not healthy yet
when it was checked, a rollback whose checks failed): the rollback did restore the environment after all.

Only the console that recorded the change calls this (core.health.record: the registry lets one of several
consoles record it), so a team of consoles sends one message per change, and PagerDuty's dedup key keeps a
worsening state one alert. A channel that fails is reported back, never raised: health goes on being watched.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.deployment_pages import rollback_pages
from core.model.health import Health, HealthAlert
from core.model.notice import Notice
from core.model.paging import resolution
from core.ports import Notifier
from core.providers.notify import PagerDutyNotifier
from core.registry.protocol import Registry


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


def resolve_rollback_pages(registry: Registry, notifiers: Sequence[Notifier],
                           health: Health) -> tuple[list[str], list[str]]:
    """Health is back (`health` ok, the recovery just recorded): resolve each page a rollback in its environment left
    open until now, under that page's own dedup key. The recorded recovery is what marks them resolved for everyone
    after (core.deployment_pages), so nobody resolves them again. (sent, failures) as above."""
    env, sent, failures = health.environment, [], []
    for key, deployment_id in rollback_pages(registry, env, health.observed_at).items():
        said = resolution(env, f"{env} is healthy again ({health.reason}); the page deployment {deployment_id} "
                               "raised is resolved", key)
        notice = said.notice({"deployment": deployment_id, "environment": env})
        for notifier in notifiers:
            try:
                notifier.notify(notice)
                sent.append(type(notifier).__name__)
            except Exception as exc:  # any channel may fail; watching goes on (PagerDuty's resolve is idempotent)
                failures.append(f"{type(notifier).__name__}: {exc}")
    return sent, failures
