"""When a Cloud Run point exists in the sandbox's Monitoring, and when it becomes visible: its length and delay.

Google's: Cloud Run's request_count, request_latencies and container/instance_count are "Sampled every 60
seconds. After sampling, data is not visible for up to 180 seconds." (the metric list,
cloud.google.com/monitoring/api/metrics_gcp#gcp-run; what the delay means: "Retention and latency of metric
data", cloud.google.com/monitoring/api/v3/latency-n-retention). So by default a Cloud Run series has one DELTA
point per whole minute, and each point appears only some time after its minute ended: a deterministic draw per
revision and minute (seeded, so every read of the same sandbox agrees), most within 60–120 s, none past 180 s.
A point not yet ingested is simply absent, as Google answers: the count of a minute grows when it arrives.

All metrics of one revision's minute arrive together (one draw per revision and point); two revisions of a
service, canary and stable, arrive independently, so a read can compare them on unevenly ingested data.

Non-Google settings, for tests and benchmarks that need speed: shorter points (10 s) and a fixed delay
(0: visible as soon as the point ends).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from core.errors import BadInput
from core.model.metrics import MetricsTiming

GOOGLE_POINT_S = 60
GOOGLE_DELAY_BOUND_S = 180.0
DRAWN = "google"  # the delay option's value for Google's drawn delays


CLOCK_SLACK_S = 1e-6
"""A frozen clock advanced in fractions of a second adds up float errors (…:39.9999998 for :40): a point that ends
within a microsecond of now has ended, or a console that slept exactly to a window's end would read it empty."""


def _uniform(*parts: object) -> tuple[float, float]:
    digest = hashlib.blake2b("/".join(str(p) for p in parts).encode(), digest_size=16).digest()
    return int.from_bytes(digest[:8], "big") / 2**64, int.from_bytes(digest[8:], "big") / 2**64


@dataclass(frozen=True)
class Ingestion:
    """How the sandbox's Monitoring serves Cloud Run's points: `point_s` seconds each, visible `delay_s` after their
    end (None: drawn like Google's, at most 180 s)."""

    point_s: int = GOOGLE_POINT_S
    delay_s: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.point_s, bool) or not isinstance(self.point_s, int) or self.point_s < 1 \
                or 60 % self.point_s:
            raise BadInput(f"The sandbox's Monitoring point length must be a whole number of seconds that divides "
                           f"a minute (60 is Google's), got {self.point_s!r}.")
        if self.delay_s is not None and not 0 <= self.delay_s <= 3600:
            raise BadInput(f"The sandbox's Monitoring ingestion delay must be 0 to 3600 seconds or "
                           f"{DRAWN!r}, got {self.delay_s!r}.")

    @classmethod
    def parse(cls, point_s: int, delay: str, seed: int = 0) -> Ingestion:
        """From the command line's words: a delay in seconds, or "google" for Google's drawn delays."""
        if delay.strip().lower() == DRAWN:
            return cls(point_s, None, seed)
        try:
            seconds = float(delay.strip().removesuffix("s"))
        except ValueError:
            raise BadInput(f"The sandbox's Monitoring ingestion delay must be a number of seconds or {DRAWN!r}, "
                           f"got {delay!r}.") from None
        if not math.isfinite(seconds):
            raise BadInput(f"The sandbox's Monitoring ingestion delay must be finite, got {delay!r}.")
        return cls(point_s, seconds, seed)

    @property
    def googles(self) -> bool:
        return self.point_s == GOOGLE_POINT_S and self.delay_s is None

    @property
    def bound_s(self) -> float:
        """No point of a series is later than this after its end: what a reader waits for data to settle."""
        return GOOGLE_DELAY_BOUND_S if self.delay_s is None else float(self.delay_s)

    def delay(self, series: str, point_end: float) -> float:
        """Seconds after `point_end` that the point of `series` becomes visible."""
        if self.delay_s is not None:
            return float(self.delay_s)
        which, where = _uniform(self.seed, series, round(point_end))
        # Most within 60–120 s, some sooner, a few late; none past Google's 180 s.
        if which < 0.1:
            return 30.0 + 30.0 * where
        if which < 0.9:
            return 60.0 + 60.0 * where
        return 120.0 + 60.0 * where

    def visible(self, series: str, point_end: float, now: float) -> bool:
        now += CLOCK_SLACK_S
        return point_end <= now and now >= point_end + self.delay(series, point_end)

    def point_ends(self, a: float, b: float, now: float) -> list[float]:
        """Ends of the points read over (a, b] that have ended by `now`, oldest first (a == b: the point ending at
        b). Reads take (start, end], "It includes the end time but excludes the start time" (TimeInterval)."""
        p = self.point_s
        last = math.floor((min(b, now + CLOCK_SLACK_S) + CLOCK_SLACK_S) / p)
        first = math.floor(a / p + 1e-9) + 1 if a < b else math.ceil(b / p - 1e-9)
        return [k * float(p) for k in range(first, last + 1)]

    def timing(self) -> MetricsTiming:
        """What a console's Monitoring adapter tells the judge about this sandbox's data."""
        return MetricsTiming(self.point_s, self.bound_s)

    def describe(self) -> str:
        delay = "drawn like Google's (at most 180 s)" if self.delay_s is None else f"{self.delay_s:g} s"
        return f"{self.point_s} s points, ingestion delay {delay}"

    def to_dict(self) -> dict[str, Any]:
        return {"point_s": self.point_s, "delay_s": self.delay_s, "seed": self.seed}

    @classmethod
    def from_dict(cls, data: Any) -> Ingestion:
        if not isinstance(data, dict):
            return cls()
        delay = data.get("delay_s")
        return cls(int(data.get("point_s", GOOGLE_POINT_S)), None if delay is None else float(delay),
                   int(data.get("seed", 0)))


FAST = Ingestion(point_s=10, delay_s=0.0)
"""Not Google's: 10 s points visible at once, for unit tests and benchmarks that judge 10 s windows."""
