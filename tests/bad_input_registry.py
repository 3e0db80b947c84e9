"""Bad registries for the campaign: a hot file and a month archive damaged in every way hypothesis finds, each
certainly damage (a cut, a byte that is not UTF-8, nesting past any parser, a field of a type its rule refuses,
a line in the wrong month). Every read must refuse it with exit 1 naming the file, and leave it as it was."""

from __future__ import annotations

import atexit
import json
import re
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from core.registry import DeploymentRegistry, DeploymentStatus
from tests.bad_input_cli import cli_env, files_of, run_cli
from tests.bad_inputs import Attempts, Campaign, copy_tree, tried

MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STATUSES = {status.value for status in DeploymentStatus}
BAD_UTF8 = [b"\xff", b"\xfe", b"\xc0\xaf", b"\x80", b"\xed\xa0\x80", b"\xe2\x82"]
READS = [("history", "--json"), ("report", "--since", "2026-01-01", "--until", "2026-12-31", "--format", "json")]


@cache
def pristine() -> tuple[Path, dict[Path, bytes], str]:
    """A small registry (seven archived deployments over two months, one running), built once; and the running id."""
    root = Path(tempfile.mkdtemp(prefix="pristine-registry-"))
    atexit.register(shutil.rmtree, root, True)
    registry = DeploymentRegistry(root / "registry.json")
    for day in range(6):
        start = MARCH + timedelta(days=day)
        registry.import_history([{"environment": "staging", "versions": {"websocket-server": f"ws:v1.{day}"},
                                  "strategy": "canary", "actor": "alice", "status": "succeeded", "started_at": start,
                                  "ended_at": start + timedelta(minutes=9),
                                  "events": [{"kind": "intent", "action": "shift traffic", "actor": "alice"}]}])
    registry.import_history([{"environment": "production", "versions": {"frontend": "main"}, "strategy": "rolling",
                              "actor": "bob", "status": "rolled_back", "started_at": MARCH + timedelta(days=40),
                              "rollback_cause": "5xx"}])
    running = registry.register_deployment({"environment": "dev", "versions": {"frontend": "main"},
                                            "strategy": "rolling", "actor": "bob"})
    registry.append_event(running, "intent", "deploy", actor="bob")
    registry.set_health("staging", "healthy")
    return root, files_of(root), running


def _hot_fields(running: str) -> list[tuple[tuple[str, ...], st.SearchStrategy[Any]]]:
    """A field of the hot file and values its rule certainly refuses."""
    text = st.text(max_size=8)
    return [
        (("deployments", running, "status"), st.one_of(text.filter(lambda t: t not in STATUSES), st.integers())),
        (("deployments", running, "environment"),
         st.one_of(st.integers(), st.none(), text.filter(lambda t: not re.fullmatch(r"[a-z][a-z0-9-]*", t)))),
        (("deployments", running, "started_at"),
         st.sampled_from(["yesterday", "2026-03-01T00:00:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59-01:00",
                          "", "2026-02-30T00:00:00Z"])),
        (("deployments", running, "versions"),
         st.one_of(st.just({}), st.lists(st.integers(), max_size=2), st.integers(),
                   st.dictionaries(st.text(min_size=1, max_size=4), st.integers(), min_size=1, max_size=2))),
        (("deployments", running, "id"), st.text(max_size=10)),
        (("deployments",), st.one_of(st.lists(st.integers(), max_size=2), st.integers(), text)),
        (("environments", "staging", "statistics"),
         st.one_of(st.lists(st.integers(), max_size=2), text, st.dictionaries(
             text, st.one_of(st.integers(max_value=-1), text, st.floats()), min_size=1, max_size=2))),
        (("environments", "staging", "last"), st.one_of(st.integers(), text, st.just({}))),
        (("environments", "staging", "health"), st.one_of(st.just(""), st.integers(), st.none())),
        (("archive_sizes", "2026-03", "size"),
         st.one_of(text, st.floats(), st.booleans(), st.integers(max_value=-1), st.none())),
        (("events", running, "items"), st.one_of(st.integers(), text, st.lists(st.integers(), min_size=1, max_size=2))),
        (("_meta", "serial"), st.one_of(text, st.floats(), st.booleans(), st.none())),
    ]


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _set(data: Any, path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


@st.composite
def damaged_hot_file(draw: st.DrawFn) -> tuple[str, bytes]:
    root, files, running = pristine()
    raw = files[root / "registry.json"]
    kind = draw(st.sampled_from(["cut", "byte", "top level", "deep", "field", "key"]))
    if kind == "cut":
        return kind, raw[: draw(st.integers(0, len(raw) - 1))]
    if kind == "byte":
        at = draw(st.integers(0, len(raw)))
        return kind, raw[:at] + draw(st.sampled_from(BAD_UTF8)) + raw[at:]
    if kind == "top level":
        value = draw(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.lists(st.integers())))
        return kind, _dumps(value)
    data = json.loads(raw)
    if kind == "deep":
        nested = _deep(draw(st.integers(1100, 20000))).encode()
        return kind, _dumps(data).replace(b'"metadata":{}', b'"metadata":{"x":' + nested + b"}", 1)
    if kind == "key":
        data["deployments"][draw(st.text(max_size=12))] = data["deployments"].pop(running)
        return kind, _dumps(data)
    path, values = draw(st.sampled_from(_hot_fields(running)))
    _set(data, path, draw(values))
    return f"{kind} {'.'.join(path[:1] + path[2:] if len(path) > 2 else path)}", _dumps(data)


