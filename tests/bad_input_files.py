"""Bad files and options for the campaign, besides the registry: the sandbox state file, runbooks, the
configuration file, the report's dates and `pipeline configure --repo`. Each is certainly bad, and must be
answered with exit 2 and a sentence naming the file (and field) or the option, with nothing changed."""

from __future__ import annotations

import atexit
import json
import re
import shutil
import tempfile
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import strategies as st

from console.wiring import seed_from_config
from core.config import ConfigError, default_config, validate_configuration
from core.engine.choices import parse_since
from core.errors import BadInput
from core.recovery.runbook import RUNBOOK_DIR
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.state_schema import LAST_SECOND
from tests.bad_input_cli import cli_env, run_cli
from tests.bad_input_registry import BAD_UTF8
from tests.bad_inputs import Attempts, Campaign, tried

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=6))


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _insert(raw: bytes, at: int, junk: bytes) -> bytes:
    return raw[:at] + junk + raw[at:]


# -- the sandbox state file ----------------------------------------------------------------------------------------

@cache
def pristine_state() -> bytes:
    root = Path(tempfile.mkdtemp(prefix="pristine-sandbox-"))
    atexit.register(shutil.rmtree, root, True)
    SandboxCloud(seed=seed_from_config(default_config()), clock=SandboxClock(speed=0, start=1_790_000_000.0),
                 state_file=root / "sandbox.json").save()
    return (root / "sandbox.json").read_bytes()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in a JSON document (the root aside)."""
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        found += _paths(child, (*prefix, key))
    return found


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


TIMES = [("clock",), ("scenarios", 0, 0), ("cloudrun", "services", 0, "created_at"),
         ("cloudrun", "revisions", 0, "created_at"), ("cloudrun", "services", 0, "split_history", 0, 0)]


@st.composite
def damaged_state(draw: st.DrawFn) -> tuple[str, bytes]:
    raw = pristine_state()
    kind = draw(st.sampled_from(["byte", "top level", "deep", "wrong type", "unknown key", "edge number"]))
    if kind == "byte":
        return kind, _insert(raw, draw(st.integers(0, len(raw))), draw(st.sampled_from(BAD_UTF8)))
    if kind == "top level":
        return kind, json.dumps(draw(st.one_of(json_scalars, st.lists(json_scalars, max_size=3)))).encode()
    data = json.loads(raw)
    path = draw(st.sampled_from(_paths(data)))
    parent, key = _at(data, path[:-1]), path[-1]
    if kind == "deep":
        parent[key] = "DEEP"
        depth = draw(st.integers(260, 20000))
        return kind, json.dumps(data).replace('"DEEP"', _deep(depth)).encode()
    if kind == "unknown key":
        target = draw(st.sampled_from([p for p in [(), *_paths(data)] if isinstance(_at(data, p), dict)]))
        _at(data, target)[draw(st.text(min_size=1, max_size=6))] = []  # no field of the file holds a bare list there
        return kind, json.dumps(data).encode()
    if kind == "edge number":
        where = draw(st.sampled_from(TIMES))
        value = draw(st.one_of(st.floats(min_value=LAST_SECOND + 1), st.floats(max_value=-1e-9),
                               st.integers(min_value=2**63),
                               st.sampled_from([float("inf"), float("-inf"), float("nan")])))
        _at(data, where[:-1])[where[-1]] = value
        return f"{kind} {'.'.join(map(str, where))}", json.dumps(data).encode()
    # A type no field at that place accepts: a list for a scalar, text for a list or an object.
    parent[key] = [1] if not isinstance(parent[key], list | dict) else "junk"
    return f"{kind} {'.'.join(map(str, path))}", json.dumps(data).encode()


def state_attempts(home: Path, case: tuple[str, bytes], commands: tuple[tuple[str, ...], ...] = (("sandbox", "status"),)
                   ) -> Attempts:
    state = home / "sandbox.json"
    state.write_bytes(case[1])
    for args in commands:
        yield tried(" ".join(args), lambda a=args: run_cli(*a, env=cli_env(home)), 2,
                    (f"Sandbox state file {state}",), state)


def state_attempts_everywhere(home: Path, case: tuple[str, bytes]) -> Attempts:
    """Hand cases: also through a command that starts the sandbox in-process on the file."""
    yield from state_attempts(home, case, (("sandbox", "status"), ("status", "production")))


# -- runbooks ------------------------------------------------------------------------------------------------------

RUNBOOK_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "timeout_s": st.one_of(st.floats(max_value=0), st.floats(min_value=7200.5), st.sampled_from(
        [float("inf"), float("nan"), "soon", []])),
    "retries": st.one_of(st.integers(max_value=-1, min_value=-(2**63)), st.integers(min_value=11, max_value=2**63 - 1),
                         st.sampled_from([1.5, "two"])),
    "estimate_s": st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=7200.5), st.just(float("nan"))),
    "kind": st.text(max_size=8).filter(lambda t: t not in ("action", "check", "manual", "approval")),
    "depends_on": st.one_of(st.text(max_size=5), st.lists(st.just("no-such-step"), min_size=1, max_size=1)),
    "on_failure": st.text(max_size=8).filter(lambda t: t not in ("abort", "continue", "goto")),
    "title": st.one_of(st.just(""), st.integers(), st.text(min_size=201, max_size=210)),
    "id": st.text(max_size=6).filter(lambda t: not t or not t[0].islower() or not t.isascii() or " " in t),
    "surprise": st.integers(),
}


@st.composite
def damaged_runbook(draw: st.DrawFn) -> tuple[str, bytes]:
    raw = (RUNBOOK_DIR / "compute.toml").read_bytes()
    kind = draw(st.sampled_from(["byte", "deep", "field", "steps"]))
    if kind == "byte":
        return kind, _insert(raw, draw(st.integers(0, len(raw))), draw(st.sampled_from(BAD_UTF8)))
    if kind == "deep":
        return kind, raw + f"\ndeep = {_deep(draw(st.integers(1100, 5000)))}\n".encode()
    data = tomllib.loads(raw.decode())
    if kind == "steps":
        data["steps"] = draw(st.one_of(st.just([]), st.integers(), st.text(max_size=4)))
        return kind, tomli_w.dumps(data).encode()
    step = draw(st.integers(0, len(data["steps"]) - 1))
    name = draw(st.sampled_from(sorted(RUNBOOK_FIELDS)))
    data["steps"][step][name] = draw(RUNBOOK_FIELDS[name])
    return f"{kind} {name}", tomli_w.dumps(data).encode()


def runbook_attempts(home: Path, case: tuple[str, bytes]) -> Attempts:
    books = home / "runbooks"
    shutil.copytree(RUNBOOK_DIR, books, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    target = books / "compute.toml"
    target.write_bytes(case[1])
    env = cli_env(home, OPSCONSOLE_OPERATOR="alice")
    yield tried("recover --dry-run --runbooks", lambda: run_cli("recover", "production", "--dry-run", "--runbooks",
                                                                 str(books), env=env), 2, (f"Runbook file {target}",),
                books)


# -- the configuration file -----------------------------------------------------------------------------------------

CONFIG_FIELDS: list[tuple[str, st.SearchStrategy[Any]]] = [
    ("console.refresh_seconds", st.one_of(st.floats(max_value=0.49), st.floats(min_value=10.01), st.text(max_size=4),
                                          st.sampled_from([float("inf"), float("nan"), True]))),
    ("environments.staging.infrastructure.max_instances", st.one_of(st.integers(max_value=0),
                                                                     st.integers(min_value=1001, max_value=2**63 - 1))),
    ("environments.staging.infrastructure.region", st.text(max_size=6)),
    ("environments.dev.strategy.kind", st.text(max_size=8).filter(lambda t: t not in ("canary", "blue-green",
                                                                                         "rolling"))),
    ("pipeline.repo", st.sampled_from(["a/b/c", "../x", "a/..", "-x/y", "x"])),
    ("profile", st.text(max_size=6).filter(lambda t: t not in ("sandbox", "gcp"))),
    ("teams", st.one_of(st.integers(), st.text(max_size=4), st.lists(st.integers(), min_size=1, max_size=2))),
    ("surprise", st.integers()),
]


def _refused(data: dict[str, Any]) -> bool:
    try:
        validate_configuration(data)
    except ConfigError:
        return True
    return False


def _config_with(dotted: str, value: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"teams": {"operations": ["alice"]}}
    node = data
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return data


@st.composite
def damaged_config(draw: st.DrawFn) -> tuple[str, bytes]:
    raw = b'[teams]\noperations = ["alice"]\n'
    kind = draw(st.sampled_from(["byte", "deep", "field"]))
    if kind == "byte":
        return kind, _insert(raw, draw(st.integers(0, len(raw))), draw(st.sampled_from(BAD_UTF8)))
    if kind == "deep":
        return kind, raw + f"deep = {_deep(draw(st.integers(1100, 5000)))}\n".encode()
    dotted, values = draw(st.sampled_from(CONFIG_FIELDS))
    value = draw(values.filter(lambda v: _refused(_config_with(dotted, v))))
    return f"{kind} {dotted}", tomli_w.dumps(_config_with(dotted, value)).encode()


def config_attempts(home: Path, case: tuple[str, bytes]) -> Attempts:
    config = home / "opsconsole.toml"
    config.write_bytes(case[1])
    yield tried("config validate", lambda: run_cli("config", "validate", env=cli_env(home)), 2, (str(config),),
                config, every_line=True)


# -- report dates and the history filter ------------------------------------------------------------------------------

offsets = st.integers(-23 * 60, 23 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@st.composite
def bad_report_date(draw: st.DrawFn) -> tuple[str, str]:
    option = draw(st.sampled_from(["--since", "--until"]))
    kind = draw(st.sampled_from(["early day", "late day", "edge time", "not a date"]))
    if kind == "early day":
        value = draw(st.dates(max_value=date(1969, 12, 31))).isoformat()
    elif kind == "late day":
        value = draw(st.dates(min_value=date(9999, 1, 1))).isoformat()  # --until: its day's end is past the span
    elif kind == "edge time":
        # A day away from the span's edges, so that no zone (at most 23:59 away) brings it back in.
        moment = draw(st.one_of(st.datetimes(max_value=datetime(1969, 12, 30)),
                                st.datetimes(min_value=datetime(9999, 1, 2))))
        value = moment.replace(tzinfo=draw(st.one_of(st.none(), offsets))).isoformat()
    else:
        value = draw(st.text(min_size=1, max_size=12).filter(_not_iso))
    return option, value


def _not_iso(text: str) -> bool:
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        return not text.startswith("-")
    return False


def report_date_attempts(home: Path, case: tuple[str, str]) -> Attempts:
    option, value = case
    yield tried(f"report {option}", lambda: run_cli("report", f"{option}={value}", env=cli_env(home)), 2,
                (f"'{option}'",), home)


bad_since = st.one_of(
    st.integers(10**7, 10**12).map(lambda n: f"{n}w"), st.integers(10**9, 10**15).map(lambda n: f"{n}d"),
    # Within the zone's offset of the calendar's first or last moment: their UTC is not a datetime.
    st.datetimes(max_value=datetime(1, 1, 1, 0, 59)).map(lambda m: m.replace(tzinfo=timezone(timedelta(hours=1)))
                                                         .isoformat()),
    st.datetimes(min_value=datetime(9999, 12, 31, 22, 0, 1)).map(
        lambda m: m.replace(tzinfo=timezone(-timedelta(hours=2))).isoformat()),
    st.text(min_size=1, max_size=12).filter(lambda t: bool(t.strip()) and _not_iso(t)
                                            and not re.fullmatch(r"(\d+)\s*(m|min|h|d|w)", t.strip())),
)


def since_attempts(home: Path, text: str) -> Attempts:
    """The console's history filter is not a command: its parser is asked directly, as the screen does."""
    try:
        parse_since(text, datetime.now(UTC))
    except BadInput as error:
        lines = str(error).splitlines()
        ok = len(lines) == 1 and lines[0].startswith("since ")
        yield "console history filter", None if ok else f"not one sentence naming since: {error!s:.200}"
        return
    except Exception as error:  # what this campaign exists to find
        yield "console history filter", f"{type(error).__name__}: {error!s:.200}"
        return
    yield "console history filter", f"{text!r} was accepted"


