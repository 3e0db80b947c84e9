"""`opsconsole infra drift ENV` and the environment card's infra line: the live Cloud Run service changed out of band
(through the official client, as someone with gcloud would) is listed setting by setting, exit 1; none is exit 0."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from google.cloud import run_v2

from core.config import default_config
from core.live import observe_environment
from tests.infra_rig import STAGING, InfraRig, infra_rig_fixture  # noqa: F401  (the fixture)
from widgets.environment_card import infrastructure_line


def change_out_of_band(rig: InfraRig, max_instances: int, extra_env: str) -> None:
    services = rig.clients.services
    name = rig.cloudrun.resource(STAGING.service_name)
    service = services.get_service(name=name)
    service.template.scaling.max_instance_count = max_instances
    service.template.revision = ""
    service.template.containers[0].env.append(run_v2.EnvVar(name=extra_env, value="flag-value-9f3"))
    services.update_service(service=service)


def test_drift_lists_what_changed_out_of_band_and_exits_1(infra_rig: InfraRig) -> None:
    rig = infra_rig
    code, out, err = rig.run("infra", "drift", "staging")  # nothing applied yet: compared with the current plan
    assert code == 1, err
    assert "drifted from the current plan" in out and "max_instances 100 live, 10 configured" in out

    assert rig.run("infra", "apply", "staging", "--yes")[0] == 0
    code, out, err = rig.run("infra", "drift", "staging")
    assert (code, out.strip()) == (0, "staging: websocket-server matches the last known good apply"), err

    change_out_of_band(rig, 7, "FEATURE_X")
    code, out, err = rig.run("infra", "drift", "staging")
    assert code == 1, err
    assert out.splitlines() == ["staging: websocket-server drifted from the last known good apply:",
                                "  max_instances 7 live, 10 configured",
                                "  env FEATURE_X set live, not configured"]
    code, out, err = rig.run("infra", "drift", "staging", "--json")
    assert code == 1, err
    answer = json.loads(out)
    assert answer["drifted"] is True
    assert [(d["setting"], d["configured"], d["live"]) for d in answer["differences"]] == [
        ("max_instances", "10", "7"), ("env FEATURE_X", "", "a plain value")]
    assert "flag-value-9f3" not in json.dumps(answer)  # plain values only as digests

    # The card: computed from the service the refresh already read and the record it already read.
    live = observe_environment(default_config().environment("staging"), rig.cloudrun, _NoFrontend())
    line = infrastructure_line(rig.record(), datetime.now(UTC), live.settings).plain
    assert line.startswith("infra drifted: max_instances 7 live, 10 configured (+1 more) · ")

    # An apply puts the configured settings back (like Terraform's refresh), and the drift is gone.
    assert rig.run("infra", "apply", "staging", "--yes")[0] == 0
    assert rig.run("infra", "drift", "staging")[0] == 0
    live = observe_environment(default_config().environment("staging"), rig.cloudrun, _NoFrontend())
    assert "drifted" not in infrastructure_line(rig.record(), datetime.now(UTC), live.settings).plain


def test_drift_is_bad_input_for_an_unknown_environment(infra_rig: InfraRig) -> None:
    code, _, err = infra_rig.run("infra", "drift", "qa")
    assert code == 2 and "qa" in err


class _NoFrontend:
    """The card's frontend half is not under test: Vercel answers nothing."""

    def production_deployment(self, project: str) -> None:
        return None
