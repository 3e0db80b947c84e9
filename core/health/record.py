"""Recording health: each change of state goes to the registry's `health` table (key `ENV/<iso time>`, so the
keys sort by time within an environment), and the environment's `health` field follows the latest state.

A poll that finds the state unchanged writes nothing, so a watch left running does not grow the registry.
"""

from __future__ import annotations

from core.model.health import Health, is_change
from core.registry.protocol import Registry

TABLE = "health"


def record_health(registry: Registry, health: Health) -> str | None:
    """Record `health` if its state differs from the last recorded one: the state it replaced ("unknown" when
    none was), or None when nothing was recorded (no change, or another console recorded the same change first).
    """
    previous = registry.get_environment_state(health.environment).health
    if not is_change(previous, health):
        return None
    key = f"{health.environment}/{health.observed_at.isoformat()}"
    return registry.change_health(health.environment, health.state, key, health.to_dict())


def health_history(registry: Registry, environment: str | None = None) -> list[Health]:
    """The recorded changes, newest first (of one environment, or of all)."""
    found = [Health.from_dict(doc) for key, doc in registry.records(TABLE).items()
             if environment is None or key.startswith(f"{environment}/")]
    return sorted(found, key=lambda h: h.observed_at, reverse=True)