# -- pipeline configure --repo ----------------------------------------------------------------------------------------

def _repo_refused(value: str) -> bool:
    return _refused({"pipeline": {"repo": value}})


bad_repo = st.one_of(
    st.from_regex(r"[A-Za-z0-9._-]{0,8}(/[A-Za-z0-9._-]{0,8}){1,3}", fullmatch=True),  # owner/name look-alikes
    st.from_regex(r"[A-Za-z0-9._/-]{1,14}", fullmatch=True), st.text(min_size=1, max_size=10),
).filter(_repo_refused)


def repo_attempts(home: Path, value: str) -> Attempts:
    yield tried("pipeline configure --repo", lambda: run_cli("pipeline", "configure", "staging", f"--repo={value}",
                                                             env=cli_env(home)), 2,
                ("--repo", "must be a GitHub repository as owner/name"), home)


SANDBOX_STATE = Campaign("sandbox state file (sandbox.json)", damaged_state(), state_attempts, hand=[
    ("not UTF-8", b"\xff{}"), ("a list", b"[]"), ("deep", _deep(100_000).encode()), ("NaN clock", b'{"clock": NaN}'),
])
SANDBOX_STATE_STARTING = Campaign("sandbox state file (sandbox.json)", damaged_state(), state_attempts_everywhere,
                                  slow=True)
