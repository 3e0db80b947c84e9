"""Shared wording of report figures (durations, rates, tiers) so every rendering says the same thing."""

from __future__ import annotations

from core.reports.model import DeploymentReport


def duration(seconds: float | None) -> str:
    """"42 s", "12 min", "3.5 h", "2.1 d"; "—" when there is no value."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def period(report: DeploymentReport) -> str:
    return f"{report.start:%Y-%m-%d %H:%M} → {report.end:%Y-%m-%d %H:%M} UTC"


def dora_tiles(report: DeploymentReport) -> list[tuple[str, str, str, str]]:
    """(title, value, detail, tier) for each of the four keys, in DORA's order."""
    d = report.dora
    f, lt, cfr, ttr = d.deployment_frequency, d.lead_time, d.change_failure_rate, d.time_to_restore
    return [
        ("Deployment frequency", f.bucket, f"{f.deployments} deployments, {f.per_week:.1f}/week, "
         f"median {f.median_days_per_week:g} days/week", f.tier.value),
        ("Lead time for changes", duration(lt.median_seconds), f"median of {lt.samples} changes ({lt.bucket})"
         + (f"; {lt.without_commit_time} without commit time" if lt.without_commit_time else ""), lt.tier.value),
        ("Change failure rate", percent(cfr.rate), f"{cfr.failures} of {cfr.changes} changes "
         f"({cfr.rolled_back} rolled back, {cfr.rolled_back_later} later, {cfr.with_incident} by incident)",
         cfr.tier.value),
        ("Time to restore", duration(ttr.median_seconds), f"median of {ttr.samples} ({ttr.from_rollbacks} rollbacks, "
         f"{ttr.from_incidents} incidents)" + (f"; {ttr.open_incidents} open" if ttr.open_incidents else ""),
         ttr.tier.value),
    ]


def outcome_rows(report: DeploymentReport) -> list[tuple[str, str, str]]:
    o = report.outcomes
    return [("succeeded", str(o.succeeded), percent(o.success_rate)),
            ("failed", str(o.failed), percent(o.failure_rate)),
            ("rolled back", str(o.rolled_back), percent(o.rollback_rate)),
            ("aborted", str(o.aborted), ""),
            ("cancelled before any change", str(o.cancelled), ""),
            ("unfinished", str(o.unfinished), ""),
            ("manual rollbacks", str(o.manual_rollbacks), "")]
