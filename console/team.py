"""The header: the worst environment's health, who acts, and on a shared registry who else is connected and who
drives what."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from typing import Any

from core.model.health import Health, health_headline

HEADER_SPARE = 16 + len("opsconsole — ")  # Textual's header: the icon's room on both sides, then the title


def header_line(engine: Any, team: str, read_only: bool, health: Sequence[Health], width: int = 0) -> str:
    """What is wrong first, before who is looking; then who acts and whether the registry can vouch for it: the
    shared registry's database user is checked by the database; the embedded registry's name is whatever this
    machine says. Where a rule other than the configuration's lets everyone act (core.access: the zero-set-up
    sandbox's), it says so in place of the profile: `alice · sandbox: everyone may act`.

    In a terminal `width` columns wide the line is shortened to fit rather than cut at its end: the health in
    fewer words (the cards say it in full), then the team line; who acts, on which cloud, read-only or not, stay.
    """
    who = (f"{engine.operator} (database user)" if engine.registry.shared
           else f"{engine.operator} (self-declared)")
    rule = engine.gate.rule
    headline = health_headline(health)
    identity = ["" if rule else engine.ports.profile, engine.operator if rule else who, rule,
                "READ-ONLY" if read_only else ""]
    room = width - HEADER_SPARE if width else 0
    short = headline.replace("all environments healthy", "all healthy")
    for health_part, team_part in ((headline, team), (short, team), (short, "")):
        line = " · ".join(p for p in (health_part, *identity[:3], team_part, identity[3]) if p)
        if not room or len(line) <= room:
            return line
    fixed = " · ".join(p for p in identity if p)
    keep = room - len(fixed) - 3
    if short and keep >= 4:  # the health cut, with a mark, never who or where
        return f"{short[:keep - 1]}… · {fixed}"
    return fixed


def team_line(registry: Any) -> str:
    """`1 other connected (bob) · production driven by bob`, from the server's own list of sessions.

    People are named by their database user (what the database vouches for); this console's own sessions are
    told apart by host, pid and user, so the same person on another machine counts as another console.
    """
    from core.registry.pg.listen import connected

    try:
        sessions = connected(registry)
    except Exception as error:  # the registry is down: say so where the team line was, and keep refreshing
        return f"registry unreachable ({str(error).splitlines()[0][:60]})"
    here, me = f"@{socket.gethostname()}", registry.identity
    others = [s for s in sessions if not (s.operator.endswith(here) and s.pid == os.getpid() and s.db_user == me)]
    people = sorted({s.db_user for s in others})
    drivers = sorted({(s.role.removeprefix("drives "), s.db_user) for s in sessions if s.role.startswith("drives ")})
    parts = [f"{len(people)} other{'s' if len(people) != 1 else ''} connected"
             + (f" ({', '.join(people)})" if people else "")]
    parts += [f"{env} driven by {who}" for env, who in drivers]
    return " · ".join(parts)
