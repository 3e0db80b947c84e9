"""Interleaved GET bursts over one shared httpx client: the smoke check's and the engine's probes'.

Each request is taken from one shared order (side after side, so a slow moment of this machine hits every side
alike) by exactly one of `workers` threads; a request that gets no answer (refused, reset, past the timeout)
counts as `no_answer`, an answered one adds its latency and, at 5xx, an error.

Threads on the shared client rather than an async client: the request waits release the GIL alike, and an
async client would load httpx's async stack and a second CA bundle, about 3 MB the console keeps.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol, TypeVar

import httpx


class Tally(Protocol):
    """What one URL answered (core.verify.smoke.Side, core.model.probes.ProbeSample)."""

    url: str
    sent: int
    errors_5xx: int
    no_answer: int
    latencies_ms: list[float]


T = TypeVar("T", bound=Tally)


def interleaved_gets(client: httpx.Client, tallies: Sequence[T], requests: int, *, timeout: float, workers: int,
                     name: str, headers: Mapping[str, str] | None = None, stop_at: float | None = None) -> None:
    """`requests` GETs of each tally's URL, counted into it; none starts after `stop_at` (monotonic seconds)."""
    order: Iterator[T] = itertools.chain.from_iterable(itertools.repeat(tallies, requests))
    lock = threading.Lock()

    def one(tally: T) -> None:
        start = time.monotonic()
        try:
            answer = client.get(tally.url, timeout=timeout, follow_redirects=False, headers=headers)
        except httpx.HTTPError:
            with lock:
                tally.no_answer += 1
            return
        took_ms = (time.monotonic() - start) * 1000.0
        with lock:
            tally.latencies_ms.append(took_ms)
            tally.errors_5xx += answer.status_code >= 500

    def worker() -> None:
        while True:
            with lock:  # one shared iterator: each request is taken by exactly one worker
                tally = next(order, None) if stop_at is None or time.monotonic() < stop_at else None
                if tally is None:
                    return
                tally.sent += 1
            one(tally)

    threads = [threading.Thread(target=worker, name=f"{name}-{i}", daemon=True)
               for i in range(max(1, min(workers, requests * len(tallies))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