def _line_fields() -> list[tuple[tuple[str, ...], st.SearchStrategy[Any]]]:
    text = st.text(max_size=8)
    return [
        (("deployment", "status"), st.one_of(text.filter(lambda t: t not in STATUSES), st.integers(), st.none())),
        (("deployment", "started_at"), st.sampled_from(["soon", "2026-03-04T00:00:00", "0001-01-01T00:00+01:00", ""])),
        (("deployment", "versions"), st.one_of(st.just({}), st.integers(), st.lists(st.text(max_size=3), max_size=2))),
        (("deployment", "actor"), st.one_of(st.just(""), st.integers(), st.none())),
        (("deployment", "id"), text),
        (("deployment",), st.one_of(st.integers(), text, st.lists(st.integers(), max_size=2), st.none())),
        (("id",), text),
        (("events",), st.one_of(st.integers(), text, st.dictionaries(text, st.integers(), max_size=2))),
        (("events", 0, "seq"), st.one_of(st.integers(max_value=0), text)),
    ]


@st.composite
def damaged_archive(draw: st.DrawFn) -> tuple[str, str, bytes | None]:
    """(what was done, which month file, its new bytes or None for a missing file)."""
    root, files, _ = pristine()
    march = files[root / "registry-archive" / "2026-03.jsonl"]
    kind = draw(st.sampled_from(["cut", "missing", "byte", "field", "deep", "junk line", "wrong month"]))
    if kind == "cut":
        return kind, "2026-03", march[: draw(st.integers(0, len(march) - 1))]
    if kind == "missing":
        return kind, "2026-03", None
    if kind == "byte":
        at = draw(st.integers(0, len(march) - 1))
        return kind, "2026-03", march[:at] + draw(st.sampled_from(BAD_UTF8)) + march[at + 1:]
    if kind == "junk line":
        junk = draw(st.binary(max_size=60)).replace(b"\n", b" ")
        return kind, "2026-03", march + junk + b"\n"
    lines = march.splitlines(keepends=True)
    index = draw(st.integers(0, len(lines) - 1))
    if kind == "wrong month":
        april = files[root / "registry-archive" / "2026-04.jsonl"]
        return kind, "2026-04", april + lines[index]
    record = json.loads(lines[index])
    if kind == "deep":
        record["deployment"]["metadata"] = {"x": json.loads(_deep(900))}  # nested deeper once written in place
        line = _dumps(record).replace(_deep(900).encode(), _deep(draw(st.integers(1100, 20000))).encode())
    else:
        path, values = draw(st.sampled_from(_line_fields()))
        _set(record, path, draw(values))
        line = _dumps(record)
        kind = f"field {'.'.join(str(part) for part in path)}"
    lines[index] = line + b"\n"
    return kind, "2026-03", b"".join(lines)


def hot_file_attempts(home: Path, case: tuple[str, bytes]) -> Attempts:
    root, files, _ = pristine()
    copy_tree(files, root, home)
    hot = home / "registry.json"
    hot.write_bytes(case[1])
    for args in [*READS, ("registry", "check")]:
        yield _read(home, args, hot)


def archive_attempts(home: Path, case: tuple[str, str, bytes | None]) -> Attempts:
    root, files, _ = pristine()
    copy_tree(files, root, home)
    month = home / "registry-archive" / f"{case[1]}.jsonl"
    if case[2] is None:
        month.unlink()
    else:
        month.write_bytes(case[2])
    for args in [*READS, ("registry", "check")]:
        yield _read(home, args, month)


