"""SIGKILL a headless production canary at random moments: every restart must carry it to the right end.

A standalone sandbox (`opsconsole sandbox serve --speed 0`) is the cloud. The console is the real CLI
in its own process: `deploy production --auto --yes`, then `approve`, then `resume` after every kill,
each run killed with SIGKILL at a seeded random point (a few milliseconds after its n-th printed event
or its next traffic move, or during start-up) until the deployment ends. The proof comes from the cloud's
side and from the registry: the sandbox's request log (every PATCH body's split sums to 100, each
split is moved to at most once, the steps are 10 → 25 → 50 → 100), a thread polling the served
split (sums to 100, only ready revisions serve), the registry (opens, one "done" per action) and the
final state (succeeded, new revision on 100 %, previous stable still tagged).
`bench/engine.py --kills N` runs the same loop for longer.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from console.wiring import running_sandbox
from core.engine import Engine, EnvironmentLock, approve
from core.engine.context import OUTCOME_KEYS
from core.providers.cloudrun import CloudRunAdapter
from core.providers.google_retry import RetryPolicy
from core.providers.profile import Endpoints, google_clients
from core.registry import Deployment, DeploymentStatus, Registry, StageStatus, open_registry
from sandbox.cloud import SandboxCloud
from sandbox.control import fetch_requests
from tests.engine_rig import IMAGE as RIG_IMAGE
from tests.engine_rig import rig, rig_config

ENV = "production"
SERVICE = "websocket-server"
PROJECT, REGION = "ai-agent-network-prod", "us-central1"
IMAGE = "us-central1-docker.pkg.dev/ai-agent-network-prod/agent-network/websocket-server"
STEPS = [10, 25, 50, 100]
CONFIG = """\
[teams]
operations = ["alice", "bob"]

