"""generate_report: every figure of the deployment report for a range and an environment (or all), computed once.

Definitions (also in the README):
- A *change* is a deployment whose strategy is not "rollback" (rollback operations restore, they do not
  change) and that reached users: it ended succeeded or rolled back. Failed ones never served traffic.
- Deployment frequency and lead time count successful changes, like fourkeys' deployments table. A
  deployment belongs to the UTC day and ISO week it started, the moment that also puts it in the range
  (one that starts at 23:50 on 31 March and ends after midnight counts for March).
- Change failure rate = failed changes / changes; a change failed when the engine rolled it back, when a
  later manual rollback of the same component in the same environment replaced it (the newest successful
  change of that component before the rollback), or when an incident names it as suspect.
- Time to restore samples: each engine rollback, from the start of the stage recorded as failed (the
  deployment's start when none is) to its end (traffic back on stable and checked); and each resolved
  incident, resolved_at − started_at. A rollback that a resolved incident names as suspect is measured by
  the incident only, so one failure is one sample.
"""

from __future__ import annotations

import bisect
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import compress, repeat
from operator import attrgetter, ne, sub
from typing import Any

from core.errors import BadInput
from core.registry import Registry
from core.reports import dora
from core.reports.causes import normalise_cause
from core.reports.incidents import Incident, read_incidents
from core.reports.model import (
    ChangeFailureRate,
    DeploymentFrequency,
    DeploymentReport,
    Dora,
    DurationTrend,
    LeadTime,
    Outcomes,
    RollbackCause,
    TimelineEntry,
    TimeToRestore,
    WeeklyCount,
)
from core.reports.row import Row, iso_week
from core.reports.source import no_cyclic_gc, read_rows
from core.reports.span import in_span

ROLLBACK_STRATEGY = "rollback"
TIMELINE_LIMIT = 200
TERMINAL = ("succeeded", "failed", "rolled_back", "aborted", "cancelled")

# The figures are folds over up to 100 000 rows: where a pass is a plain projection or count it is written
# with C-level map/compress/Counter over these getters rather than a Python loop per row.
_ID = attrgetter("id")
_ENVIRONMENT = attrgetter("environment")
_STATUS = attrgetter("status")
_STRATEGY = attrgetter("strategy")
_STARTED = attrgetter("started")
_ENDED = attrgetter("ended")
_COMMIT_TIMES = attrgetter("commit_times")
_MALFORMED = attrgetter("commit_times_malformed")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def generate_report(registry: Registry, start: datetime, end: datetime, environment: str | None = None,
                    *, timeline_limit: int = TIMELINE_LIMIT, now: Callable[[], datetime] = _utc_now,
                    read_only: bool = False) -> DeploymentReport:
    """The report of deployments started in [start, end) and incidents started in it, for one environment or all.

    `read_only` (a read-only console) writes nothing, not even the report's month cache beside the registry.
    """
    start, end = in_span(start, "the report's start", start=True), in_span(end, "the report's end")
    if end <= start:
        raise BadInput(f"the report range ends ({end:%Y-%m-%d %H:%M}) before it starts ({start:%Y-%m-%d %H:%M})")
    # The rows live only until the report is built: with the collector paused they are freed by reference
    # counting without its ever walking them (Row, a tuple subclass, is never untracked like a plain tuple).
    with no_cyclic_gc():
        rows = read_rows(registry, start, end, environment, read_only=read_only)
        incidents, warnings = read_incidents(registry, start, end, environment)
        return build_report(rows, incidents, start, end, environment, warnings=warnings,
                            timeline_limit=timeline_limit, generated_at=now())


def build_report(rows: list[Row], incidents: list[Incident], start: datetime, end: datetime,
                 environment: str | None, *, warnings: list[str], timeline_limit: int,
                 generated_at: datetime) -> DeploymentReport:
    """Every figure from rows sorted by id (as read_rows gives them) and incidents oldest first."""
    warnings = list(warnings)
    changes = [r for r in rows if r.strategy != ROLLBACK_STRATEGY]
    operations = [r for r in rows if r.strategy == ROLLBACK_STRATEGY]
    shipped = [r for r in changes if r.status in ("succeeded", "rolled_back") and r.ended is not None]
    succeeded = [r for r in shipped if r.status == "succeeded"]

    frequency = _frequency(succeeded, start, end)
    lead = _lead_time(succeeded, warnings)
    later = _rolled_back_later(succeeded, operations)
    cfr = _change_failure(shipped, later, incidents)
    restore = _time_to_restore(shipped, incidents)
    outcomes = _outcomes(changes, operations)
    causes = _causes([r for r in changes if r.status == "rolled_back"] + operations)
    timeline, total = _timeline(rows, incidents, timeline_limit)
    durations, weekly = _trends(rows)
    if total > len(timeline):
        warnings.append(f"the timeline shows the newest {len(timeline)} of {total} deployments and incidents")
    return DeploymentReport(
        start=start, end=end, environment=environment, generated_at=generated_at,
        dora=Dora(deployment_frequency=frequency, lead_time=lead, change_failure_rate=cfr, time_to_restore=restore),
        outcomes=outcomes, rollback_causes=causes, durations=durations, weekly=weekly,
        timeline=timeline, timeline_total=total, warnings=warnings)


