"""`opsconsole sandbox notifications`: what the sandbox's Slack and PagerDuty received, oldest first, from a running
sandbox (its control API) and from its state file once it stopped; routing keys never shown or saved."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from console.cli import main
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud

KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def opsconsole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("OPSCONSOLE_REGISTRY", str(tmp_path / "registry.json"))
    monkeypatch.setenv("OPSCONSOLE_SANDBOX", str(tmp_path / "sandbox.json"))

    def run(*args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        out, err = capsys.readouterr()
        return int(exited.value.code or 0), out, err

    return run


def test_notifications_from_a_running_sandbox_and_after_it_stopped(opsconsole, tmp_path: Path) -> None:
    code, out, _ = opsconsole("sandbox", "notifications")
    assert code == 0 and "received nothing yet" in out
    cloud = SandboxCloud(clock=SandboxClock(speed=0, start=1_790_000_000.0), state_file=tmp_path / "sandbox.json")
    cloud.start()
    try:
        ends = cloud.endpoints
        httpx.post(ends.slack_url, json={"text": "Incident opened for 5xx rate above 5 %"}).raise_for_status()
        httpx.post(f"{ends.pagerduty_url}/v2/enqueue", json={
            "routing_key": KEY, "dedup_key": "inc-1", "event_action": "trigger",
            "payload": {"summary": "production: 5xx above 5 %", "source": "test", "severity": "critical"}})
        cloud.clock.advance(60)
        httpx.post(f"{ends.pagerduty_url}/v2/enqueue", json={"routing_key": KEY, "dedup_key": "inc-1",
                                                             "event_action": "resolve"})
        httpx.post(f"{ends.pagerduty_url}/v2/enqueue", json={"routing_key": "short", "event_action": "trigger"})
        code, out, err = opsconsole("sandbox", "notifications", "--json")
        assert code == 0, err
        live = json.loads(out)
    finally:
        cloud.stop()
    assert [(r["channel"], r["action"], r["dedup_key"]) for r in live] == [
        ("slack", "message", ""), ("pagerduty", "trigger", "inc-1"), ("pagerduty", "resolve", "inc-1"),
        ("pagerduty", "trigger", "")]
    assert live[0]["summary"] == "Incident opened for 5xx rate above 5 %"
    assert live[2]["summary"] == "production: 5xx above 5 %"  # a resolve is shown with its trigger's summary
    assert (live[1]["time"], live[2]["time"]) == ("2026-09-21T14:13:20+00:00", "2026-09-21T14:14:20+00:00")  # sandbox
    assert live[3]["status"] == 400

    code, out, err = opsconsole("sandbox", "notifications", "--json")  # stopped: from its state file
    assert code == 0, err
    assert json.loads(out) == live
    code, out, _ = opsconsole("sandbox", "notifications")
    lines = out.splitlines()
    assert len(lines) == 4 and "resolve" in lines[2] and "[inc-1]" in lines[2] and "refused: HTTP 400" in lines[3]
    assert KEY not in (tmp_path / "sandbox.json").read_text(encoding="utf-8") and KEY not in out
