"""SIGKILL a registry writer at random moments: the registry must open and keep every acknowledged write.

The writer (a forked child) reports each write through a pipe only after the call returned, and says
which write it is about to try first, so the checker knows the one write that may or may not have landed.
Each kill comes a drawn number of acknowledged writes into the writer's run, then a few random milliseconds
more: counted in writes, not in time, a loaded machine (which slows the writer) still kills it mid-run.
``bench/registry.py --kills N`` runs the same loop for longer.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from core.registry import DeploymentRegistry, DeploymentStatus, archive_dir_for, month_of
from core.registry.archive import MonthlyArchive

FINAL_STATUSES = ("succeeded", "failed", "rolled_back", "aborted")
ENVIRONMENTS = ("dev", "staging", "production")
MAX_WRITES_BEFORE_KILL = 12  # a deployment is four writes: a kill lands anywhere in the first three


@dataclass
class KillSummary:
    """What a run of kills observed; ``failures`` must stay empty."""

    kills: int = 0
    acknowledged_checked: int = 0
    in_flight_landed: int = 0
    in_flight_lost: int = 0
    temp_files_found: int = 0
    torn_archive_tails_found: int = 0
    interrupted_moves_found: int = 0
    writes_before_kill: list[int] = field(default_factory=list)
    writes_drawn: list[int] = field(default_factory=list)  # acknowledged writes each kill waited for
    failures: list[str] = field(default_factory=list)


def _say(fd: int, *words: object) -> None:
    os.write(fd, (" ".join(str(word) for word in words) + "\n").encode())


def _write_forever(path: Path, out: int, seed: int) -> None:
    registry = DeploymentRegistry(path)
    rnd = random.Random(seed)
    _say(out, "ready - -")  # the kill's random delay starts now: opening is not what this test kills
    while True:
        ident = registry.register_deployment({
            "environment": rnd.choice(ENVIRONMENTS), "versions": {"websocket-server": f"1.{rnd.randrange(99)}"},
            "strategy": "canary", "actor": "crash-test",
        })
        _say(out, "ack", ident, "pending")
        _say(out, "try-event", ident, 1)
        registry.append_event(ident, "intent", "shift traffic", actor="crash-test", detail={"percent": 10})
        _say(out, "ack-event", ident, 1)
        for status in ("in_progress", rnd.choice(FINAL_STATUSES)):
            _say(out, "try", ident, status)
            registry.update_deployment(ident, status=status)
            _say(out, "ack", ident, status)


def _fork_writer(path: Path, seed: int) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the writer: never returns into pytest
        os.close(read_end)
        code = 0
        try:
            _write_forever(path, write_end, seed)
        except BaseException:
            traceback.print_exc()
            code = 3
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def _wait_for_acks(fd: int, writes: int) -> bytes:
    """Block until the writer has opened the registry and acknowledged `writes` writes (or stopped); return what
    it said so far, which belongs to the report."""
    said = b""
    while not said.startswith(b"ready") or said.count(b"\nack") < writes:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        said += chunk
    return said


def _read_all(fd: int, said: bytes = b"") -> str:
    chunks = [said]
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


def _check(path: Path, report: str, summary: KillSummary) -> None:
    acked: dict[str, str] = {}
    trying: dict[str, str] = {}
    events: dict[str, int] = {}
    writes = 0
    for line in report.splitlines():
        word, ident, value = line.split()
        if word == "ack":
            acked[ident] = value
            trying.pop(ident, None)
            writes += 1
        elif word == "try":
            trying[ident] = value
        elif word == "ack-event":
            events[ident] = int(value)
            writes += 1
    summary.writes_before_kill.append(writes)
    summary.temp_files_found += len(list(path.parent.glob(f".{path.name}.tmp-*")))
    summary.torn_archive_tails_found += sum(
        1 for month in path.parent.glob(f"{path.stem}-archive/*.jsonl") if _torn(month)
    )
    summary.interrupted_moves_found += _in_both_places(path)
    try:
        registry = DeploymentRegistry(path)
    except Exception as error:  # the point of the test: report, do not stop the loop
        summary.failures.append(f"kill {summary.kills}: registry does not open: {error}")
        return
    if leftovers := list(path.parent.glob(f".{path.name}.tmp-*")):
        summary.failures.append(f"kill {summary.kills}: temp files left after open: {leftovers}")
    for ident, status in acked.items():
        summary.acknowledged_checked += 1
        found = registry.get_deployment(ident)
        allowed = {status, trying.get(ident, status)}
        if found is None or found.status not in allowed:
            summary.failures.append(
                f"kill {summary.kills}: {ident} acknowledged as {status}, found "
                f"{None if found is None else found.status}"
            )
            continue
        if ident in trying:
            if found.status == trying[ident]:
                summary.in_flight_landed += 1
            else:
                summary.in_flight_lost += 1
        if len(registry.events(ident)) < events.get(ident, 0):
            summary.failures.append(f"kill {summary.kills}: {ident} lost an acknowledged event")
    # The next writer starts clean: finishing what the killed one left open also proves writes work.
    for deployment in registry.active_deployments():
        registry.update_deployment(deployment.id, status="aborted")


def _in_both_places(path: Path) -> int:
    """Deployments a kill left both in the hot file and in the archive (the next open completes the move)."""
    try:
        hot = json.loads(path.read_bytes()).get("deployments", {})
    except (OSError, ValueError):
        return 0
    archive = MonthlyArchive(archive_dir_for(path))
    return sum(1 for ident in hot if ident in archive.entries(month_of(ident)))


def _torn(month: Path) -> bool:
    data = month.read_bytes()
    return bool(data) and not data.endswith(b"\n")


def check_statistics(path: Path) -> list[str]:
    """Statistics per environment must equal the deployments actually recorded."""
    try:
        registry = DeploymentRegistry(path)
    except Exception as error:
        return [f"registry does not open after the last kill: {error}"]
    problems = []
    for env in ENVIRONMENTS:
        counted = Counter(d.status.value for d in registry.iter_deployments(environment=env))
        stats = registry.get_environment_state(env).statistics
        expected = {"total": sum(counted.values())} | {s.value: counted.get(s.value, 0) for s in DeploymentStatus}
        if stats != expected:
            problems.append(f"statistics of {env} are {stats}, but the registry holds {expected}")
    return problems


def run_kill_loop(directory: Path, kills: int, seed: int, max_delay: float = 0.010) -> KillSummary:
    """Fork a writer, SIGKILL it 0..MAX_WRITES_BEFORE_KILL acknowledged writes and 0..max_delay seconds after
    it opened the registry, check the registry; ``kills`` times."""
    path = directory / "registry.json"
    rnd = random.Random(seed)
    summary = KillSummary()
    DeploymentRegistry(path)  # so that every child starts from an existing registry
    for _ in range(kills):
        pid, report = _fork_writer(path, rnd.randrange(2**32))
        writes = rnd.randint(0, MAX_WRITES_BEFORE_KILL)
        said = _wait_for_acks(report, writes)  # opening is not what this test kills; neither is the load
        time.sleep(rnd.uniform(0, max_delay))  # then anywhere inside the next write or between two
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        text = _read_all(report, said)
        summary.kills += 1
        summary.writes_drawn.append(writes)
        if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            summary.failures.append(f"kill {summary.kills}: the writer stopped by itself (status {status})")
        _check(path, text, summary)
    summary.failures.extend(check_statistics(path))
    return summary


def test_sigkilled_writers_never_lose_acknowledged_writes(tmp_path: Path) -> None:
    summary = run_kill_loop(tmp_path, kills=220, seed=20261126)
    assert summary.failures == []
    assert summary.kills == 220
    # The kills landed while writes were happening, not only before the first one: each after the writes it
    # waited for, and some inside an update, both before it reached the disk and after (not yet acknowledged).
    assert all(seen >= drawn for seen, drawn in zip(summary.writes_before_kill, summary.writes_drawn, strict=True))
    assert sum(1 for writes in summary.writes_before_kill if writes > 0) > 150
    assert summary.in_flight_lost > 0 and summary.in_flight_landed > 0, summary
