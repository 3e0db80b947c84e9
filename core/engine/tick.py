"""What one reconcile step of the engine did, as the driver loop and the screens read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

TickState = Literal["progressed", "waiting", "operator", "finished"]


@dataclass(frozen=True)
class Tick:
    """Moved on, waits (until `wake_at`), needs the operator, or ended; `reason` says which in one line."""

    state: TickState
    reason: str
    wake_at: datetime | None = None
