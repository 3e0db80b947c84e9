"""How the judge writes numbers for people: "2.1 %", "(1.6–2.7)", "4 812 requests", "234 ms", "1.30×"."""

from __future__ import annotations


def count(n: int) -> str:
    """A whole number with a space between thousands: 4 812."""
    return f"{n:,}".replace(",", " ")


def _percent_digits(values: tuple[float, ...]) -> int:
    smallest = min((v for v in values if v > 0), default=1.0)
    return 2 if smallest * 100 < 0.1 else 1


def percent(rate: float, *context: float) -> str:
    """A share as a percentage, with two decimals only when it (or its context) is below 0.1 %."""
    return f"{rate * 100:.{_percent_digits((rate, *context))}f} %"


def percent_range(low: float, high: float, rate: float) -> str:
    digits = _percent_digits((rate, low, high))
    return f"({low * 100:.{digits}f}–{high * 100:.{digits}f})"


def ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def ms_range(low: float, high: float) -> str:
    def bare(value: float) -> str:
        return f"{value:.0f}" if value >= 10 else f"{value:.1f}"

    return f"({bare(low)}–{bare(high)})"


def ratio(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}×"


def threshold_percent(rate: float) -> str:
    """A configured threshold as people wrote it: 1 %, 0.5 %, 0.25 %."""
    return f"{rate * 100:g} %"
