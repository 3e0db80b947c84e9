"""The sandbox's Cloud Run JSON is exactly the v2 wire format: parsed strictly by the official protos."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.cloud import run_v2
from google.longrunning import operations_pb2
from google.protobuf import json_format

from sandbox.cloudrun_json import Renderer, parse_service
from sandbox.cloudrun_state import ApiError, CloudRunState, ServiceUpdate, Target
from sandbox.scenario import load_scenario

SVC = "projects/p/locations/us-central1/services/websocket-server"


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def world() -> Iterator[tuple[CloudRunState, Clock]]:
    clock = Clock()
    state = CloudRunState(clock, lambda: load_scenario("never-ready").new_revision)
    state.seed_service("p", "us-central1", "websocket-server", "img:stable", clock.t - 3600)
    yield state, clock


def strict(data: dict[str, Any], message: Any) -> Any:
    return json_format.ParseDict(data, message, ignore_unknown_fields=False)


@pytest.mark.parametrize("ints", [False, True])
def test_every_rendered_shape_parses_strictly(world: tuple[CloudRunState, Clock], ints: bool) -> None:
    state, clock = world
    stable = state.service(SVC).latest_ready
    op = state.update_service(SVC, ServiceUpdate(
        image="img:v2", template_revision="websocket-server-canary-1",
        traffic=[Target("REVISION", stable, 100, "stable"), Target("REVISION", "websocket-server-canary-1", 0,
                                                                   "canary")]))
    renderer = Renderer(lambda r: "http://127.0.0.1:1", lambda s: "http://127.0.0.1:2", ints=ints)
    pending = renderer.service(state.service(SVC))
    strict(pending, run_v2.Service.pb()())
    assert pending["reconciling"] is True
    for phase_time in (clock.t, clock.t + 1000):  # pending, then failed after the start-up deadline
        clock.t = phase_time
        for rev in state.list_revisions(SVC):
            strict(renderer.revision(rev, clock.t), run_v2.Revision.pb()())
        done = renderer.operation(state.operation(op.name), renderer.service(state.service(SVC)))
        parsed = strict(done, operations_pb2.Operation())
    assert parsed.done and parsed.error.code == 9 and "is not ready" in parsed.error.message
    service = strict(renderer.service(state.service(SVC)), run_v2.Service.pb()())
    assert service.terminal_condition.state == run_v2.Condition.State.CONDITION_FAILED
    assert [t.tag for t in service.traffic] == ["stable", "canary"]
    # The route never became ready: what is served is still the split from before the failed rollout.
    assert [(t.revision, t.percent, t.tag) for t in service.traffic_statuses] == [(stable, 100, "")]


def test_client_bodies_are_read_with_numeric_or_named_enums() -> None:
    body = {"template": {"revision": "s-1", "containers": [{"image": "img:1"}]}, "etag": "e",
            "traffic": [{"type": 2, "revision": "s-0", "percent": 100},
                        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "s-1", "tag": "canary"}]}
    update = parse_service(body)
    assert update.image == "img:1" and update.template_revision == "s-1" and update.etag == "e"
    assert update.traffic == [Target("REVISION", "s-0", 100), Target("REVISION", "s-1", 0, "canary")]
    with pytest.raises(ApiError, match=r"image is required"):
        parse_service({"traffic": []})
    with pytest.raises(ApiError, match=r"traffic\[0\]\.type"):
        parse_service({**body, "traffic": [{"type": 0, "percent": 100}]})


@pytest.mark.parametrize(("traffic", "status", "complaint"), [
    ([Target("REVISION", "STABLE", 60)], "INVALID_ARGUMENT", "sum to 60"),
    ([Target("REVISION", "ghost", 100)], "INVALID_ARGUMENT", "does not exist"),
    ([Target("REVISION", "STABLE", 100, "Bad_Tag")], "INVALID_ARGUMENT", "not a valid DNS label"),
    ([Target("LATEST", "STABLE", 100)], "INVALID_ARGUMENT", "must not name a revision"),
])
def test_the_api_validates_traffic_like_cloud_run(world: tuple[CloudRunState, Clock], traffic: list[Target],
                                                  status: str, complaint: str) -> None:
    state, _ = world
    stable = state.service(SVC).latest_ready
    traffic = [Target(t.type, stable if t.revision == "STABLE" else t.revision, t.percent, t.tag) for t in traffic]
    with pytest.raises(ApiError) as caught:
        state.update_service(SVC, ServiceUpdate(image="img:stable", traffic=traffic))
    assert caught.value.status == status and complaint in caught.value.message


def test_traffic_to_a_revision_that_is_not_ready_is_refused(world: tuple[CloudRunState, Clock]) -> None:
    state, _ = world
    stable = state.service(SVC).latest_ready
    state.update_service(SVC, ServiceUpdate(image="img:v2", template_revision="websocket-server-v2",
                                            traffic=[Target("REVISION", stable, 100)]))
    with pytest.raises(ApiError) as caught:
        state.update_service(SVC, ServiceUpdate(image="img:v2", traffic=[
            Target("REVISION", stable, 50), Target("REVISION", "websocket-server-v2", 50)]))
    assert caught.value.status == "FAILED_PRECONDITION"


def test_service_level_scaling_is_read_rendered_and_makes_no_revision(world: tuple[CloudRunState, Clock]) -> None:
    state, clock = world
    stable = state.service(SVC).latest_ready
    body = {"template": {"containers": [{"image": "img:stable"}], "scaling": {"maxInstanceCount": 100}},
            "scaling": {"minInstanceCount": 3}, "traffic": [{"type": 2, "revision": stable, "percent": 100}]}
    update = parse_service(body)
    assert (update.min_instances, update.template_min_instances) == (3, 0)
    clock.t += 5
    op = state.update_service(SVC, update)
    assert op.done_at == clock.t and not op.revision  # done at once: nothing to roll out
    assert [r.name for r in state.list_revisions(SVC)] == [stable]
    svc = state.service(SVC)
    assert (svc.min_instances, svc.min_instances_set_at) == (3, clock.t)
    rendered = Renderer(lambda r: "http://127.0.0.1:1", lambda s: "http://127.0.0.1:2").service(svc)
    parsed = strict(rendered, run_v2.Service.pb()())
    assert parsed.scaling.min_instance_count == 3 and parsed.template.scaling.min_instance_count == 0
    # Without an update mask a PATCH replaces the service, and proto3 JSON leaves zeros out.
    assert parse_service({**body, "scaling": {}}).min_instances == 0
    with pytest.raises(ApiError, match=r"service\.scaling\.minInstanceCount must not be negative"):
        parse_service({**body, "scaling": {"minInstanceCount": -1}})
