"""Two opsconsole processes writing one registry at the same time lose and corrupt nothing."""

from __future__ import annotations

import os
import traceback
from collections import Counter
from pathlib import Path

from core.registry import DeploymentRegistry

PER_WRITER = 150
# Every third deployment stays in progress, the others finish; both writers share one environment so
# that its statistics are contended on every write.
FINAL = ("succeeded", "failed", None)


def _writer(path: Path, out: int, name: str) -> None:
    registry = DeploymentRegistry(path)
    for n in range(PER_WRITER):
        ident = registry.register_deployment({
            "environment": "staging", "versions": {"frontend": f"{name}.{n}"}, "strategy": "blue-green",
            "actor": name,
        })
        registry.append_event(ident, "intent", "swap blue and green", actor=name, detail={"n": n})
        registry.update_deployment(ident, status="in_progress", metadata={"writer": name})
        final = FINAL[n % 3]
        if final is not None:
            registry.update_deployment(ident, status=final)
        os.write(out, f"{ident} {final or 'in_progress'} {name}\n".encode())


def _start(path: Path, name: str) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        code = 0
        try:
            _writer(path, write_end, name)
        except BaseException:
            traceback.print_exc()
            code = 3
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def _finish(pid: int, fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"writer {pid} failed: status {status}"
    return b"".join(chunks).decode()


def test_two_writer_processes_keep_every_record_consistent(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    writers = [_start(path, name) for name in ("alpha", "beta")]
    reports = [_finish(pid, fd) for pid, fd in writers]

    expected = {}
    for report in reports:
        for line in report.splitlines():
            ident, status, name = line.split()
            expected[ident] = (status, name)
    assert len(expected) == 2 * PER_WRITER  # every id unique

    registry = DeploymentRegistry(path)
    listed = {d.id: d for d in registry.list_deployments()}
    assert set(listed) == set(expected)
    for ident, (status, name) in expected.items():
        deployment = listed[ident]
        assert (deployment.status.value, deployment.actor, deployment.metadata) == (status, name, {"writer": name})
        assert [e.seq for e in registry.events(ident)] == [1]

    state = registry.get_environment_state("staging")
    counts = Counter(status for status, _ in expected.values())
    assert state.statistics["total"] == 2 * PER_WRITER
    assert {s: state.statistics[s] for s in counts} == dict(counts)
    assert state.statistics["pending"] == 0
    assert len(state.active) == counts["in_progress"] == len(registry.active_deployments())
    # The newest successful swap of either writer is what runs now.
    newest = max(
        (d for d in listed.values() if d.status.value == "succeeded"), key=lambda d: (d.ended_at, d.id)
    )
    assert state.current_versions == newest.versions
