"""What a confirmation says an action will do, read from a real production canary on the sandbox."""

from __future__ import annotations

from pathlib import Path

from core.engine import approve, promote, set_weight
from core.model.effects import (
    Confirm,
    approve_effect,
    promote_effect,
    rollback_effect,
    set_weight_effect,
    version_label,
)
from tests.engine_rig import IMAGE, START, Rig, rig
from tests.test_tui_console import canary_waiting_at_10


def stable_of(r: Rig) -> str:
    return next(name for name, percent in r.served().items() if percent == 90)


def test_a_promote_names_both_weights_the_version_and_what_stable_keeps(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = canary_waiting_at_10(r)
        stable = stable_of(r)
        effect = promote_effect("production", r.deployment(deployment.id))
        assert effect.sentence == f"production: canary 10 % → 25 % on ws:v2.0.0, stable {stable} keeps 75 %"
        assert effect.forward and effect.confirmation(True) is Confirm.TYPED
        assert effect.confirmation(False) is Confirm.NONE  # staging and dev ask nothing


def test_after_a_weight_set_by_hand_the_next_promote_says_it_lowers_the_canary(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = canary_waiting_at_10(r)
        stable = stable_of(r)
        set_weight(r.engine, "production", 90)
        pending = promote_effect("production", r.deployment(deployment.id))  # asked for, not yet applied
        r.drive(deployment.id)
        assert sorted(r.served().values()) == [10, 90]  # now 90 % on the canary
        applied = promote_effect("production", r.deployment(deployment.id))
        for effect in (pending, applied):
            assert effect.sentence == (f"production: lowers the canary from 90 % to 25 % on ws:v2.0.0, stable {stable} "
                                       "goes back to 75 %")
            assert not effect.forward and effect.confirmation(True) is Confirm.ONCE
        promote(r.engine, "production")
        r.drive(deployment.id)
        assert sorted(r.served().values()) == [25, 75], "the sentence said what the engine then did"


def test_a_weight_up_is_typed_a_weight_down_is_one_confirmation(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = canary_waiting_at_10(r)
        stable, running = stable_of(r), r.deployment(deployment.id)
        up, down, same = (set_weight_effect("production", running, p) for p in (40, 0, 10))
        assert up.sentence == f"production: canary 10 % → 40 % on ws:v2.0.0, stable {stable} keeps 60 %"
        assert up.confirmation(True) is Confirm.TYPED
        assert down.sentence == (f"production: lowers the canary from 10 % to 0 % on ws:v2.0.0, stable {stable} "
                                 "goes back to 100 %")
        assert down.confirmation(True) is Confirm.ONCE
        assert "canary stays at 10 %" in same.sentence and same.confirmation(True) is Confirm.ONCE


def test_a_rollback_says_where_traffic_goes_and_is_never_typed(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = canary_waiting_at_10(r)
        stable = stable_of(r)
        effect = rollback_effect("production", r.deployment(deployment.id))
        assert effect.sentence == (f"production: roll back deployment {deployment.id}: all traffic to stable {stable}, "
                                   "ws:v2.0.0 loses its 10 %")
        assert effect.confirmation(True) is Confirm.ONCE
        nothing_running = rollback_effect("staging", None)
        assert nothing_running.sentence == "staging: websocket-server back to its previous version"


def test_an_approval_says_what_it_lets_happen(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE})
        r.drive(deployment.id)
        effect = approve_effect("production", r.deployment(deployment.id))
        assert effect.sentence == (f"production: approve deployment {deployment.id} of ws:v2.0.0; canary 10 % then "
                                   "waits for a promote")
        assert effect.confirmation(True) is Confirm.TYPED


def test_versions_are_named_short_and_a_frontend_ref_whole() -> None:
    assert version_label("websocket-server", IMAGE) == "ws:v2.0.0"
    assert version_label("websocket-server", "localhost:5000/websocket-server") == "ws:websocket-server"
    assert version_label("frontend", "release/2.0") == "frontend:release/2.0"


def test_the_frontend_promotion_names_the_ref_the_build_and_what_it_replaces(tmp_path: Path) -> None:
    with rig(tmp_path, start=START) as r:
        deployment = r.engine.deploy_to_environment("production", {"websocket-server": IMAGE,
                                                                   "frontend": "release/2.0"})
        approve(r.engine, "production")
        r.drive(deployment.id)
        for _ in range(4):  # canary 10, 25, 50, 100 %
            promote(r.engine, "production")
            r.drive(deployment.id)
        rollout = r.rollout(deployment.id)
        assert rollout.weight == 100 and rollout.frontend_new and rollout.frontend_previous
        effect = promote_effect("production", r.deployment(deployment.id))
        assert effect.sentence == (f"production: frontend:release/2.0 ({rollout.frontend_new}) becomes the "
                                   f"production deployment (replacing {rollout.frontend_previous})")
        assert effect.forward
