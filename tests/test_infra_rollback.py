"""`opsconsole rollback ENV --component infrastructure --to ID` against a running sandbox: it applies exactly the
known-good apply named (not the latest), the sandbox's Cloud Run service takes its settings back, the output
says what changed and how it was verified, and an unknown id changes nothing (exit 2, the known ids named)."""

from __future__ import annotations

import json

from core.infra import entry_id
from core.model.service import EnvVar, value_digest
from tests.infra_rig import InfraRig, infra_rig_fixture  # noqa: F401  (the fixture)

BAD_MAX = {"OPSCONSOLE_ENVIRONMENTS__STAGING__INFRASTRUCTURE__MAX_INSTANCES": "30"}


def test_rollback_to_an_older_good_apply_restores_its_settings_on_cloud_run(infra_rig: InfraRig) -> None:
    rig = infra_rig
    code, _, err = rig.run("infra", "apply", "staging", "--yes")
    assert code == 0, err
    good_a = rig.record()
    assert good_a is not None
    a_id = entry_id(good_a)
    settings_a = rig.live()
    assert (settings_a.min_instances, settings_a.max_instances) == (1, 10)  # the apply changed the service
    assert "REDIS_CONNECTION" in {e.name for e in settings_a.env}  # a secret, by reference
    assert EnvVar("REDIS_CONNECTION", secret="redis-url", version="latest") in settings_a.env

    rig.add_plain_env("LOG_LEVEL", "debug")
    code, out, err = rig.run("infra", "apply", "staging", "--yes", **BAD_MAX)
    assert code == 0, err
    live_b = rig.live()
    assert live_b.max_instances == 30
    assert EnvVar("LOG_LEVEL", value_digest=value_digest("debug")) in live_b.env
    b_id = entry_id(rig.record() or {})

    # B is the latest good apply now: --to must restore A, not B.
    code, out, err = rig.run("rollback", "staging", "--component", "infrastructure", "--to", a_id,
                             "--reason", "max instances and a debug log level went out by mistake")
    assert code == 0, err
    assert f"rolled back to known-good apply {a_id}" in out
    assert "max_instances 30 → 10" in out and "env LOG_LEVEL removed" in out
    assert "a re-plan shows no changes; Cloud Run serves its settings" in out
    assert rig.live() == settings_a

    record = rig.record()
    assert record is not None and record["restored_from"] == a_id
    assert record["cloud_run"]["settings"] == good_a["cloud_run"]["settings"]
    assert [entry_id(e) for e in record["history"][:2]] == [b_id, a_id]

    code, out, err = rig.run("infra", "status", "staging")
    assert code == 0, err
    first_row = next(line for line in out.splitlines() if entry_id(record) in line)
    assert a_id in first_row  # the last known good now: restored from A

    code, out, err = rig.run("infra", "drift", "staging")
    assert (code, out.strip()) == (0, "staging: websocket-server matches the last known good apply"), err


def test_an_unknown_id_names_the_known_ones_and_changes_nothing(infra_rig: InfraRig) -> None:
    rig = infra_rig
    code, _, err = rig.run("infra", "apply", "staging", "--yes")
    assert code == 0, err
    before, writes = rig.record(), rig.writes()
    live = rig.live()

    code, out, err = rig.run("rollback", "staging", "--component", "infrastructure", "--to", "0badc0ffee00",
                             "--reason", "try", "--json")
    known = entry_id(before or {})
    sentence = (f"staging has no known-good infrastructure apply '0badc0ffee00'; the known ones, newest first: "
                f"{known} ({str((before or {})['applied_at'])[:19]}); nothing was applied")
    assert code == 2 and json.loads(out) == {"event": "Result", "exit_code": 2, "outcome": "bad_input",
                                             "reason": sentence}, (out, err)
    assert rig.record() == before
    assert rig.writes() == writes  # the sandbox's request log: no Cloud Run change was sent
    assert rig.live() == live
    code, out, _ = rig.run("history", "staging", "--json")
    assert "rollback" not in out  # nothing registered either


def test_rollback_json_carries_what_changed(infra_rig: InfraRig) -> None:
    rig = infra_rig
    assert rig.run("infra", "apply", "staging", "--yes")[0] == 0
    a_id = entry_id(rig.record() or {})
    assert rig.run("infra", "apply", "staging", "--yes", **BAD_MAX)[0] == 0
    code, out, err = rig.run("rollback", "staging", "--component", "infrastructure", "--to", a_id[:8],
                             "--reason", "scaling", "--json")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["to"] == a_id and "max_instances 30 → 10" in result["check"]
