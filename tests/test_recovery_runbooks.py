"""Runbooks as data: the built-in ones load, a malformed one is refused naming file, step and field, and
the planner picks, orders, checkpoints and estimates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.errors import BadInput
from core.recovery import (
    Classification,
    Scope,
    begin_incident,
    finish_recovery,
    generate_recovery_plan,
    load_runbook_file,
    run_recovery,
)
from core.recovery.actions import ACTIONS, CHECKS
from core.recovery.runbook import ACTION_NAMES, CHECK_NAMES, RUNBOOK_DIR, load_all
from tests.recovery_rig import recovery_rig

GOOD_STEP = '''
[[steps]]
id = "first"
title = "First"
kind = "action"
action = "raise_min_instances"
changes = true
'''


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "compute.toml"
    path.write_text('failure_type = "compute"\ntitle = "T"\n' + text, encoding="utf-8")
    return path


def test_the_built_in_runbooks_load_and_every_action_and_check_they_may_name_exists() -> None:
    assert set(load_all()) == {"compute", "network", "storage", "unknown"}
    assert tuple(ACTIONS) == ACTION_NAMES and tuple(CHECKS) == CHECK_NAMES


@pytest.mark.parametrize(("extra", "said"), [
    ('\n[[steps]]\nid = "second"\ntitle = "S"\nkind = "check"\ncheck = "service_health"\ntimeout_s = -5\n',
     "step 'second': field timeout_s: Input should be greater than 0"),
    ('\n[[steps]]\nid = "second"\ntitle = "S"\nkind = "action"\naction = "reboot_everything"\n',
     "step 'second': field action: must be one of"),
    ('\n[[steps]]\nid = "second"\ntitle = "S"\nkind = "check"\ncheck = "service_health"\ndepends_on = ["nope"]\n',
     "step 'second': field depends_on: names step 'nope'"),
    ('\n[[steps]]\nid = "second"\ntitle = "S"\nkind = "manual"\n',
     "step 'second': field instruction: a manual step needs an instruction"),
    ('\n[[steps]]\nid = "second"\ntitle = "S"\nkind = "check"\ncheck = "service_health"\non_failure = "goto"\n',
     "step 'second': field goto: name the step to go to"),
    ('\n[[steps]]\nid = "second"\ntitle = "S"\nkind = "check"\ncheck = "service_health"\nretry = 3\n',
     "step 'second': field retry: Extra inputs are not permitted"),
    ('\n[[steps]]\nid = "second"\ntitle = "S"\nkind = "action"\naction = "point_frontend_websocket"\n'
     'params = { variable = "NEXT_PUBLIC_WS_URL" }\n',
     "step 'second': field params.variable: names 'NEXT_PUBLIC_WS_URL', but the frontend reads its WebSocket URL "
     "from NEXT_PUBLIC_WEBSOCKET_URL"),
])
def test_a_malformed_runbook_is_refused_at_load_naming_file_step_and_field(tmp_path: Path, extra: str,
                                                                           said: str) -> None:
    path = _write(tmp_path, GOOD_STEP + extra)
    with pytest.raises(BadInput) as refused:
        load_runbook_file(path)
    assert str(refused.value).startswith(f"Runbook file {path}: ")
    assert said in str(refused.value)
    assert refused.value.exit_code == 2


def test_a_dependency_cycle_is_refused_with_the_cycle_named(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_STEP.replace('changes = true', 'changes = true\ndepends_on = ["second"]')
                  + '\n[[steps]]\nid = "second"\ntitle = "S"\nkind = "check"\ncheck = "service_health"\n'
                    'depends_on = ["first"]\n')
    with pytest.raises(BadInput, match=r"field depends_on: forms a cycle: .*first.*second"):
        load_runbook_file(path)


def _classified(failure_type: str, *signals: str) -> Classification:
    return Classification(failure_type=failure_type, severity="SEV2", scope=Scope("staging", (), ()),
                          summary="s", signals=signals)


def test_the_plan_keeps_the_steps_the_signals_call_for_in_dependency_order_with_an_estimate() -> None:
    plan = generate_recovery_plan(_classified("compute", "instances_zero"), "staging")
    ids = [s.id for s in plan.steps]
    assert ids == ["raise-min-instances", "verify-health", "verify-delivery"]  # no approval outside production
    assert "approve-changes" in plan.dropped and "route-to-healthy-revision" in plan.dropped
    assert plan.steps[1].depends_on == ["raise-min-instances"]  # dropped dependencies left the order intact
    assert plan.estimate_s == 45 + 15 + 10


def test_a_change_no_check_verifies_gets_a_checkpoint_right_after_it(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_STEP)
    plan = generate_recovery_plan(_classified("compute"), "staging", runbook=load_runbook_file(path))
    assert [(s.id, s.kind, s.check) for s in plan.steps] == [
        ("first", "action", None), ("checkpoint-first", "check", "min_instances")]
    assert plan.steps[1].checkpoint


def test_a_failed_replica_promotion_goes_to_the_backup_restore_and_still_recovers(tmp_path: Path) -> None:
    """Teams change runbooks without code: here the replica step names an instance that does not exist."""
    books = tmp_path / "runbooks"
    shutil.copytree(RUNBOOK_DIR, books)
    storage = books / "storage.toml"
    storage.write_text(storage.read_text().replace(
        'params = { instance = "agent-network-redis" }\ntimeout_s = 300\nretries = 1',
        'params = { instance = "agent-network-redis-gone" }\ntimeout_s = 300\nretries = 0'))
    with recovery_rig(tmp_path, "redis-unreachable") as rr:
        context = rr.context("production")
        context.runbooks = books
        incident = begin_incident(context, rr.store)
        results = {r.step: r.status for r in run_recovery(context)}
        assert results["promote-replica"] == "failed"
        assert "verify-ready" not in results  # jumped over on the way to the fallback
        assert results["restore-backup"] == "done" and results["verify-keys"] == "done"
        assert finish_recovery(context).passed
        # The promotion failed reading the instance, before it sent anything; the restore really ran.
        assert [c.rpc for c in rr.rig.cloud.redis.requests] == ["ImportInstance"]
        assert incident.record["status"] == "resolved"


def test_unknown_failures_reapply_infrastructure_which_fails_without_a_terraform_runner_and_goes_on(
        tmp_path: Path) -> None:
    with recovery_rig(tmp_path, "healthy") as rr:
        context = rr.context("dev")
        incident = begin_incident(context, rr.store)
        assert incident.record["failure_type"] == "unknown" and incident.record["severity"] == "SEV4"
        results = {r.step: r for r in run_recovery(context)}
        assert results["reapply-infrastructure"].status == "failed"
        assert "no Terraform runner configured" in results["reapply-infrastructure"].detail
        assert results["verify-health"].status == "done"


def test_an_approval_step_refuses_an_operator_who_is_not_allowed_and_the_recovery_stops(tmp_path: Path) -> None:
    books = tmp_path / "runbooks"
    shutil.copytree(RUNBOOK_DIR, books)
    compute = books / "compute.toml"
    compute.write_text(compute.read_text().replace('when = ["production"]\nestimate_s = 60',
                                                   'when = ["production"]\nestimate_s = 60\n'
                                                   'allowed = ["incident-commanders"]', 1))
    with recovery_rig(tmp_path, "instances-zero") as rr:
        context = rr.context("production")
        context.runbooks = books
        incident = begin_incident(context, rr.store)
        (result,) = run_recovery(context)
        assert result.step == "approve-changes" and result.status == "failed" and result.stopped
        assert result.detail == "alice may not approve this step (allowed: incident-commanders)"
        assert rr.asked[0].startswith("Open an incident for production?"), "opening was confirmed first"
        assert rr.asked[1:] == [] and incident.record["status"] == "open"
        assert [r for r in rr.rig.cloud.cloudrun_requests.since(0) if r.rpc == "UpdateService"] == []
        # Slack heard that the recovery stopped, and why.
        assert any("recovery stopped at approve-changes" in m.get("text", "")
                   for m in rr.rig.cloud.sinks.slack_messages())
