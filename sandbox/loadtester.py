"""The sandbox's load tester: Flagger's loadtester webhook API, recording `hey` runs as rates that traffic.py serves.

Flagger's answer for low-traffic canaries (github.com/fluxcd/flagger, `flagger-loadtester`): the controller
POSTs a CanaryWebhookPayload whose metadata is `{"type": "cmd", "cmd": "hey -z 1m -q 10 -c 2 URL"}` and
the loadtester runs the command in the background. The sandbox runs nothing: it parses the `hey` command
into a rate (-q per worker x -c workers) over a duration (-z) against one of its revision (tag) or service
URLs, and records the run; the traffic simulator adds the synthetic requests to that revision's (or
service's) Cloud Run metrics, as Cloud Run counts requests to tag URLs. Like the real loadtester, an
accepted command answers 202 Accepted, and the same command for the same canary (name.namespace) is not
started again while it still runs. Whatever the sandbox cannot model is refused with 400 and one sentence.
"""

from __future__ import annotations

import bisect
import json
import re
import shlex
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from core.errors import BadInput

_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|h|m|s)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# hey's flags (github.com/rakyll/hey): those that take a value, and the switches.
_VALUE_FLAGS = {"n", "c", "q", "z", "o", "m", "H", "t", "A", "d", "D", "T", "a", "x", "U", "host", "cpus"}
_SWITCHES = {"h2", "disable-compression", "disable-keepalive", "disable-redirects"}
_HEY_WORKERS = 50  # hey's default -c
EXAMPLE = "hey -z 1m -q 10 -c 2 <revision tag URL>"


class LoadTestRefused(BadInput):
    """A webhook payload or hey command the sandbox load tester cannot run (answered with HTTP 400)."""


def go_duration(text: str) -> float:
    """Seconds in a Go duration string ("500ms", "10s", "1m30s", "1.5h"), as hey's -z takes it."""
    seconds = 0.0
    if re.fullmatch(f"(?:{_DURATION_PART.pattern})+", text):
        seconds = sum(float(n) * _UNIT_S[unit] for n, unit in _DURATION_PART.findall(text))
    if seconds <= 0:
        raise LoadTestRefused(f"metadata.cmd: -z {text!r} is not a positive Go duration such as 10s, 1m or 1m30s.")
    return seconds


@dataclass(frozen=True)
class HeyCommand:
    """What a `hey` command asks for, as far as the sandbox models it: a rate against one URL for a while."""

    url: str
    duration_s: float
    qps_per_worker: float
    workers: int

    @property
    def rps(self) -> float:
        return self.qps_per_worker * self.workers


def parse_hey(cmd: str) -> HeyCommand:
    """Parse a hey command line with shell quoting; raises LoadTestRefused naming what cannot be modelled."""
    try:
        words = shlex.split(cmd)
    except ValueError as exc:
        raise LoadTestRefused(f"metadata.cmd cannot be split into words ({exc}).") from None
    if not words or words[0].rsplit("/", 1)[-1] != "hey":
        first = words[0] if words else ""
        raise LoadTestRefused(f"metadata.cmd must run hey (the sandbox models hey load only), not {first!r}.")
    values: dict[str, str] = {}
    rest = words[1:]
    while rest and rest[0].startswith("-") and rest[0] not in ("-", "--"):
        name, eq, value = rest.pop(0).lstrip("-").partition("=")
        if name in _SWITCHES:
            continue
        if name not in _VALUE_FLAGS:
            raise LoadTestRefused(f"metadata.cmd: hey has no flag -{name}.")
        if not eq:
            if not rest:
                raise LoadTestRefused(f"metadata.cmd: hey's flag -{name} needs a value.")
            value = rest.pop(0)
        values[name] = value
    if rest[:1] == ["--"]:
        rest.pop(0)
    if len(rest) != 1:
        raise LoadTestRefused(f"metadata.cmd must end with exactly one URL after hey's flags, got {rest!r}.")
    if values.get("m", "GET").upper() != "GET":
        raise LoadTestRefused(f"metadata.cmd: -m {values['m']} is not modelled; the sandbox load tester "
                              "sends GET only.")
    if "z" not in values:
        raise LoadTestRefused("metadata.cmd has no -z duration: the sandbox models load as a rate over a duration, "
                              "so a run of -n requests is refused.")
    if "q" not in values:
        raise LoadTestRefused("metadata.cmd has no -q rate: an unlimited hey run has no rate the sandbox can model.")
    try:
        qps = float(values["q"])
    except ValueError:
        raise LoadTestRefused(f"metadata.cmd: -q {values['q']!r} is not a number of requests per second.") from None
    try:
        workers = int(values.get("c", _HEY_WORKERS))
    except ValueError:
        raise LoadTestRefused(f"metadata.cmd: -c {values['c']!r} is not a whole number of workers.") from None
    if not 0 < qps < float("inf") or workers < 1:
        raise LoadTestRefused(f"metadata.cmd: -q ({values['q']}) and -c ({workers}) must both be positive.")
    return HeyCommand(url=rest[0], duration_s=go_duration(values["z"]), qps_per_worker=qps, workers=workers)


@dataclass(frozen=True)
class LoadRun:
    """One accepted run: `rps` synthetic requests per second to `target` over [start, end) in sandbox time.

    `target` is a revision's full name (its tag URL was hit) or a service's full name (split like users).
    """

    target: str
    rps: float
    start: float
    end: float
    canary: str = ""  # the payload's name.namespace: with cmd, what makes a run "the same" one
    cmd: str = ""

    @property
    def on_service(self) -> bool:
        return "/revisions/" not in self.target

    def overlap(self, lo: float, hi: float) -> float:
        """Seconds of [lo, hi) during which this run sends load."""
        return max(0.0, min(hi, self.end) - max(lo, self.start))


