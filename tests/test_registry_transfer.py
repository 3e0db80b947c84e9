"""Moving in and out: `registry migrate` copies a registry file into PostgreSQL whole (ids, events and their times,
statistics, health, records), again without doubling anything and bringing on what moved since; bad input is
refused in one sentence with nothing written; `registry export` backs up either backend as JSON Lines, the same
registry giving the same lines from both; `registry check URL` names what is wrong in the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.registry import DeploymentRegistry, open_registry
from core.registry.pg.registry import PostgresRegistry
from core.reports.history_gen import fill_registry, generate_history
from tests.cli_rig import Ran, opsconsole

ENVIRONMENTS = ("dev", "staging", "production")
TABLES = ("deployments", "events", "environments", "records")


@pytest.fixture
def source(tmp_path: Path) -> DeploymentRegistry:
    """A year of history (archived, with events and incidents), one deployment finished through the hot file, one
    in progress with events, an infrastructure record and an observed health."""
    registry = DeploymentRegistry(tmp_path / "home" / "registry.json")
    fill_registry(registry, generate_history(300, seed=3, end=datetime(2026, 11, 1, tzinfo=UTC)))
    done = registry.register_deployment({"environment": "staging", "versions": {"frontend": "web:v7"},
                                         "strategy": "blue-green", "actor": "dana"})
    registry.append_event(done, "intent", "deploy green", actor="engine")
    registry.append_event(done, "done", "deploy green", actor="engine", detail={"revision": "web-00007"})
    registry.update_deployment(done, status="succeeded")
    running = registry.register_deployment({"environment": "production", "versions": {"websocket-server": "ws:v9"},
                                            "strategy": "canary", "actor": "alice", "status": "in_progress"})
    registry.append_event(running, "intent", "deploy revision", actor="engine")
    registry.put_record("infrastructure", "production", {"applied": "abc123", "at": "2026-10-30T10:00:00+00:00"})
    registry.set_health("production", "degraded")
    return registry


def run(tmp_path: Path, *args: str) -> Ran:
    """`opsconsole ARGS` as alice, who is in production's team (migrate passes the access gate as repair does)."""
    config = tmp_path / "opsconsole.toml"
    config.write_text('[teams]\noperations = ["alice"]\n')
    return opsconsole(*args, cwd=tmp_path, env={"OPSCONSOLE_OPERATOR": "alice", "OPSCONSOLE_CONFIG": str(config)})


def migrate(tmp_path: Path, source: DeploymentRegistry, url: str, *more: str) -> Ran:
    return run(tmp_path, "registry", "migrate", "--from", str(source.path), "--to", url, *more)


def rows(url: str) -> dict[str, int]:
    """Rows per registry table, or {} when the registry's schema was never created."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('opsconsole.deployments')").fetchone() == (None,):
            return {}
        return {table: conn.execute(f"SELECT count(*) FROM opsconsole.{table}").fetchone()[0]  # type: ignore[index]
                for table in TABLES}


def sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET search_path TO opsconsole")
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


@pytest.fixture
def target(pg_url: str) -> Iterator[PostgresRegistry]:
    registry = open_registry(pg_url)
    assert isinstance(registry, PostgresRegistry)
    yield registry
    registry.close()


def assert_same(source: DeploymentRegistry, target: PostgresRegistry) -> None:
    """What a user would compare: every deployment, its events, each environment's state, every record."""
    ours = {d.id: d for d in source.iter_deployments()}
    theirs = {d.id: d for d in target.iter_deployments()}
    assert sorted(theirs) == sorted(ours)
    assert theirs == ours
    for ident in ours:
        assert target.events(ident) == source.events(ident), ident
    for name in ENVIRONMENTS:
        assert target.get_environment_state(name) == source.get_environment_state(name), name
    for table in ("infrastructure", "incidents"):
        assert target.records(table) == source.records(table)


def test_migrate_copies_the_whole_registry_with_its_ids_events_statistics_and_records(
        tmp_path: Path, source: DeploymentRegistry, pg_url: str, target: PostgresRegistry) -> None:
    deployments = len(list(source.iter_deployments()))
    events = sum(len(source.events(d.id)) for d in source.iter_deployments())
    records = len(source.records("incidents")) + 1

    ran = migrate(tmp_path, source, pg_url)

    assert ran.returncode == 0, ran.stderr
    spaced = f"{events:,}".replace(",", " ")  # 1 203
    assert ran.stdout.strip().splitlines()[-1] == (
        f"copied {deployments} deployments (1 active), {spaced} events, {records} records; 0 already there")
    assert_same(source, target)
    assert target.get_environment_state("production").health == "degraded"
    with psycopg.connect(pg_url) as conn:  # the server says who migrated; the doc keeps who deployed
        who = conn.execute("SELECT DISTINCT created_by FROM opsconsole.deployments").fetchall()
    assert who == [("postgres",)]
    assert {d.actor for d in target.iter_deployments()} > {"alice", "bob"}


