"""Exact binomial tails and Clopper-Pearson bounds with the standard library only (no scipy in core).

The judge asks two kinds of question of a count: "how likely are this many errors or more if the true
rate were p?" (a binomial tail) and "which rates are consistent with what we saw?" (an exact interval).
Both come from the regularized incomplete beta function, evaluated by its continued fraction
(modified Lentz), which stays accurate in the far tails where a normal approximation of a few errors
in a few hundred requests would be wrong by orders of magnitude.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_TINY = 1e-300
_EPS = 1e-14
_MAX_TERMS = 100_000
_STANDARD_NORMAL = NormalDist()


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b); converges quickly for x < (a + 1) / (a + b + 2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                          -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h


def _log_front(a: float, b: float, x: float) -> float:
    return math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(_log_front(a, b, x)) * _continued_fraction(a, b, x) / a
    return 1.0 - math.exp(_log_front(b, a, 1.0 - x)) * _continued_fraction(b, a, 1.0 - x) / b


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): how surprising k or more successes are at rate p."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    return betainc(k, n - k + 1, p)


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), computed from its own side so that small values stay exact."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    return betainc(n - k, k + 1, 1.0 - p)


def _beta_ppf(q: float, a: float, b: float, guess: float) -> float:
    """The x with I_x(a, b) = q, by Newton steps kept inside a shrinking bracket (bisection as fallback)."""
    low, high = 0.0, 1.0
    x = min(max(guess, 1e-12), 1.0 - 1e-12)
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    for _ in range(200):
        f = betainc(a, b, x) - q
        if f > 0.0:
            high = x
        else:
            low = x
        density = math.exp(log_norm + (a - 1.0) * math.log(x) + (b - 1.0) * math.log1p(-x))
        step = f / density if density > 0.0 else 0.0
        candidate = x - step
        if not low < candidate < high:
            candidate = 0.5 * (low + high)
        if abs(candidate - x) <= 1e-12 * max(x, 1e-300) or high - low <= 1e-15:
            return candidate
        x = candidate
    return x


def _wilson(x: int, n: int, z: float) -> tuple[float, float]:
    """The Wilson score interval: a close, cheap starting point for the exact bounds."""
    p = x / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4 * n * n)) / denominator
    return max(centre - half, 0.0), min(centre + half, 1.0)


def clopper_pearson(x: int, n: int, confidence: float) -> tuple[float, float]:
    """The exact two-sided interval for a binomial rate: each side misses with (1 - confidence) / 2 at most."""
    if n <= 0:
        return 0.0, 1.0
    tail = (1.0 - confidence) / 2.0
    guess_low, guess_high = _wilson(x, n, normal_quantile(1.0 - tail))
    low = 0.0 if x == 0 else _beta_ppf(tail, x, n - x + 1, guess_low)
    high = 1.0 if x == n else _beta_ppf(1.0 - tail, x + 1, n - x, guess_high)
    return low, high


def normal_quantile(q: float) -> float:
    """The standard normal quantile (z such that P(Z <= z) = q)."""
    return _STANDARD_NORMAL.inv_cdf(q)


def normal_density(z: float) -> float:
    return _STANDARD_NORMAL.pdf(z)
