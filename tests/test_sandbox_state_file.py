"""The sandbox state file is read defensively: bytes that are not UTF-8, JSON of the wrong top level or nesting,
fields of the wrong shape and times past the calendar are one sentence naming the file and the field (exit 2),
and the file is left as it was. The schema keeps up with what the sandbox writes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from console.wiring import seed_from_config
from core.config import default_config
from core.errors import BadInput
from core.providers.profile import Endpoints
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.cloudrun_model import Operation, Revision, Service, Target
from sandbox.loadtester import LoadRun
from sandbox.monitoring_api import CustomSeries
from sandbox.persistence import read_state
from sandbox.redis_state import RedisInstance
from sandbox.scenario import RevisionBehaviour
from sandbox.state_schema import field_names
from sandbox.vercel_state import Deployment, Project, Timings
from tests.bad_input_cli import cli_env, refusal_problem, run_cli, unchanged

EPOCH = 1_790_000_000.0


def saved_state(path: Path) -> dict[str, Any]:
    SandboxCloud(seed=seed_from_config(default_config()), clock=SandboxClock(speed=0, start=EPOCH),
                 state_file=path).save()
    return json.loads(path.read_bytes())


def test_the_schema_names_exactly_the_fields_the_sandbox_writes() -> None:
    written = {cls.__name__: {f.name for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")}
               for cls in (Target, Service, Revision, Operation, CustomSeries, Timings, Project, Deployment,
                           RedisInstance, LoadRun, Endpoints)}
    written["RevisionBehaviour"] = set(RevisionBehaviour.model_fields)
    assert field_names() == written


def test_a_saved_sandbox_reads_back(tmp_path: Path) -> None:
    state = saved_state(tmp_path / "sandbox.json")
    assert read_state(tmp_path / "sandbox.json") == state and state["cloudrun"]["services"]


def _with(state: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    node = state
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return state


SHAPES = [
    (("clock",), "soon", "field clock"),
    (("clock",), 1e300, "field clock"),
    (("clock",), -1, "field clock"),
    (("scenarios",), [], "field scenarios"),
    (("scenarios", 0, 1), "armageddon", "field scenarios.0.1"),
    (("cloudrun", "services", 0, "traffic", 0, "percent"), "100", "field cloudrun.services.0.traffic.0.percent"),
    (("cloudrun", "services", 0, "split_history", 0, 0), 1e20, "field cloudrun.services.0.split_history.0.0"),
    (("cloudrun", "revisions", 0, "behaviour", "concurrency"), 0, "field cloudrun.revisions.0.behaviour"),
    (("cloudrun", "revisions"), {}, "field cloudrun.revisions"),
    (("vercel", "projects", 0, "created_at"), 10**30, "field vercel.projects.0.created_at"),
    (("faults", "cloudrun", "share"), 2, "field faults.cloudrun.share"),
    (("redis", "instances", 0, "keyspace"), ["a"], "field redis.instances.0.keyspace"),
    (("endpoints",), {"cloudrun_url": 1}, "field endpoints"),
    (("unexpected",), 1, "field unexpected"),
]


@pytest.mark.parametrize(("path", "value", "named"), SHAPES)
def test_a_field_of_the_wrong_shape_names_the_file_and_the_field(tmp_path: Path, path: tuple[Any, ...], value: Any,
                                                                 named: str) -> None:
    state_file = tmp_path / "sandbox.json"
    state_file.write_text(json.dumps(_with(saved_state(state_file), path, value)))
    with unchanged(state_file):
        outcome = run_cli("sandbox", "status", env=cli_env(tmp_path))
    assert refusal_problem(outcome, 2, f"Sandbox state file {state_file}", named) is None, outcome


@pytest.mark.parametrize(("content", "named"), [
    (b"\xff\xfe{}", "is not UTF-8 text (byte 1)"),
    (b'{"version": 1, "clock": "\xe9"}', "is not UTF-8 text (byte 26)"),
    (b"[]", "field (top level)"),
    (b'"sandbox"', "field (top level)"),
    (b"[" * 100_000 + b"]" * 100_000, "is not valid JSON (recursion limit exceeded"),
    (b'{"clock": ' + b"[" * 5000 + b"]" * 5000 + b"}", "is not valid JSON (recursion limit exceeded"),
    (b'{"version": 1, "clock": NaN}', "is damaged"),
    (b"", "is not valid JSON"),
], ids=["bom", "latin-1", "list", "string", "deep-list", "deep-field", "nan", "empty"])
def test_bytes_that_are_not_a_state_file_are_named_by_every_command_that_reads_it(tmp_path: Path, content: bytes,
                                                                                  named: str) -> None:
    state_file = tmp_path / "sandbox.json"
    state_file.write_bytes(content)
    for args in (("sandbox", "status"), ("status", "production")):
        with unchanged(state_file):
            outcome = run_cli(*args, env=cli_env(tmp_path))
        assert refusal_problem(outcome, 2, f"Sandbox state file {state_file}", named) is None, (args, outcome)


def test_the_cloud_itself_refuses_a_damaged_state_file_before_serving(tmp_path: Path) -> None:
    state_file = tmp_path / "sandbox.json"
    state = _with(saved_state(state_file), ("cloudrun", "operations"), [{"name": 5}])
    state_file.write_text(json.dumps(state))
    with pytest.raises(BadInput, match=r"field cloudrun\.operations\.0\.name: input should be a valid string"):
        SandboxCloud(state_file=state_file)