def test_the_report_reads_the_same_rows_from_both_backends(
        tmp_path: Path, source: DeploymentRegistry, pg_url: str, target: PostgresRegistry) -> None:
    from core.reports.source import read_rows

    assert migrate(tmp_path, source, pg_url).returncode == 0
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    def same(rows: list[Any]) -> list[Any]:
        """Versions and commit times as sets: jsonb keeps an object's keys in its own order, and no figure reads it."""
        return [row._replace(versions_json=json.dumps(row.versions, sort_keys=True),
                             commit_times=tuple(sorted(row.commit_times))) for row in rows]

    from_file = same(read_rows(source, start, end, None))
    assert len(from_file) > 300 and any(row.failed_stage_start is not None for row in from_file)
    assert same(read_rows(target, start, end, None)) == from_file
    assert same(read_rows(target, start, end, "production")) == [r for r in from_file if r.environment == "production"]


def test_a_second_run_copies_nothing_and_doubles_nothing(
        tmp_path: Path, source: DeploymentRegistry, pg_url: str) -> None:
    assert migrate(tmp_path, source, pg_url).returncode == 0
    before = rows(pg_url)

    ran = migrate(tmp_path, source, pg_url, "--json")

    assert ran.returncode == 0, ran.stderr
    counts = json.loads(ran.stdout)
    assert (counts["deployments"], counts["events"], counts["records"]) == (0, 0, 0)
    assert counts["already_there"] == {"deployments": before["deployments"], "records": before["records"]}
    assert rows(pg_url) == before


def test_what_moved_in_the_source_since_is_brought_up_to_date(
        tmp_path: Path, source: DeploymentRegistry, pg_url: str, target: PostgresRegistry) -> None:
    assert migrate(tmp_path, source, pg_url).returncode == 0
    running = source.active_deployments()[0].id
    source.append_event(running, "done", "deploy revision", actor="engine")
    source.update_deployment(running, status="succeeded")
    newer = source.register_deployment({"environment": "production", "versions": {"websocket-server": "ws:v10"},
                                        "strategy": "canary", "actor": "bob", "status": "in_progress"})
    source.append_event(newer, "intent", "deploy revision", actor="engine")

    ran = migrate(tmp_path, source, pg_url)

    assert ran.returncode == 0, ran.stderr
    assert "copied 1 deployments (1 active), 2 events, 0 records" in ran.stdout
    assert "1 brought up to date" in ran.stdout
    assert_same(source, target)


def test_an_approval_given_in_the_file_since_the_first_run_is_brought_over_by_the_owner(
        tmp_path: Path, source: DeploymentRegistry, pg_url: str, target: PostgresRegistry) -> None:
    assert migrate(tmp_path, source, pg_url).returncode == 0
    running = source.active_deployments()[0]
    rollout = {**running.metadata.get("rollout", {}), "approval": {"actor": "bob", "at": "2026-11-02T10:00:00+00:00"}}
    source.update_deployment(running.id, metadata={"rollout": rollout})

    ran = migrate(tmp_path, source, pg_url)  # the owner copies it: the four-eyes rule is for people, not the copy

    assert ran.returncode == 0, ran.stderr
    assert target.get_deployment(running.id).metadata["rollout"]["approval"]["actor"] == "bob"


def test_a_deployment_the_team_moved_on_in_postgresql_is_left_as_it_is_there(
        tmp_path: Path, source: DeploymentRegistry, pg_url: str, target: PostgresRegistry) -> None:
    assert migrate(tmp_path, source, pg_url).returncode == 0
    running = source.active_deployments()[0].id
    target.append_event(running, "done", "deploy revision", actor="engine")  # the team drives it there now
    before = rows(pg_url)

    ran = migrate(tmp_path, source, pg_url)

    assert ran.returncode == 0, ran.stderr
    assert rows(pg_url) == before and len(target.events(running)) == 2


