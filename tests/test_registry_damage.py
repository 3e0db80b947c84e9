"""A damaged registry is refused, never adopted: archives cut short, missing, replaced or holding damaged lines, and
hot files of the wrong shape are named in one sentence (exit 1) and left byte for byte; `registry check` lists
every problem; only `registry repair` accepts the damage, keeping each damaged original beside it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.registry import DeploymentRegistry, RegistryCorrupt
from core.registry.integrity import examine
from tests.bad_input_cli import cli_env, refusal_problem, repairer_env, run_cli, unchanged

MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
READS = [("history",), ("history", "--json"), ("report", "--since", "2026-01-01", "--until", "2026-12-31")]


def finished(day: int, environment: str = "staging", status: str = "succeeded") -> dict[str, object]:
    start = MARCH + timedelta(days=day)
    return {"environment": environment, "versions": {"websocket-server": f"ws:v1.{day}"}, "strategy": "canary",
            "actor": "alice", "status": status, "started_at": start, "ended_at": start + timedelta(minutes=9)}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    registry.import_history([finished(day) for day in range(6)])
    registry.import_history([{**finished(40), "environment": "production"}])  # April
    registry.register_deployment({"environment": "dev", "versions": {"frontend": "main"}, "strategy": "rolling",
                                  "actor": "bob"})
    return tmp_path


def march(home: Path) -> Path:
    return home / "registry-archive" / "2026-03.jsonl"


def ids(home: Path) -> list[str]:
    return [json.loads(line)["id"] for line in march(home).read_bytes().splitlines()]


def assert_refused(home: Path, *args: str, names: tuple[str, ...]) -> None:
    with unchanged(home):
        outcome = run_cli(*args, env=cli_env(home))
    problem = refusal_problem(outcome, 1, *names)
    assert problem is None, f"opsconsole {' '.join(args)}: {problem}"


def test_an_archive_cut_short_is_refused_by_every_read_and_the_acknowledged_deployment_is_not_forgotten(
        home: Path) -> None:
    last = ids(home)[-1]
    data = march(home).read_bytes()
    march(home).write_bytes(data[: len(data) // 2])
    for args in [*READS, ("deployment", last)]:
        assert_refused(home, *args, names=(str(march(home)), "cut short", "registry repair"))
    outcome = run_cli("deployment", last, env=cli_env(home))
    assert "not in the registry" not in outcome.err and "no deployment" not in outcome.err


def test_a_missing_month_file_is_refused(home: Path) -> None:
    march(home).unlink()
    for args in READS:
        assert_refused(home, *args, names=(str(march(home)), "missing"))


def test_an_archive_whose_recorded_bytes_were_replaced_is_refused(home: Path) -> None:
    data = march(home).read_bytes()
    march(home).write_bytes(data.replace(b'"ws:v1.5"', b'"ws:v9.9"'))  # the same length, the last line edited
    assert_refused(home, "history", names=(str(march(home)), "replaced or edited"))


@pytest.mark.parametrize("damage", [b"\xff", b"\x00", b"{", b"\xc3\x28"])
def test_a_damaged_byte_in_an_archive_line_names_the_file_and_the_line(home: Path, damage: bytes) -> None:
    target = ids(home)[2]
    data = bytearray(march(home).read_bytes())
    at = data.index(target.encode()) + 40
    data[at:at + len(damage)] = damage
    march(home).write_bytes(bytes(data))
    for args in [("history",), ("deployment", target)]:
        assert_refused(home, *args, names=(str(march(home)), "the line at byte"))


@pytest.mark.parametrize(("table", "change", "named"), [
    ("deployments", lambda doc: doc.update(status="exploded"), "field status"),
    ("deployments", lambda doc: doc.pop("environment"), "field environment"),
    ("environments", lambda doc: doc.update(statistics=[1, 2]), "field statistics"),
    ("archive_sizes", lambda doc: doc.update(size="many"), "field size"),
    ("archive_sizes", lambda doc: doc.update(size=True), "field size"),
    ("events", lambda doc: doc.update(items={}), "field items"),
])
def test_a_hot_file_document_of_the_wrong_shape_names_table_and_field(home: Path, table: str, change, named: str
                                                                      ) -> None:
    path = home / "registry.json"
    data = json.loads(path.read_bytes())
    if table == "events":
        data["events"] = {next(iter(data["deployments"])): {"items": []}}
    doc = next(iter(data[table].values()))
    change(doc)
    path.write_text(json.dumps(data))
    assert_refused(home, "history", names=(str(path), table, named, f"{path}.bak"))


def test_check_reports_every_problem_one_sentence_each_and_exits_1(home: Path) -> None:
    data = march(home).read_bytes()
    march(home).write_bytes(data[:-50])  # cut short, its last line cut too
    april = home / "registry-archive" / "2026-04.jsonl"
    april.write_bytes(april.read_bytes() + b'{"id": "d-20260411-000000-000-abcdef", "oops"}\n' + b"\xff\xfe\n")
    with unchanged(home):
        outcome = run_cli("registry", "check", env=cli_env(home))
    assert outcome.code == 1 and outcome.err.startswith(f"opsconsole: registry {home / 'registry.json'} is damaged "
                                                        "(3 problems)")
    lines = outcome.out.splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith(f"{march(home)}: it is {len(data) - 50} bytes")
    assert lines[1].startswith(f"{april}: the line at byte") and "not valid JSON" in lines[1]
    assert lines[2].startswith(f"{april}: the line at byte") and "not valid JSON" in lines[2]
    assert lines[3].startswith(f"note: {april}: ") and "archived after the last write" in lines[3]

    report = json.loads(run_cli("registry", "check", "--json", env=cli_env(home)).out)
    assert report["damaged"] and sum(f["damage"] for f in report["findings"]) == 3


def test_check_of_a_sound_registry_exits_0_and_says_so(home: Path) -> None:
    outcome = run_cli("registry", "check", env=cli_env(home))
    assert (outcome.code, outcome.err) == (0, "")
    assert outcome.out == f"registry {home / 'registry.json'} is sound: 7 archived deployment(s) in 2 month file(s)\n"
    assert run_cli("registry", "repair", env=repairer_env(home)).out.endswith("is sound; nothing was changed\n")


def test_repair_keeps_the_damaged_original_and_counts_what_is_left(home: Path) -> None:
    survivors = ids(home)[:3]
    lines = march(home).read_bytes().splitlines(keepends=True)
    cut = b"".join(lines[:3]) + b'{"id":"d-2026'  # three lines and a cut fourth
    march(home).write_bytes(cut)
    hot = (home / "registry.json").read_bytes()

    outcome = run_cli("registry", "repair", env=repairer_env(home))
    assert (outcome.code, outcome.err) == (0, ""), outcome
    [kept] = (home / "registry-archive").glob("2026-03.jsonl.damaged-*")
    [evidence] = home.glob("registry.json.before-repair-*")
    assert kept.read_bytes() == cut and evidence.read_bytes() == hot  # the damaged originals, byte for byte
    assert f"kept {kept}" in outcome.out and "kept 3 sound lines" in outcome.out

    assert run_cli("registry", "check", env=cli_env(home)).code == 0
    registry = DeploymentRegistry(home / "registry.json")
    assert [d.id for d in registry.list_deployments(environment="staging")] == survivors[::-1]
    assert registry.get_environment_state("staging").statistics["total"] == 3
    assert registry.get_environment_state("production").statistics["total"] == 1
    assert registry.get_environment_state("dev").statistics["pending"] == 1
    registry.import_history([finished(20)])  # and it takes writes again
    assert len(registry.list_deployments(environment="staging")) == 4


def test_repair_puts_a_sound_backup_in_place_of_a_damaged_hot_file(home: Path) -> None:
    path = home / "registry.json"
    path.write_bytes(path.read_bytes()[:100])
    damaged = path.read_bytes()
    assert_refused(home, "history", names=(str(path), "not valid JSON"))
    outcome = run_cli("registry", "repair", env=repairer_env(home))
    assert outcome.code == 0 and "replaced by its backup registry.json.bak" in outcome.out
    [kept] = home.glob("registry.json.damaged-*")
    assert kept.read_bytes() == damaged
    assert run_cli("registry", "check", env=cli_env(home)).code == 0
    assert run_cli("history", env=cli_env(home)).code == 0


def test_repair_without_a_sound_backup_changes_nothing(home: Path) -> None:
    path = home / "registry.json"
    path.write_bytes(b"[]")
    (home / "registry.json.bak").write_bytes(b"\xff")
    with unchanged(home):
        outcome = run_cli("registry", "repair", env=repairer_env(home))
    assert refusal_problem(outcome, 1, str(path), "backup", "nothing was changed") is None, outcome


def test_opening_never_rewrites_the_recorded_size_of_a_shrunk_archive(home: Path) -> None:
    data = march(home).read_bytes()
    march(home).write_bytes(data[:-1])
    before = (home / "registry.json").read_bytes()
    with pytest.raises(RegistryCorrupt, match="cut short"):
        DeploymentRegistry(home / "registry.json")
    assert (home / "registry.json").read_bytes() == before
    assert examine(home / "registry.json").damaged_months == ["2026-03"]


def test_a_damaged_incident_record_is_refused_listed_by_check_and_set_aside_by_repair(home: Path) -> None:
    from tests.bad_input_registry import INCIDENT, sound_incident

    registry = DeploymentRegistry(home / "registry.json")
    registry.put_record("incidents", INCIDENT, {**sound_incident(), "timeline": "lost"})
    path = home / "registry.json"
    for args in [("incident", "list"), ("incident", "postmortem", INCIDENT), ("incident", "root-cause", INCIDENT, "x")]:
        assert_refused(home, *args, names=(str(path), f"incident {INCIDENT!r}: field timeline", "registry repair"))
    check = run_cli("registry", "check", env=cli_env(home))
    assert check.code == 1 and f"the incidents table holds a damaged record: incident {INCIDENT!r}" in check.out

    outcome = run_cli("registry", "repair", env=repairer_env(home))
    assert outcome.code == 0 and f"set the damaged incidents record {INCIDENT!r} aside" in outcome.out
    [kept] = home.glob("registry.json.before-repair-*")
    assert json.loads(kept.read_bytes())["incidents"][INCIDENT]["timeline"] == "lost"
    assert run_cli("incident", "list", env=cli_env(home)).out == "no incidents\n"
