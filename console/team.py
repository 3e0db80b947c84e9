"""The header's line about the team on a shared registry: who else is connected and who drives what."""

from __future__ import annotations

from typing import Any


def team_line(registry: Any, operator: str) -> str:
    """`2 others connected (bob, carol) · production driven by bob`, from the server's own list of sessions."""
    from core.registry.pg.listen import connected

    try:
        sessions = connected(registry)
    except Exception as error:  # the registry is down: say so where the team line was, and keep refreshing
        return f"registry unreachable ({str(error).splitlines()[0][:60]})"
    me = {(s.operator, s.pid) for s in sessions if s.operator.split("@")[0] == operator}
    others = sorted({s.operator.split("@")[0] for s in sessions if (s.operator, s.pid) not in me})
    drivers = sorted({(s.role.removeprefix("drives "), s.operator.split("@")[0]) for s in sessions
                      if s.role.startswith("drives ")})
    parts = [f"{len(others)} other{'s' if len(others) != 1 else ''} connected"
             + (f" ({', '.join(others)})" if others else "")]
    parts += [f"{env} driven by {who}" for env, who in drivers]
    return " · ".join(parts)