def test_two_deployments_in_progress_in_one_environment_are_refused_naming_both(
        tmp_path: Path, source: DeploymentRegistry, pg_url: str) -> None:
    first = source.active_deployments()[0].id
    second = source.register_deployment({"environment": "production", "versions": {"frontend": "web:v8"},
                                         "strategy": "canary", "actor": "bob"})

    ran = migrate(tmp_path, source, pg_url)

    assert ran.returncode == 1
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert first in ran.stderr and second in ran.stderr and "production" in ran.stderr
    assert "nothing was copied" in ran.stderr
    assert rows(pg_url) == {"deployments": 0, "events": 0, "environments": 0, "records": 0}


@pytest.mark.parametrize(("args", "sentence"), [
    (("--to", "{home}/team.json"), "--to takes the team registry's postgresql:// URL"),
    (("--to", "mysql://alice@db/opsconsole"), "has the scheme 'mysql'"),
    (("--from", "{url}"), "--from takes the registry file to copy (a path"),
    (("--from", "{home}/nowhere.json"), "is not a registry file (no such file)"),
], ids=["to-a-file", "to-not-postgres", "from-a-url", "from-a-missing-file"])
def test_bad_input_is_refused_in_one_sentence_with_nothing_written(
        tmp_path: Path, source: DeploymentRegistry, pg_url: str, args: tuple[str, str], sentence: str) -> None:
    given = {"--from": str(source.path), "--to": pg_url}
    given[args[0]] = args[1].format(home=tmp_path, url=pg_url)

    ran = run(tmp_path, "registry", "migrate", "--from", given["--from"], "--to", given["--to"])

    assert ran.returncode == 2, (ran.stdout, ran.stderr)
    assert sentence in ran.stderr and len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert "Traceback" not in ran.stderr and pg_url.split(":")[2].split("@")[0] not in ran.stderr
    assert rows(pg_url) == {}, "a refused migration wrote to the database"
    assert not (tmp_path / "team.json").exists()