RUNBOOK = Campaign("runbook (--runbooks DIR/*.toml)", damaged_runbook(), runbook_attempts, slow=True, hand=[
    ("not UTF-8", b'title = "caf\xe9"\n'), ("deep", f"x = {_deep(3000)}\n".encode()),
    ("inf", (RUNBOOK_DIR / "compute.toml").read_bytes().replace(b"timeout_s = ", b"timeout_s = inf #", 1)),
])
CONFIG = Campaign("configuration file (opsconsole.toml)", damaged_config(), config_attempts, hand=[
    ("not UTF-8", b"profile = \"\xff\"\n"), ("deep", f"x = {_deep(5000)}\n".encode()),
])
REPORT_DATES = Campaign("report --since/--until", bad_report_date(), report_date_attempts, hand=[
    ("--until", "9999-12-31"), ("--since", "0001-01-01T00:00"), ("--until", "0001-01-01T00:00"),
    ("--since", "0001-01-01T00:00+01:00"), ("--until", "9999-12-31T23:59-01:00"),
])
HISTORY_FILTER = Campaign("console history filter (since)", bad_since, since_attempts,
                          hand=["99999999w", "0001-01-01T00:00+01:00", "9999-12-31T23:00-05:00"])
REPO_OPTION = Campaign("pipeline configure --repo", bad_repo, repo_attempts, hand=["a/b/c", "../x", "a/.."])
