"""`opsconsole recover` and `opsconsole incident` as an operator runs them, in-process against a sandbox saved
with a failure scenario (the console starts it on the state file, as it does when none is running)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from core.recovery.runbook import RUNBOOK_DIR
from core.registry import DeploymentRegistry
from tests.cli_project import run, save_scenario  # the `project` fixture: tests/conftest.py


def _scenario(project: Path, name: str) -> None:
    save_scenario(project, name)


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_recover_yes_json_restores_production_and_the_incident_exports_a_postmortem(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scenario(project, "instances-zero")
    code, out, err = run(capsys, "recover", "production", "--yes", "--json")
    assert (code, err) == (0, "")
    lines = _lines(out)
    result = lines[-1]
    assert result["event"] == "Result" and result["status"] == "resolved" and result["validation"]["passed"]
    kinds = [line["kind"] for line in lines[:-1]]
    assert kinds[:2] == ["opened", "planned"] and "validated" in kinds and kinds[-2:] == ["resolved", "notified"]

    code, out, _ = run(capsys, "incident", "list", "--json")
    (listed,) = json.loads(out)
    assert listed["id"] == result["incident"] and listed["severity"] == "SEV1" and listed["status"] == "resolved"

    code, out, _ = run(capsys, "incident", "root-cause", result["incident"], "autoscaler set min instances to 0")
    assert code == 0
    target = project / "postmortem.md"
    code, out, _ = run(capsys, "incident", "postmortem", result["incident"], "--output", str(target))
    text = target.read_text()
    assert code == 0 and text.startswith(f"# Postmortem: {result['incident']}")
    assert "autoscaler set min instances to 0" in text and "## Timeline" in text
    assert "| Raise minimum instances so the service keeps warm capacity | action | done |" in text


def test_recover_without_yes_off_a_terminal_is_refused_before_anything_runs(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "recover", "production")
    assert code == 2 and "needs --yes when not run at a terminal" in err
    assert not (project / "sandbox.json").exists()  # refused before any cloud was touched


def test_recover_dry_run_prints_the_plan_and_records_nothing(project: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    _scenario(project, "region-outage")
    code, out, err = run(capsys, "recover", "production", "--dry-run")
    assert (code, err) == (0, "")
    assert "would serve" in out and "would set NEXT_PUBLIC_WEBSOCKET_URL" in out and "dry run, nothing changed" in out
    saved = json.loads((project / "sandbox.json").read_text())
    regions = {s["location"] for s in saved["cloudrun"]["services"]}
    assert regions == {"us-central1"}
    # Only the URL the sandbox was seeded with: the dry run pointed the frontend nowhere.
    urls = {v["value"] for project in saved["vercel_env"].values() for v in project.values()}
    assert all("us-east1" not in url and "127.0.0.1" not in url for url in urls), urls
    assert DeploymentRegistry(project / "registry.json").records("incidents") == {}


def test_a_malformed_runbook_makes_recover_exit_2_naming_file_step_and_field(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scenario(project, "instances-zero")
    books = project / "runbooks"
    shutil.copytree(RUNBOOK_DIR, books)
    compute = books / "compute.toml"
    compute.write_text(compute.read_text().replace("retries = 2\nbackoff_s = 5\nestimate_s = 45",
                                                   "retries = 99\nbackoff_s = 5\nestimate_s = 45"))
    code, _, err = run(capsys, "recover", "production", "--yes", "--runbooks", str(books))
    assert code == 2
    assert f"Runbook file {compute}: step 'raise-min-instances': field retries:" in err
    assert DeploymentRegistry(project / "registry.json").records("incidents") == {}


def test_an_aborted_incident_is_not_resumed_and_a_new_recovery_opens_another(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scenario(project, "instances-zero")
    books = project / "runbooks"
    shutil.copytree(RUNBOOK_DIR, books)
    compute = books / "compute.toml"  # an approval nobody here may give: the recovery stops at it
    compute.write_text(compute.read_text().replace('estimate_s = 60', 'estimate_s = 60\nallowed = ["ic"]', 1))
    code, out, err = run(capsys, "recover", "production", "--yes", "--json", "--runbooks", str(books))
    result = _lines(out)[-1]  # with --json the failure is the Result object's, not a line on stderr
    assert (code, err, result["outcome"]) == (1, "", "failed") and "stopped at step approve-changes" in result["reason"]
    first = result["incident"]
    code, _, _ = run(capsys, "incident", "abort", first, "handled by hand")
    assert code == 0
    code, out, _ = run(capsys, "recover", "production", "--yes", "--json")
    assert code == 0 and _lines(out)[-1]["incident"] != first
    records = DeploymentRegistry(project / "registry.json").records("incidents")
    statuses = {r["id"]: r["status"] for r in records.values()}
    assert statuses[first] == "aborted" and sorted(statuses.values()) == ["aborted", "resolved"]
    code, out, _ = run(capsys, "sandbox", "notifications", "--json")  # what PagerDuty got: every page closed
    paged = [(row["action"], row["dedup_key"]) for row in json.loads(out) if row["channel"] == "pagerduty"]
    second = f"opsconsole-{_other(records, first)}"
    assert paged == [("trigger", f"opsconsole-{first}"), ("resolve", f"opsconsole-{first}"),
                     ("trigger", second), ("resolve", second)]


def _other(records: dict[str, Any], than: str) -> str:
    return next(key for key in records if key != than)


def test_a_severity_rule_that_cannot_be_used_is_one_sentence_naming_its_key_and_exit_2(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "opsconsole.toml").write_text('[teams]\noperations = ["alice"]\n\n'
                                             '[environments.production.notifications]\n'
                                             'operator_rollback = "loud"\n')
    code, out, err = run(capsys, "rollback", "production", "--reason", "bad release", "--yes")
    assert code == 2 and out == ""
    assert "environments.production.notifications.operator_rollback" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert "must be 'critical', 'error', 'warning', 'info' or 'never'" in err
    assert not (project / "registry.json").exists() and not (project / "sandbox.json").exists(), "nothing written"