def _read(home: Path, args: tuple[str, ...], damaged: Path) -> tuple[str, str | None]:
    label = " ".join(args[:2]) if args[0] == "registry" else args[0]
    env = cli_env(home)
    if args[0] != "registry":
        return tried(label, lambda: run_cli(*args, env=env), 1, (str(damaged),), home)
    holder: dict[str, str] = {}

    def check() -> Any:
        outcome = run_cli(*args, env=env)
        holder["out"] = outcome.out
        return outcome

    label, problem = tried(label, check, 1, (str(home / "registry.json"), "is damaged"), home)
    if problem is None and str(damaged) not in holder["out"]:
        problem = f"the findings do not name {damaged}: {holder['out'][:300]!r}"
    return label, problem


HOT_FILE = Campaign("registry hot file (registry.json)", damaged_hot_file(), hot_file_attempts, hand=[
    ("empty", b""), ("not UTF-8", b"\xff\xfe{}"), ("a list", b"[]"), ("deep", _deep(50_000).encode()),
    ("no header", b'{"deployments":{}}'),
])
ARCHIVE = Campaign("registry archive (registry-archive/YYYY-MM.jsonl)", damaged_archive(), archive_attempts, hand=[
    ("emptied", "2026-03", b""), ("missing", "2026-03", None), ("a blank line", "2026-03", b"\n"),
])


INCIDENT = "INC-production-20260302T090000Z"


def sound_incident() -> dict[str, Any]:
    """An incident record as guided recovery writes it (opened and planned, nothing done yet)."""
    entry = {"seq": 1, "at": "2026-03-02T09:00:00+00:00", "actor": "alice", "kind": "opened", "step": None,
             "summary": "SEV2 compute: no instances", "inputs": {}, "outputs": {}, "error": None}
    return {"id": INCIDENT, "environment": "production", "started_at": "2026-03-02T09:00:00+00:00",
            "resolved_at": None, "severity": "SEV2", "suspect_deployment_id": None, "status": "open",
            "timeline": [entry], "root_cause": "", "time_to_restore_s": None, "dry_run": False,
            "failure_type": "compute", "summary": "no instances", "cursor": 0, "operator": "alice",
            "classification": {"scope": {"components": ["websocket-server"], "regions": ["us-central1"]},
                               "evidence": [], "signals": ["production"]}}


def _not_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return True
    return False


INCIDENT_FIELDS: list[tuple[tuple[Any, ...], st.SearchStrategy[Any]]] = [
    (("environment",), st.one_of(st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2))),
    (("started_at",), st.one_of(st.integers(), st.none(), st.dictionaries(st.text(max_size=3), st.integers()))),
    (("status",), st.text(max_size=8).filter(lambda t: t not in ("open", "resolved", "aborted"))),
    (("severity",), st.one_of(st.integers(), st.none(), st.lists(st.integers(), max_size=1))),
    (("timeline",), st.one_of(st.text(max_size=4), st.integers(), st.lists(st.integers(), min_size=1, max_size=2))),
    (("timeline", 0, "seq"), st.one_of(st.text(max_size=4).filter(_not_number), st.none())),
    (("timeline", 0, "kind"), st.one_of(st.integers(), st.none())),
    (("cursor",), st.one_of(st.integers(max_value=-1), st.lists(st.integers(), max_size=1))),
    (("time_to_restore_s",), st.one_of(st.lists(st.integers(), max_size=1), st.text(max_size=4).filter(_not_number))),
    (("classification",), st.one_of(st.integers(), st.text(max_size=4), st.lists(st.integers(), max_size=1))),
    (("classification", "scope", "components"), st.one_of(st.text(max_size=4), st.lists(st.integers(), min_size=1))),
    (("plan",), st.one_of(st.integers(), st.text(max_size=4), st.just({"steps": "x"}))),
    (("id",), st.text(max_size=8)),
]


@st.composite
def damaged_incident(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    record = sound_incident()
    path, values = draw(st.sampled_from(INCIDENT_FIELDS))
    _set(record, path, draw(values))
    return ".".join(map(str, path)), record


def incident_attempts(home: Path, case: tuple[str, dict[str, Any]]) -> Attempts:
    root, files, _ = pristine()
    copy_tree(files, root, home)
    DeploymentRegistry(home / "registry.json").put_record("incidents", INCIDENT, case[1])
    hot = home / "registry.json"
    for args in [("incident", "list"), ("incident", "show", INCIDENT), ("incident", "postmortem", INCIDENT)]:
        yield tried(" ".join(args[:2]), lambda a=args: run_cli(*a, env=cli_env(home)), 1,
                    (str(hot), f"incident {INCIDENT!r}", "registry repair"), home)
    yield _read(home, ("registry", "check"), hot)


INCIDENTS = Campaign("registry incident records (registry.json, incidents)", damaged_incident(), incident_attempts,
                     hand=[("missing id", {"environment": "production"}),
                           ("timeline", {**sound_incident(), "timeline": 5})])