def _frequency(succeeded: list[Row], start: datetime, end: datetime) -> DeploymentFrequency:
    days = {date(int(d[:4]), int(d[4:6]), int(d[6:8])) for d in {ident[2:10] for ident in map(_ID, succeeded)}}
    last_day = (end - timedelta(microseconds=1)).date()
    bucket, median_days, weeks = dora.frequency_bucket(days, start.date(), last_day)
    return DeploymentFrequency(bucket=bucket, tier=dora.frequency_tier(bucket), deployments=len(succeeded),
                               deployment_days=len(days), weeks=weeks, median_days_per_week=median_days,
                               per_week=len(succeeded) / weeks if weeks else 0.0)


def _lead_time(succeeded: list[Row], warnings: list[str]) -> LeadTime:
    commits = list(map(_COMMIT_TIMES, succeeded))
    without = list(map(len, commits)).count(0)
    malformed = sum(map(_MALFORMED, succeeded))
    # fourkeys ignores non-positive differences ("automated pushes"); succeeded rows all have an end
    samples = [seconds for ended, times in zip(map(_ENDED, succeeded), commits, strict=True)
               for commit in times if (seconds := ended - commit) > 0]
    if without:
        warnings.append(f"{without} of {len(succeeded)} successful deployments record no commit time "
                        "(metadata.commit_times) and are left out of lead time")
    if malformed:
        warnings.append(f"{malformed} deployments have a commit time that is not an ISO-8601 time with a zone")
    value = dora.median(samples)
    return LeadTime(median_seconds=value, bucket=dora.duration_bucket(value), tier=dora.lead_time_tier(value),
                    samples=len(samples), without_commit_time=without)


def _rolled_back_later(succeeded: list[Row], operations: list[Row]) -> set[str]:
    """Successful changes that a manual rollback replaced: per component, the newest one ended before it."""
    wanted = {(op.environment, component) for op in operations for component in op.versions}
    by_env = {env: [r for r in succeeded if r.environment == env] for env in {env for env, _ in wanted}}
    by_key: dict[tuple[str, str], list[Row]] = {}
    for env, component in wanted:
        needle = json.dumps(component) + ":"  # a key of the row's versions JSON, without decoding every row
        by_key[(env, component)] = [r for r in by_env[env] if needle in r.versions_json]
    ends = {key: sorted(found, key=attrgetter("ended")) for key, found in by_key.items()}  # shipped: all ended
    marks = {key: [r.ended for r in found if r.ended is not None] for key, found in ends.items()}  # drops none
    failed: set[str] = set()
    for op in operations:
        for component in op.versions:
            key = (op.environment, component)
            if key in ends:
                index = bisect.bisect_right(marks[key], op.started)
                if index:
                    failed.add(ends[key][index - 1].id)
    return failed


def _change_failure(shipped: list[Row], later: set[str], incidents: list[Incident]) -> ChangeFailureRate:
    suspects = {i.suspect for i in incidents if i.suspect}
    statuses = list(map(_STATUS, shipped))
    rolled = statuses.count("rolled_back")
    # each shipped change counts once: rolled back, else replaced later, else an incident's suspect
    kept = set(compress(map(_ID, shipped), map(ne, statuses, repeat("rolled_back"))))
    rolled_later = len(kept & later)
    with_incident = len((kept & suspects) - later)
    failures = rolled + rolled_later + with_incident
    rate = failures / len(shipped) if shipped else None
    return ChangeFailureRate(rate=rate, tier=dora.change_failure_tier(rate), failures=failures,
                             changes=len(shipped), rolled_back=rolled, rolled_back_later=rolled_later,
                             with_incident=with_incident)


def _time_to_restore(shipped: list[Row], incidents: list[Incident]) -> TimeToRestore:
    resolved = [i for i in incidents if i.resolved is not None and i.status != "aborted"]
    measured_by_incident = {i.suspect for i in resolved if i.suspect}
    samples: list[float] = []
    from_rollbacks = 0
    for row in [r for r in shipped if r.status == "rolled_back"]:
        if row.id not in measured_by_incident and row.ended is not None:
            failure = row.failed_stage_start or row.started
            samples.append(max(0.0, row.ended - failure))
            from_rollbacks += 1
    for incident in resolved:
        assert incident.resolved is not None
        samples.append((incident.resolved - incident.started).total_seconds())
    value = dora.median(samples)
    return TimeToRestore(median_seconds=value, bucket=dora.duration_bucket(value), tier=dora.restore_tier(value),
                         samples=len(samples), from_rollbacks=from_rollbacks, from_incidents=len(resolved),
                         open_incidents=sum(i.resolved is None and i.status == "open" for i in incidents))


