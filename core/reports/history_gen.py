"""A seeded generator of a year of realistic deployment history (and incidents), for tests, benchmarks and demos.

    python -m core.reports.history_gen --out /tmp/registry.json --deployments 5000 --seed 7

Deployments go to dev (blue-green, half of them), staging (blue-green) and production (canary
10→25→50→100), mostly on weekdays in working hours; production canaries take 40–120 minutes, blue-green
ones minutes. About 6 % of canaries are rolled back by the judge (5xx or latency) or an operator, 3 %
fail before serving, and now and then an operator rolls a component back by hand. Each records the
commit time of every component it deploys (metadata.commit_times), a few hours to days before it.
Incidents (table "incidents") follow a share of production rollbacks and a few come from nowhere.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.registry import DeploymentRegistry

END = datetime(2026, 11, 1, tzinfo=UTC)
ENVIRONMENTS = (("dev", 50), ("staging", 30), ("production", 20))
OPERATORS = ("alice", "bob", "chen", "dana", "ci")
OPERATOR_REASONS = ("checkout errors reported by support", "memory climbing on new revision",
                    "wrong feature flag default", "websocket reconnect storm", "slow agent replies")
CANARY_STEPS = (10, 25, 50, 100)
BATCH = 5000


@dataclass
class History:
    deployments: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)


def _moment(rnd: random.Random, start: datetime, days: float) -> datetime:
    """A start time: uniform day, weekdays three times as likely, mostly 08–19 UTC."""
    while True:
        day = start + timedelta(days=math.floor(rnd.uniform(0, days)))
        if day.weekday() < 5 or rnd.random() < 0.33:
            break
    hour = rnd.gauss(13.5, 3.0) if rnd.random() < 0.9 else rnd.uniform(0, 24)
    seconds = min(max(hour, 0.0), 23.99) * 3600
    return day + timedelta(seconds=seconds, milliseconds=rnd.randrange(1000))


def _judge_cause(rnd: random.Random) -> str:
    window = rnd.randint(1, 4)
    if rnd.random() < 0.6:
        rate = rnd.uniform(2.5, 9.0)
        return (f"canary judge: a rollback trigger fired in window {window}: canary 5xx {rate:.1f} % "
                f"over {rnd.randint(300, 4000)} requests: above the 2 % rollback trigger")
    p99 = rnd.randint(700, 2400)
    return (f"canary judge: 3 failed windows in a row (windows {window}–{window + 2}): canary p99 {p99} ms "
            f"over {rnd.randint(300, 4000)} requests: fail, above 1.5× stable")


def _canary(rnd: random.Random, started: datetime, outcome: str) -> tuple[list[dict[str, Any]], datetime, str | None]:
    stages, at = [], started
    at += timedelta(minutes=rnd.uniform(1.5, 4))  # revision becomes ready
    stages.append({"name": "deploy revision", "status": "succeeded", "started_at": started, "ended_at": at})
    failing = rnd.randrange(len(CANARY_STEPS)) if outcome in ("rolled_back", "aborted") else -1
    cause = None
    for index, percent in enumerate(CANARY_STEPS):
        stage_start = at
        if index == failing:
            at += timedelta(minutes=rnd.uniform(4, 20))
            cause = _judge_cause(rnd) if rnd.random() < 0.75 else \
                f"rolled back by {rnd.choice(OPERATORS[:4])}: {rnd.choice(OPERATOR_REASONS)}"
            stages.append({"name": f"canary {percent}%", "status": "failed", "started_at": stage_start, "ended_at": at})
            at += timedelta(minutes=rnd.uniform(0.5, 3))  # traffic back on stable, stable checked
            for rest in CANARY_STEPS[index + 1:]:
                stages.append({"name": f"canary {rest}%", "status": "skipped"})
            return stages, at, cause
        at += timedelta(minutes=rnd.lognormvariate(math.log(12), 0.35))  # observe, then the operator steps on
        stages.append({"name": f"canary {percent}%", "status": "succeeded", "started_at": stage_start, "ended_at": at})
    return stages, at, cause


def _blue_green(rnd: random.Random, started: datetime) -> tuple[list[dict[str, Any]], datetime]:
    ready = started + timedelta(minutes=rnd.uniform(1.5, 4))
    switched = ready + timedelta(minutes=rnd.lognormvariate(math.log(5), 0.4))
    return [{"name": "deploy green", "status": "succeeded", "started_at": started, "ended_at": ready},
            {"name": "switch traffic", "status": "succeeded", "started_at": ready, "ended_at": switched}], switched


def _events(started: datetime, ended: datetime, actor: str, status: str) -> list[dict[str, Any]]:
    return [{"kind": "note", "action": "deployment planned", "actor": actor, "at": started, "detail": {}},
            {"kind": "intent", "action": "deploy revision", "actor": "engine", "at": started, "detail": {}},
            {"kind": "done", "action": "deploy revision", "actor": "engine", "at": started, "detail": {}},
            {"kind": "note", "action": f"deployment {status}", "actor": "engine", "at": ended, "detail": {}}]


def generate_history(deployments: int, seed: int, *, end: datetime = END, days: float = 365.0) -> History:
    """`deployments` finished deployments over the `days` before `end`, and their incidents, the same for a seed."""
    rnd = random.Random(seed)
    start = end - timedelta(days=days)
    history = History()
    moments = sorted(_moment(rnd, start, days) for _ in range(deployments))
    names, weights = [name for name, _ in ENVIRONMENTS], [weight for _, weight in ENVIRONMENTS]
    release = {"websocket-server": 0, "frontend": 0, "infrastructure": 0}
    for n, started in enumerate(moments):
        env = rnd.choices(names, weights)[0]
        actor = rnd.choice(OPERATORS)
        if env == "production" and rnd.random() < 0.015:
            history.deployments.append(_manual_rollback(rnd, env, started, actor))
            continue
        components = rnd.choices((("websocket-server",), ("frontend",), ("websocket-server", "frontend"),
                                  ("infrastructure",)), (45, 30, 20, 5))[0]
        versions = {}
        for component in components:
            release[component] += 1
            versions[component] = f"1.{release[component] // 100}.{release[component] % 100}"
        commit_times = {c: (started - timedelta(hours=rnd.lognormvariate(math.log(18), 1.1))).isoformat()
                        for c in components}
        roll = rnd.random()
        if env == "production":
            outcome = "rolled_back" if roll < 0.06 else "failed" if roll < 0.09 else "aborted" if roll < 0.10 \
                else "succeeded"
        else:
            outcome = "failed" if roll < 0.04 else "rolled_back" if roll < 0.06 else "succeeded"
        cause = None
        if env == "production" and outcome in ("succeeded", "rolled_back", "aborted"):
            stages, ended, cause = _canary(rnd, started, outcome)
            strategy = "canary"
            if outcome == "aborted":
                cause = None
        elif env == "production":  # failed: the new revision never became ready, nothing served
            ended = started + timedelta(minutes=rnd.uniform(2, 6))
            stages = [{"name": "deploy revision", "status": "failed", "started_at": started, "ended_at": ended},
                      *({"name": f"canary {p}%", "status": "skipped"} for p in CANARY_STEPS)]
            strategy, cause = "canary", "revision did not become ready: container failed to start"
        else:
            stages, ended = _blue_green(rnd, started)
            strategy = "blue-green"
            if outcome == "failed":
                ended = stages[0]["ended_at"]
                stages = [{**stages[0], "status": "failed"}, {**stages[1], "status": "skipped",
                                                             "started_at": None, "ended_at": None}]
                cause = "revision did not become ready: container failed to start"
            elif outcome == "rolled_back":
                cause = "verification failed after the switch: health check returned 503"
                stages[1]["status"] = "failed"
        record = {"environment": env, "versions": versions, "status": outcome, "strategy": strategy,
                  "actor": actor, "started_at": started, "ended_at": ended, "stages": stages,
                  "rollback_cause": cause, "metadata": {"commit_times": commit_times, "ticket": f"OPS-{n}"},
                  "events": _events(started, ended, actor, outcome)}
        history.deployments.append(record)
        if env == "production" and outcome == "rolled_back" and rnd.random() < 0.3:
            history.incidents.append(_incident(rnd, env, started + timedelta(minutes=rnd.uniform(5, 40)), n))
        elif env == "production" and outcome == "succeeded" and rnd.random() < 0.01:
            history.incidents.append(_incident(rnd, env, started + timedelta(hours=rnd.uniform(1, 30)), n))
    return history


def _manual_rollback(rnd: random.Random, env: str, started: datetime, actor: str) -> dict[str, Any]:
    component = rnd.choice(("websocket-server", "frontend"))
    ended = started + timedelta(minutes=rnd.uniform(1, 6))
    return {"environment": env, "versions": {component: "previous"}, "status": "succeeded", "strategy": "rollback",
            "actor": actor, "started_at": started, "ended_at": ended,
            "rollback_cause": f"rolled back by {actor}: {rnd.choice(OPERATOR_REASONS)}", "metadata": {},
            "events": _events(started, ended, actor, "succeeded")}


def _incident(rnd: random.Random, env: str, started: datetime, n: int) -> dict[str, Any]:
    resolved = started + timedelta(minutes=rnd.lognormvariate(math.log(75), 0.8))
    is_open = rnd.random() < 0.03
    return {"id": f"inc-{started:%Y%m%d}-{n:06d}", "environment": env, "started_at": started.isoformat(),
            "resolved_at": None if is_open else resolved.isoformat(),
            "severity": rnd.choices(("SEV1", "SEV2", "SEV3", "SEV4"), (5, 20, 45, 30))[0],
            "suspect_deployment_id": None, "status": "open" if is_open else "resolved"}


def _batches(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for index in range(0, len(items), BATCH):
        yield items[index:index + BATCH]


def fill_registry(registry: DeploymentRegistry, history: History) -> list[str]:
    """Import the deployments (bulk, a month file append per batch) and store the incidents; returns the ids.

    Every incident names the production deployment it followed as suspect: that id is known only once
    imported, so an incident's id carries the index of its deployment.
    """
    ids: list[str] = []
    for batch in _batches(history.deployments):
        ids.extend(registry.import_history(batch))
    for incident in history.incidents:
        n = int(incident["id"].rsplit("-", 1)[1])
        suspect = ids[n] if history.deployments[n]["status"] in ("rolled_back", "succeeded") else None
        registry.put_record("incidents", incident["id"], {**incident, "suspect_deployment_id": suspect})
    return ids


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.reports.history_gen", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="registry file to fill (created if absent)")
    parser.add_argument("--deployments", type=int, default=5000, help="how many deployments (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--end", type=datetime.fromisoformat, default=END,
                        help="the year of history ends here (ISO-8601, default 2026-11-01T00:00:00+00:00)")
    args = parser.parse_args(argv)
    if args.deployments < 0:
        parser.error("--deployments must be 0 or more")
    end = args.end if args.end.tzinfo else args.end.replace(tzinfo=UTC)
    history = generate_history(args.deployments, args.seed, end=end)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    registry = DeploymentRegistry(args.out)
    fill_registry(registry, history)
    print(f"{args.out}: {len(history.deployments)} deployments and {len(history.incidents)} incidents "
          f"over the year to {end:%Y-%m-%d}")


if __name__ == "__main__":
    main()