def test_a_damaged_source_is_refused_like_registry_check_with_nothing_written(
        tmp_path: Path, source: DeploymentRegistry, pg_url: str) -> None:
    month = sorted((source.archive_dir).glob("*.jsonl"))[3]
    data = month.read_bytes()
    month.write_bytes(data[: len(data) // 2])

    ran = migrate(tmp_path, source, pg_url)

    assert ran.returncode == 1
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert f"registry {source.path} is damaged" in ran.stderr and "nothing was copied" in ran.stderr
    assert "registry check" in ran.stderr
    assert rows(pg_url) == {}


def export_of(tmp_path: Path, registry: str, name: str) -> list[dict[str, Any]]:
    out = tmp_path / name
    ran = run(tmp_path, "--registry", registry, "registry", "export", "--out", str(out))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("exported ") and str(out) in ran.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "the temporary file was left behind"
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_export_gives_the_same_registry_from_the_file_and_from_postgresql(
        tmp_path: Path, source: DeploymentRegistry, pg_url: str) -> None:
    assert migrate(tmp_path, source, pg_url).returncode == 0

    from_file = export_of(tmp_path, str(source.path), "file.jsonl")
    from_database = export_of(tmp_path, pg_url, "database.jsonl")

    header, *lines = from_file
    assert header["kind"] == "opsconsole-registry-export" and header["registry"] == str(source.path)
    assert from_database[0]["registry"].startswith("postgresql://postgres@")
    assert from_database[1:] == lines  # same order, same deployments with events, environments, records
    deployments = [line for line in lines if "deployment" in line]
    assert len(deployments) == len(list(source.iter_deployments()))
    archived = json.loads(source.archive_dir.joinpath("2026-10.jsonl").read_text().splitlines()[0])
    assert archived in deployments, "a deployment's line has the archive's shape"
    assert {line["name"] for line in lines if line.get("kind") == "environment"} == set(ENVIRONMENTS)
    password = pg_url.split(":")[2].split("@")[0]
    assert password not in (tmp_path / "database.jsonl").read_text()


def test_export_to_stdout_and_a_bad_out_directory(tmp_path: Path, source: DeploymentRegistry) -> None:
    ran = run(tmp_path, "--registry", str(source.path), "registry", "export", "--out", "-")
    assert ran.returncode == 0, ran.stderr
    lines = [json.loads(line) for line in ran.stdout.splitlines()]
    assert lines[0]["kind"] == "opsconsole-registry-export" and ran.stderr.startswith("exported ")
    bad = run(tmp_path, "--registry", str(source.path), "registry", "export", "--out", str(tmp_path / "no" / "x"))
    assert bad.returncode == 2 and "does not exist" in bad.stderr


def check(tmp_path: Path, url: str) -> Ran:
    return run(tmp_path, "--registry", url, "registry", "check")


def test_check_of_a_postgresql_registry_says_what_is_wrong_one_sentence_each(
        tmp_path: Path, source: DeploymentRegistry, pg_url: str, target: PostgresRegistry) -> None:
    assert migrate(tmp_path, source, pg_url).returncode == 0
    sound = check(tmp_path, pg_url)
    assert sound.returncode == 0, sound.stderr
    assert "is sound: 302 deployment(s)" in sound.stdout

    running = target.active_deployments()[0].id
    target.append_event(running, "done", "deploy revision", actor="engine")
    last = target.list_deployments(environment="production", status="succeeded", limit=1)[0].id
    sql(pg_url,
        "INSERT INTO leases (environment, generation, operator, host, pid, backend_pid, since) "
        "VALUES ('production', 3, 'bob', 'laptop', 4242, 999999, '2026-10-30 09:00:00+00')",
        f"DELETE FROM events WHERE deployment_id = '{running}' AND seq = 1",
        "DROP INDEX one_active_deployment_per_environment",
        f"UPDATE deployments SET status = 'in_progress', doc = jsonb_set(doc, '{{status}}', '\"in_progress\"') "
        f"WHERE id = '{last}'",
        "INSERT INTO records (tbl, key, doc) VALUES ('incidents', 'INC-X', '{\"id\": 5}')")

    ran = check(tmp_path, pg_url)

    assert ran.returncode == 1
    out = ran.stdout
    assert f"production has 2 deployments in progress ({', '.join(sorted([last, running]))})" in out
    assert f"the events of deployment {running} have a gap" in out
    assert "the statistics of production differ from its deployments (in_progress 1 recorded, 2 counted" in out
    assert "the incidents table holds a damaged record" in out
    assert ("note: stale lease of production held by bob (database user postgres) on laptop, pid 4242, "
            "since 2026-10-30 09:00:00 UTC, "
            "released automatically") in out
    assert len(ran.stderr.strip().splitlines()) == 1 and "is damaged (4 problems)" in ran.stderr


def test_check_names_a_schema_behind_this_opsconsole(tmp_path: Path, pg_url: str, target: PostgresRegistry) -> None:
    sql(pg_url, "DELETE FROM _yoyo_migration WHERE migration_id = '0003_notify'")

    ran = check(tmp_path, pg_url)

    assert ran.returncode == 1
    assert "the schema lacks 0003_notify" in ran.stdout


def test_a_cut_connection_leaves_no_half_copied_deployment_and_the_next_run_copies_the_rest(
        source: DeploymentRegistry, pg_url: str, tcp_proxy_to: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config.registry_location import parse_postgres_url
    from core.errors import OperationFailed
    from core.registry.pg import transfer

    location = parse_postgres_url(pg_url)
    proxy = tcp_proxy_to(location.port)
    through = PostgresRegistry(parse_postgres_url(pg_url.replace(f":{location.port}/", f":{proxy.port}/")),
                               reconnect_for=1.0)
    monkeypatch.setattr(transfer, "BATCH", 40)
    insert_events = transfer._insert_events
    calls = 0

    def cut_on_the_third_batch(conn: Any, rows: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            proxy.reset()  # the deployments of this batch went in; its events never arrive
        insert_events(conn, rows)

    monkeypatch.setattr(transfer, "_insert_events", cut_on_the_third_batch)
    with pytest.raises(OperationFailed, match="after 80 deployments were copied, each whole with its events"):
        transfer.migrate(source, through)
    through.close()
    assert rows(pg_url)["deployments"] == 80
    with psycopg.connect(pg_url) as conn:
        held = conn.execute("SELECT d.id, count(e.seq) FROM opsconsole.deployments d LEFT JOIN opsconsole.events e "
                            "ON e.deployment_id = d.id GROUP BY d.id").fetchall()
    assert all(count == len(source.events(ident)) for ident, count in held), "a deployment was copied in part"

    monkeypatch.setattr(transfer, "_insert_events", insert_events)
    target = PostgresRegistry(parse_postgres_url(pg_url))
    try:
        done = transfer.migrate(source, target)
        assert done.deployments_there == 80
        assert_same(source, target)
    finally:
        target.close()


def test_finished_history_keeps_event_times(source: DeploymentRegistry, target: PostgresRegistry) -> None:
    from core.registry.pg.transfer import migrate as copy

    copy(source, target)
    oldest = min(source.iter_deployments(), key=lambda d: d.id)
    assert [e.at for e in target.events(oldest.id)] == [e.at for e in source.events(oldest.id)]
    assert oldest.started_at < datetime(2026, 11, 1, tzinfo=UTC) - timedelta(days=300)