def _outcomes(changes: list[Row], operations: list[Row]) -> Outcomes:
    counts = Counter(map(_STATUS, changes))
    finished = sum(counts[s] for s in TERMINAL)
    changed = finished - counts["cancelled"]  # a cancelled deployment changed nothing: no rate counts it

    def rate(status: str) -> float | None:
        return counts[status] / changed if changed else None

    return Outcomes(total=len(changes), succeeded=counts["succeeded"], failed=counts["failed"],
                    rolled_back=counts["rolled_back"], aborted=counts["aborted"], cancelled=counts["cancelled"],
                    unfinished=len(changes) - finished, manual_rollbacks=len(operations),
                    success_rate=rate("succeeded"), failure_rate=rate("failed"), rollback_rate=rate("rolled_back"))


def _causes(rollbacks: list[Row]) -> list[RollbackCause]:
    counts: Counter[str] = Counter()
    latest: dict[str, str] = {}
    for row in rollbacks:
        cause = normalise_cause(row.cause)
        counts[cause] += 1
        latest[cause] = max(latest.get(cause, ""), row.id)
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [RollbackCause(cause=cause, count=n, share=n / total, latest=latest[cause]) for cause, n in ranked]


def _trends(rows: list[Row]) -> tuple[list[DurationTrend], list[WeeklyCount]]:
    """Durations per (ISO week, environment, strategy) and change outcomes per week, one week's rows at a time."""
    durations: dict[tuple[str, str, str], list[float]] = {}
    weekly: list[WeeklyCount] = []
    for week, chunk in _weeks(rows):
        changed = Counter(map(_STATUS, compress(chunk, map(ne, map(_STRATEGY, chunk), repeat(ROLLBACK_STRATEGY)))))
        if changed:
            weekly.append(WeeklyCount(week=week, deployments=sum(changed.values()), succeeded=changed["succeeded"],
                                      failed=changed["failed"], rolled_back=changed["rolled_back"]))
        timed = [r for r in chunk if r.ended is not None and r.status in _TERMINAL]
        grouped: dict[tuple[str, str], list[float]] = defaultdict(list)
        for key, seconds in zip(zip(map(_ENVIRONMENT, timed), map(_STRATEGY, timed), strict=True),
                                map(sub, map(_ENDED, timed), map(_STARTED, timed)), strict=True):
            grouped[key].append(seconds)
        durations.update(((week, env, strategy), values) for (env, strategy), values in grouped.items())
    trends = []
    for (week, env, strategy), values in sorted(durations.items()):
        values.sort()
        trends.append(DurationTrend(week=week, environment=env, strategy=strategy, deployments=len(values),
                                    median_seconds=dora.percentile(values, 0.5),
                                    p90_seconds=dora.percentile(values, 0.9)))
    return trends, sorted(weekly, key=attrgetter("week"))


_TERMINAL = frozenset(TERMINAL)


def _weeks(rows: list[Row]) -> list[tuple[str, list[Row]]]:
    """The rows of each ISO week, found a day at a time by bisection: rows are sorted by id ("d-YYYYMMDD-...")."""
    ids = list(map(_ID, rows))
    runs: list[list[Any]] = []
    at = 0
    while at < len(ids):
        day = ids[at][:10]
        after = bisect.bisect_left(ids, day + "~", at)  # "~" sorts after the "-" that follows the day
        week = iso_week(day[2:])
        if runs and runs[-1][0] == week:
            runs[-1][2] = after
        else:
            runs.append([week, at, after])
        at = after
    return [(week, rows[low:high]) for week, low, high in runs]


def _summary(row: Row) -> str:
    versions = ", ".join(f"{c} {v}" for c, v in sorted(row.versions.items()))
    text = f"{versions} via {row.strategy}: {row.status.replace('_', ' ')}"
    if row.status in ("rolled_back", "failed") or row.strategy == ROLLBACK_STRATEGY:
        text += f" ({normalise_cause(row.cause)})"
    return text


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _timeline(rows: list[Row], incidents: list[Incident], limit: int) -> tuple[list[TimelineEntry], int]:
    total = len(rows) + len(incidents)
    newest_rows = rows[-limit:] if limit else []
    entries = [TimelineEntry(at=_utc(r.started), ended_at=None if r.ended is None else _utc(r.ended),
                             kind="deployment", id=r.id, environment=r.environment,
                             status=r.status, summary=_summary(r)) for r in newest_rows]
    for incident in incidents[-limit:] if limit else []:
        suspect = f", suspect {incident.suspect}" if incident.suspect else ""
        entries.append(TimelineEntry(at=incident.started, ended_at=incident.resolved, kind="incident",
                                     id=incident.id, environment=incident.environment, status=incident.status,
                                     summary=f"{incident.severity or 'incident'} {incident.status}{suspect}"))
    entries.sort(key=lambda e: (e.at, e.id), reverse=True)
    return entries[:limit], total