class LoadTests:
    """The runs the load tester accepted, oldest first (a run's index seeds its draws); thread-safe, persisted."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._runs: list[LoadRun] = []
        # Per service, (index, run) in start order with the starts alongside and the longest run: a window
        # finds its runs by bisection, so an afternoon of canary analysis does not slow every metrics read.
        self._by_service: dict[str, tuple[list[float], list[tuple[int, LoadRun]], list[float]]] = {}
        self.listeners: list[Callable[[], None]] = []

    def _index(self, i: int, run: LoadRun) -> None:
        starts, entries, longest = self._by_service.setdefault(run.target.split("/revisions/")[0], ([], [], [0.0]))
        starts.append(run.start)  # the clock never runs backwards: appending keeps the starts sorted
        entries.append((i, run))
        longest[0] = max(longest[0], run.end - run.start)

    def start(self, target: str, rps: float, duration_s: float, canary: str = "", cmd: str = "") -> LoadRun | None:
        """Record a run starting now; None (nothing recorded) when the same command for the same canary still runs."""
        with self._lock:
            # The clock is read under the lock that snapshot() holds: a run never starts before a snapshot's
            # "now", so a minute that a snapshot saw finished can never gain load afterwards (traffic.py caches it).
            now = self._clock()
            if cmd and any(r.cmd == cmd and r.canary == canary and r.end > now for r in self._runs):
                return None
            run = LoadRun(target=target, rps=rps, start=now, end=now + duration_s, canary=canary, cmd=cmd)
            self._runs.append(run)
            self._index(len(self._runs) - 1, run)
        for listener in self.listeners:
            listener()
        return run

    def runs(self) -> list[LoadRun]:
        with self._lock:
            return list(self._runs)

    def snapshot(self, service_full: str, start: float, end: float) -> tuple[float, list[tuple[int, LoadRun]]]:
        """Sandbox time now and the (index, run) pairs on `service_full` or its revisions that overlap
        [start, end), read together."""
        with self._lock:
            now = self._clock()
            starts, entries, longest = self._by_service.get(service_full, ([], [], [0.0]))
            lo, hi = bisect.bisect_left(starts, start - longest[0]), bisect.bisect_left(starts, end)
            return now, [(i, r) for i, r in entries[lo:hi] if r.end > start]

    def to_dict(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._runs]

    def load(self, data: list[dict[str, Any]] | None) -> None:
        runs = [LoadRun(target=str(d["target"]), rps=float(d["rps"]), start=float(d["start"]), end=float(d["end"]),
                        canary=str(d.get("canary", "")), cmd=str(d.get("cmd", ""))) for d in data or []]
        with self._lock:
            self._runs, self._by_service = runs, {}
            for i, run in enumerate(runs):
                self._index(i, run)


def _payload_cmd(body: str) -> tuple[str, str]:
    """(canary name.namespace, hey command) from a CanaryWebhookPayload; raises LoadTestRefused."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise LoadTestRefused("The request body must be a JSON object: Flagger's webhook payload "
                              "(name, namespace, phase, metadata).")
    metadata = payload.get("metadata")
    if not isinstance(metadata, dict) or not metadata:
        raise LoadTestRefused(f'The payload has no metadata: the load tester needs metadata.cmd ("{EXAMPLE}").')
    kind = metadata.get("type", "cmd")  # the real loadtester defaults to cmd too
    if kind != "cmd":
        raise LoadTestRefused(f'metadata.type {kind!r} is not supported: the sandbox load tester runs only '
                              f'type "cmd" with a hey command.')
    cmd = metadata.get("cmd")
    if not isinstance(cmd, str) or not cmd.strip():
        raise LoadTestRefused(f'metadata.cmd is missing or not a string: give a hey command ("{EXAMPLE}").')
    return f"{payload.get('name', '')}.{payload.get('namespace', '')}", cmd


Resolver = Callable[[str], str | None]  # a URL's host:port -> the revision's or service's full name


def target_of(url: str, resolve: Resolver) -> str:
    """The full name of the revision or service that serves `url`; raises LoadTestRefused naming the URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LoadTestRefused(f"metadata.cmd: {url!r} is not an http(s) URL.")
    target = resolve(parts.netloc)
    if target is None:
        raise LoadTestRefused(f"metadata.cmd targets {url}, which is no revision or service URL of this sandbox.")
    return target


LOAD_KEY: web.AppKey[LoadTests] = web.AppKey("load_tests")
RESOLVE_KEY: web.AppKey[Resolver] = web.AppKey("resolve_url")


async def _new_task(request: web.Request) -> web.Response:
    try:
        canary, cmd = _payload_cmd(await request.text())
        hey = parse_hey(cmd)
        target = target_of(hey.url, request.app[RESOLVE_KEY])
    except LoadTestRefused as exc:
        return web.Response(status=400, text=str(exc))
    started = request.app[LOAD_KEY].start(target, hey.rps, hey.duration_s, canary=canary, cmd=cmd)
    # 202 as the real loadtester answers an asynchronous task; the text is the sandbox's, for people reading logs.
    text = f"command {cmd} started" if started else f"command {cmd} is already running"
    return web.Response(status=202, text=text)


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="OK")


def loadtester_app(load: LoadTests, resolve: Resolver) -> web.Application:
    """The webhook API: POST / with a CanaryWebhookPayload, GET /healthz."""
    app = web.Application()
    app[LOAD_KEY] = load
    app[RESOLVE_KEY] = resolve
    app.router.add_post("/", _new_task)
    app.router.add_get("/healthz", _healthz)
    return app