[environments.production.strategy]
analysis_window_s = 10
mode = "auto"
"""
PROCESS_TIMEOUT_S = 90.0
POLL_S = 0.05
POLICY = RetryPolicy(initial=0.05, maximum=0.5, deadline=10.0, poll_initial=0.05, poll_maximum=0.2)


@dataclass
class CrashSummary:
    """What a crash loop saw; `failures`, `duplicates` and `bad_splits` must stay empty."""

    kills: int = 0
    restarts: int = 0  # console runs started after a kill
    runs: int = 0  # console runs in all
    outcomes: list[str] = field(default_factory=list)  # final status per deployment
    duplicates: list[str] = field(default_factory=list)
    bad_splits: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    observations: int = 0  # served splits read by the polling thread
    patches: int = 0  # mutating Cloud Run calls in the sandbox's request log
    kill_stages: Counter[str] = field(default_factory=Counter)  # the stage each kill interrupted
    open_intents_at_kill: int = 0  # kills that left an action written ahead but not recorded done
    intents_closed: int = 0  # such actions a restarted engine found in place and recorded done ("observed")
    wall_s: float = 0.0


@dataclass(frozen=True)
class Backend:
    """Which registry the consoles share: the embedded file (default) or a PostgreSQL database, where each person
    connects as themselves (`urls`: operator -> URL; production's approval needs a second person there)."""

    urls: dict[str, str] = field(default_factory=dict)

    def location(self, workdir: Path, operator: str = "alice") -> str:
        return self.urls.get(operator) or str(workdir / "registry.json")

    def open(self, workdir: Path) -> Registry:
        return open_registry(self.location(workdir), operator="checker")


EMBEDDED = Backend()


def console_env(workdir: Path, registry: str | None = None) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    environ.update(OPSCONSOLE_REGISTRY=registry or str(workdir / "registry.json"),
                   OPSCONSOLE_SANDBOX=str(workdir / "sandbox.json"), OPSCONSOLE_OPERATOR="alice",
                   XDG_CONFIG_HOME=str(workdir / "xdg"),
                   XDG_DATA_HOME=str(workdir / "data"), PYTHONUNBUFFERED="1")
    return environ


FAST_SERVE = ("--metric-point-s", "10", "--ingestion-delay", "0")
"""Monitoring's points for 10 s windows, visible at once: not Google's, for the speed of the crash loops."""


class StandaloneSandbox:
    """`opsconsole sandbox serve --speed 0` in its own process, for as long as the `with` block runs."""

    def __init__(self, workdir: Path, serve_args: tuple[str, ...] = FAST_SERVE) -> None:
        self.workdir = workdir
        self.serve_args = serve_args
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoints: Endpoints | None = None

    def __enter__(self) -> StandaloneSandbox:
        self.process = subprocess.Popen([sys.executable, "-m", "console", "sandbox", "serve", "--speed", "0",
                                         *self.serve_args],
                                        cwd=self.workdir, env=console_env(self.workdir),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while (found := running_sandbox(self.workdir / "sandbox.json")) is None:
            if self.process.poll() is not None:
                raise RuntimeError(f"the sandbox exited early: {self.process.stderr.read().decode()[-500:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not come up within 60 s")
            time.sleep(0.1)
        self.endpoints = found[0]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        assert self.endpoints is not None
        return fetch_requests(self.endpoints.control_url, since)["requests"]


class SplitWatcher(threading.Thread):
    """Reads the served split through the Cloud Run API every POLL_S and notes every observation that is wrong."""

    def __init__(self, endpoints: Endpoints) -> None:
        super().__init__(name="split-watcher", daemon=True)
        self._clients = google_clients(endpoints)
        self._adapter = CloudRunAdapter(self._clients.services, self._clients.revisions, PROJECT, REGION,
                                        policy=POLICY)
        self._done = threading.Event()
        self.observations = 0
        self.bad: list[str] = []

    def run(self) -> None:
        while not self._done.is_set():
            try:
                state = self._adapter.get_service(SERVICE)
            except Exception as exc:  # a failed read is a finding, not a reason to stop watching
                self.bad.append(f"reading the served split failed: {exc}")
            else:
                self.observations += 1
                if sum(state.traffic.values()) != 100:
                    self.bad.append(f"served split {dict(state.traffic)} sums to {sum(state.traffic.values())}")
                for revision in state.traffic:
                    found = state.revision(revision)
                    if found is None or not found.ready:
                        self.bad.append(f"revision {revision} serves traffic but is not ready")
            self._done.wait(POLL_S)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=30)
        self._clients.close()


@dataclass(frozen=True)
class KillPlan:
    """When to SIGKILL a console: `delay_s` after it started ("early"), or after its `count`-th printed
    event ("events") or traffic move ("move") and then `delay_s` more (to land between or inside actions)."""

    kind: Literal["early", "events", "move"]
    count: int = 0
    delay_s: float = 0.0

    @classmethod
    def draw(cls, rnd: random.Random) -> KillPlan:
        kind = rnd.choices(["early", "events", "move"], weights=[15, 55, 30])[0]
        if kind == "early":
            return cls("early", 0, rnd.uniform(0.2, 1.5))
        return cls(kind, rnd.randint(1, 6) if kind == "events" else 1, rnd.uniform(0.0, 0.06))

    def due(self, elapsed: float, lines: list[bytes]) -> bool:
        if self.kind == "early":
            return elapsed >= self.delay_s
        seen = lines if self.kind == "events" else [line for line in lines if b'"WeightChanged"' in line]
        return len(seen) >= self.count


@dataclass
class Run:
    killed: bool
    returncode: int | None
    stderr: str


def run_console(workdir: Path, args: list[str], plan: KillPlan | None, registry: str | None = None) -> Run:
    """Run `opsconsole ARGS --json`; SIGKILL it when the plan says so, unless it ended first."""
    process = subprocess.Popen([sys.executable, "-m", "console", *args, "--json"], cwd=workdir,
                               env=console_env(workdir, registry), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
    reader.start()
    started = time.monotonic()
    killed = False
    while process.poll() is None:
        elapsed = time.monotonic() - started
        if elapsed > PROCESS_TIMEOUT_S:
            process.kill()
            process.wait()
            return Run(False, None, f"opsconsole {' '.join(args)} did not end within {PROCESS_TIMEOUT_S:.0f} s")
        if plan is not None and plan.due(elapsed, lines):
            if plan.kind != "early":
                time.sleep(plan.delay_s)
            process.kill()  # SIGKILL
            killed = process.wait() == -signal.SIGKILL
            break
        time.sleep(0.002)
    process.wait()
    reader.join(timeout=10)
    stderr = (process.stderr.read() if process.stderr else b"").decode(errors="replace")
    return Run(killed, process.returncode, stderr)


def _deployment(registry: Registry, image: str) -> Deployment | None:
    return next((d for d in registry.iter_deployments(environment=ENV)
                 if d.versions.get(SERVICE) == image), None)


def _next_command(registry: Registry, image: str) -> list[str] | None:
    """What an operator runs now: deploy, approve, resume, or nothing (the deployment has ended)."""
    deployment = _deployment(registry, image)
    if deployment is None:
        return ["deploy", ENV, "--set", f"{SERVICE}={image}", "--auto", "--yes"]
    if deployment.is_terminal:
        return None
    if deployment.metadata["rollout"].get("approval") is None:
        return ["approve", ENV, "--yes"]
    return ["resume", ENV, "--yes"]


def _note_kill(registry: Registry, image: str, summary: CrashSummary) -> None:
    deployment = _deployment(registry, image)
    if deployment is None:
        summary.kill_stages["before the deployment was registered"] += 1
        return
    rollout = deployment.metadata["rollout"]
    stages = rollout["plan"]["stages"]
    summary.kill_stages[stages[rollout["stage"]]["name"] if rollout["stage"] < len(stages) else "finished"] += 1
    last: dict[str, str] = {}  # action and detail -> the newest record's kind
    for event in registry.events(deployment.id):
        if event.kind in ("intent", "done", "failed"):
            last[_action_key(event.action, event.detail)] = event.kind
    summary.open_intents_at_kill += "intent" in last.values()


def _action_key(action: str, detail: dict[str, Any]) -> str:
    """An action and its detail, without what an outcome adds (an error, or that it was observed in place)."""
    return f"{action} {json.dumps({k: v for k, v in detail.items() if k not in OUTCOME_KEYS}, sort_keys=True)}"


def check_deployment(workdir: Path, sandbox: StandaloneSandbox, image: str, stable: str,
                     log: list[dict[str, Any]], summary: CrashSummary, backend: Backend = EMBEDDED) -> str | None:
    """Check one ended deployment from the request log, the registry and Cloud Run; the new stable revision."""
    registry = backend.open(workdir)  # opens cleanly, or raises here
    deployment = _deployment(registry, image)
    if deployment is None:
        summary.failures.append(f"no deployment of {image} in the registry")
        return None
    summary.outcomes.append(str(deployment.status))
    if deployment.status != DeploymentStatus.SUCCEEDED:
        summary.failures.append(f"{deployment.id} ended {deployment.status}: {deployment.rollback_cause}")
    unfinished = [s.name for s in deployment.stages if s.status not in (StageStatus.SUCCEEDED, StageStatus.SKIPPED)]
    if unfinished:
        summary.failures.append(f"{deployment.id}: stages not finished: {unfinished}")
    if registry.get_environment_state(ENV).active:
        summary.failures.append(f"{ENV} still has an active deployment after {deployment.id} ended")
    lease = registry.lease(ENV, "checker") or EnvironmentLock(workdir / "locks", ENV, "checker")
    if lease.owner() is not None:
        summary.failures.append(f"{ENV}'s driver lock is still held after every console ended")

    # The registry: an action recorded done twice was applied twice.
    events = registry.events(deployment.id)
    done = Counter(_action_key(e.action, e.detail) for e in events if e.kind == "done")
    acted = {_action_key(e.action, e.detail) for e in events if e.kind == "intent"}
    summary.intents_closed += sum(1 for e in events if e.kind == "done" and e.detail.get("observed"))
    summary.duplicates += [f"{deployment.id}: registry records {key} done {n} times"
                           for key, n in done.items() if n > 1 and key in acted]
    summary.failures += [f"{deployment.id}: {key} was written ahead but never recorded done"
                         for key in sorted(acted) if not done[key]]

    # The cloud: every body sums to 100, each split is moved to once, in the plan's order.
    summary.patches += len(log)
    current = {stable: 100}
    moves: list[dict[str, int]] = []
    bodies: Counter[str] = Counter()
    for entry in log:
        split = entry["split"]
        if split is not None and sum(split.values()) != 100:
            summary.bad_splits.append(f"request {entry['seq']} sent split {split}")
        if entry["status"] != 200:
            summary.failures.append(f"request {entry['seq']} ({entry['rpc']} {split}) was refused: {entry['status']}")
            continue
        bodies[json.dumps([split, entry["tags"], entry["template_revision"]], sort_keys=True)] += 1
        if split is not None and split != current:
            moves.append(split)
            current = split
    summary.duplicates += [f"{deployment.id}: the same PATCH body {body} was applied {n} times"
                           for body, n in bodies.items() if n > 1]
    seen = Counter(json.dumps(m, sort_keys=True) for m in moves)
    summary.duplicates += [f"{deployment.id}: traffic moved to {split} {n} times" for split, n in seen.items() if n > 1]
    new = deployment.metadata["rollout"]["new_revision"]
    if [m.get(new, 0) for m in moves] != STEPS:
        summary.failures.append(f"{deployment.id}: traffic moves {moves}, expected {STEPS} % on {new}")

    assert sandbox.endpoints is not None
    clients = google_clients(sandbox.endpoints)
    try:
        served = CloudRunAdapter(clients.services, clients.revisions, PROJECT, REGION, policy=POLICY) \
            .get_service(SERVICE)
    finally:
        clients.close()
    if dict(served.traffic) != {new: 100}:
        summary.failures.append(f"{deployment.id}: Cloud Run serves {dict(served.traffic)}, not {new} at 100 %")
    if served.tags.get("stable") != new or served.tags.get("previous") != stable:
        summary.failures.append(f"{deployment.id}: tags {dict(served.tags)}: stable must name {new}, "
                                f"previous {stable}")
    return new


def crash_one_deployment(workdir: Path, sandbox: StandaloneSandbox, image: str, rnd: random.Random,
                         kills_wanted: int, summary: CrashSummary, backend: Backend = EMBEDDED) -> None:
    """Drive one deployment of `image` to its end through killed and restarted consoles (bob approves)."""
    registry = backend.open(workdir)
    after_kill = False
    for _ in range(200):
        command = _next_command(registry, image)
        if command is None:
            return
        plan = KillPlan.draw(rnd) if summary.kills < kills_wanted else None
        who = "bob" if command[0] == "approve" else "alice"
        run = run_console(workdir, command, plan, backend.location(workdir, who))
        summary.runs += 1
        summary.restarts += after_kill
        if run.killed:
            summary.kills += 1
            _note_kill(registry, image, summary)
        elif run.returncode not in (0, 3):  # 3: it waits for a person (the approval), who comes next
            summary.failures.append(f"opsconsole {' '.join(command)} exited {run.returncode}: "
                                    f"{run.stderr.strip().splitlines()[-1:] or run.stderr}")
            return
        after_kill = run.killed
    summary.failures.append(f"the deployment of {image} did not end after 200 console runs")


def run_crash_loop(workdir: Path, *, kills: int, seed: int, backend: Backend = EMBEDDED, config: str = CONFIG,
                   serve_args: tuple[str, ...] = FAST_SERVE) -> CrashSummary:
    """Deploy new images one after another, killing consoles, until `kills` kills are done and the last one ended."""
    rnd = random.Random(seed)
    summary = CrashSummary()
    started = time.monotonic()
    (workdir / "opsconsole.toml").write_text(config)
    with StandaloneSandbox(workdir, serve_args) as sandbox:
        assert sandbox.endpoints is not None
        watcher = SplitWatcher(sandbox.endpoints)
        watcher.start()
        try:
            stable = watcher._adapter.get_service(SERVICE).latest_ready_revision
            number = 0
            while summary.kills < kills and not summary.failures:
                number += 1
                image = f"{IMAGE}:v{number}.0.0"
                seq = max((r["seq"] for r in sandbox.requests()), default=0)
                crash_one_deployment(workdir, sandbox, image, rnd, kills, summary, backend)
                new = check_deployment(workdir, sandbox, image, stable, sandbox.requests(seq), summary, backend)
                if new is None:
                    break
                stable = new
        finally:
            watcher.stop()
        summary.observations = watcher.observations
        summary.bad_splits += watcher.bad
    summary.wall_s = time.monotonic() - started
    return summary


def test_a_killed_headless_canary_resumes_to_success_without_applying_a_step_twice(tmp_path: Path) -> None:
    summary = run_crash_loop(tmp_path, kills=6, seed=20261126)
    assert summary.kills >= 5, summary
    assert not summary.failures, "\n".join(summary.failures)  # whole sentences: a rollback cause is long
    assert not summary.duplicates, summary.duplicates
    assert not summary.bad_splits, summary.bad_splits
    assert summary.outcomes and set(summary.outcomes) == {"succeeded"}
    assert summary.observations > 0 and summary.restarts >= 5


class _DiesAfterSettingTraffic:
    """A Cloud Run provider whose process "dies" (BaseException, as from a signal) right after a traffic change
    reached the cloud: the engine has written the intent ahead but never hears the answer."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)

    def set_traffic(self, *args: Any, **kwargs: Any) -> Any:
        self._provider.set_traffic(*args, **kwargs)
        raise KeyboardInterrupt("killed after the PATCH was answered")


def test_a_traffic_change_sent_just_before_a_crash_is_recorded_done_once_and_never_resent(tmp_path: Path) -> None:
    with rig(tmp_path, config=rig_config(mode="auto", analysis_window_s=10)) as r:
        stable = next(iter(r.served()))
        deployment = r.engine.deploy_to_environment(ENV, {SERVICE: RIG_IMAGE})
        approve(r.engine, ENV)
        doomed = Engine(r.engine.config, r.registry, dataclasses.replace(
            r.engine.ports, cloudrun=lambda env: _DiesAfterSettingTraffic(r.wiring.cloudrun(env))), operator="alice")
        with pytest.raises(KeyboardInterrupt):
            doomed.drive(deployment.id, sleep=r.sleep)
        doomed.release_locks()
        assert [e.kind for e in r.registry.events(deployment.id) if e.action == "set traffic"] == ["intent"]

        tick = r.drive(deployment.id)  # a new console on the same registry and cloud

        assert tick.state == "finished" and r.deployment(deployment.id).status == DeploymentStatus.SUCCEEDED
        moves = [e.split for e in r.cloud.cloudrun_requests.since() if e.status == 200 and e.split != {stable: 100}]
        new = r.deployment(deployment.id).metadata["rollout"]["new_revision"]
        assert [m.get(new) for m in moves][:4] == STEPS, "10 % was not sent again"
        ten = [e for e in r.registry.events(deployment.id) if e.action == "set traffic" and e.detail["percent"] == 10]
        assert [(e.kind, e.detail.get("observed", False)) for e in ten] == [("intent", False), ("done", True)]


def test_the_sandbox_logs_every_mutating_cloud_run_call_refused_ones_too() -> None:
    with SandboxCloud() as cloud:
        service = next(iter(cloud.cloudrun.services))
        stable = cloud.cloudrun.service(service).latest_ready
        body = {"template": {"containers": [{"image": "example/ws:v1"}]},
                "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": stable, "percent": 90}]}
        answer = httpx.patch(f"{cloud.endpoints.cloudrun_url}/v2/{service}", json=body, timeout=10)
        assert answer.status_code == 400
        httpx.get(f"{cloud.endpoints.cloudrun_url}/v2/{service}", timeout=10)  # reads are not logged

        logged = fetch_requests(cloud.endpoints.control_url)
        assert [(e["rpc"], e["status"], e["split"]) for e in logged["requests"]] == [
            ("UpdateService", 400, {stable: 90})]
        assert fetch_requests(cloud.endpoints.control_url, since=logged["last_seq"])["requests"] == []
