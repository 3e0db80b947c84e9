"""Faults of the shared registry, as an on-call team would meet them (a real PostgreSQL server, the sandbox cloud).

- PostgreSQL restarted mid-rollout: the driving console reconnects, takes its lease again, and the canary ends
  with every traffic step applied once;
- two consoles race to deploy one environment: exactly one wins, the other is told which deployment and whose;
- the database unreachable at start: one sentence, exit 1, nothing else;
- bad registry URLs, a wrong password, a database of a newer schema: one sentence, exit 2, nothing written;
- a driver cut off from the database cannot apply a change after another console took over (fencing).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from core.engine import Engine, approve
from core.model.events import WeightChanged
from core.registry import DeploymentStatus, open_registry
from core.registry.errors import LeaseLost
from tests.engine_rig import IMAGE, rig, rig_config
from tests.test_engine_crash import StandaloneSandbox, console_env

if TYPE_CHECKING:
    from tests.pg_rig import PgCluster

ENV = "production"
SERVICE = "websocket-server"


def team(cluster: PgCluster, dbname: str) -> dict[str, str]:
    """alice and bob, each a database user in production's group role, on a registry the owner created."""
    open_registry(cluster.url(dbname=dbname)).close()  # the owner's first connection: schema and group roles
    urls = {}
    for person in ("alice", "bob"):
        cluster.create_role(person, f"{person}-pw", in_roles=("opsconsole_production",))
        urls[person] = cluster.url(user=person, password=f"{person}-pw", dbname=dbname)
    return urls


@pytest.fixture
def restartable_team(pg_restartable: PgCluster) -> Iterator[tuple[PgCluster, dict[str, str]]]:
    yield pg_restartable, team(pg_restartable, pg_restartable.create_database())


def test_postgres_restarted_mid_canary_the_driver_reconnects_and_applies_each_step_once(
        tmp_path: Path, restartable_team: tuple[PgCluster, dict[str, str]]) -> None:
    cluster, urls = restartable_team
    alice, bob = open_registry(urls["alice"], operator="alice"), open_registry(urls["bob"], operator="bob")
    with rig(tmp_path, config=rig_config(mode="auto", analysis_window_s=10), registry=alice) as r:
        stable = next(iter(r.served()))
        deployment = r.engine.deploy_to_environment(ENV, {SERVICE: IMAGE})
        approve(Engine(r.engine.config, bob, r.engine.ports, operator="bob"), ENV)
        first_move = threading.Event()
        r.engine.bus.subscribe(lambda event: first_move.set() if isinstance(event, WeightChanged) else None)
        outcome: dict[str, Any] = {}
        driver = threading.Thread(target=lambda: outcome.update(tick=r.drive(deployment.id)), daemon=True)
        driver.start()
        assert first_move.wait(60), "the canary never moved traffic"
        cluster.restart()  # every session ends: the pool's connections and the lease's
        driver.join(timeout=120)

        assert not driver.is_alive() and outcome["tick"].state == "finished", outcome
        final = r.deployment(deployment.id)
        assert final.status == DeploymentStatus.SUCCEEDED, final.rollback_cause
        notes = [e.describe() for e in r.events]
        assert any("took the lease again" in n for n in notes), notes
        events = r.registry.events(deployment.id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        served, moves = {stable: 100}, []  # each change of the served split (finalizing re-tags at 100 %)
        for request in r.cloud.cloudrun_requests.since():
            if request.status == 200 and request.split is not None and request.split != served:
                moves.append(request.split)
                served = request.split
        new = final.metadata["rollout"]["new_revision"]
        assert [m.get(new) for m in moves] == [10, 25, 50, 100], "a step was applied twice or skipped"
    alice.close()
    bob.close()


def test_a_driver_whose_lease_was_taken_over_applies_nothing_more(
        tmp_path: Path, pg_cluster: PgCluster, pg_url: str) -> None:
    urls = team(pg_cluster, pg_url.rsplit("/", 1)[1])
    first, second = open_registry(urls["alice"], operator="alice"), open_registry(urls["alice"], operator="alice")
    with rig(tmp_path, config=rig_config(mode="auto", analysis_window_s=10), registry=first) as r:
        deployment = r.engine.deploy_to_environment(ENV, {SERVICE: IMAGE})
        lease = r.engine.lock(ENV)
        assert lease.try_acquire()
        # The driver is cut off: the server ends its lease session (as idle_session_timeout does to a silent one).
        pg_cluster.execute("SELECT pg_terminate_backend(backend_pid) FROM opsconsole.leases "
                           "WHERE environment = 'production'", dbname=pg_url.rsplit("/", 1)[1])
        taker = second.lease(ENV, "alice on another laptop")
        assert taker is not None and taker.try_acquire(), "the lease was not free after its session ended"

        with pytest.raises(LeaseLost, match="alice on another laptop"):
            r.engine.record(deployment, "intent", "set traffic", {"percent": 100})
        assert [e.action for e in first.events(deployment.id)] == ["deployment planned"], "an intent got through"
        taker.release()
    first.close()
    second.close()


def test_two_consoles_racing_to_deploy_one_environment_exactly_one_wins(
        tmp_path: Path, pg_cluster: PgCluster, pg_url: str) -> None:
    urls = team(pg_cluster, pg_url.rsplit("/", 1)[1])
    (tmp_path / "opsconsole.toml").write_text('[teams]\noperations = ["alice", "bob"]\n')
    with StandaloneSandbox(tmp_path):
        racers = [subprocess.Popen([sys.executable, "-m", "console", "deploy", ENV, "--set",
                                    f"{SERVICE}={IMAGE}-{person}", "--yes"], cwd=tmp_path,
                                   env=console_env(tmp_path, urls[person]), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for person in ("alice", "bob")]
        results = [(p.wait(timeout=120), p.stdout.read() if p.stdout else "", p.stderr.read() if p.stderr else "")
                   for p in racers]
    codes = sorted(code for code, _, _ in results)
    assert codes == [3, 4], results  # the winner waits for its approval (3), the loser is refused (4)
    (winner,) = [r for r in results if r[0] == 3]
    (loser,) = [r for r in results if r[0] == 4]
    registry = open_registry(pg_url)
    (active,) = registry.get_environment_state(ENV).active
    assert active.id in winner[1] and active.id in loser[2], (winner, loser)
    assert active.actor in loser[2] and len(loser[2].strip().splitlines()) == 1, loser
    registry.close()


def test_the_registry_unreachable_at_start_is_one_sentence_and_exit_1(tmp_path: Path) -> None:
    url = "postgresql://alice@127.0.0.1:9/opsconsole"  # the discard port: nothing listens
    result = subprocess.run([sys.executable, "-m", "console", "--registry", url, "history"], cwd=tmp_path,
                            env=console_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result
    assert "postgresql://alice@127.0.0.1:9/opsconsole cannot be reached" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(("url", "problem"), [
    ("postgresql://alice@db.example/", "names no database"),
    ("postgresql://alice@db.example:99999/opsconsole", "is malformed"),
    ("mysql://alice@db.example/opsconsole", "scheme 'mysql'"),
    ("postgresql://alice@db.example/opsconsole?sslmod=require", "unknown parameter 'sslmod'"),
    ("postgresql://alice:s3cret@/opsconsole?cloudsql_instance=nope", "is not an instance connection name"),
])
def test_a_malformed_registry_url_is_refused_in_one_sentence_without_its_password(
        tmp_path: Path, url: str, problem: str) -> None:
    result = subprocess.run([sys.executable, "-m", "console", "--registry", url, "history"], cwd=tmp_path,
                            env=console_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and problem in result.stderr, result.stderr
    assert "s3cret" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_wrong_password_and_a_newer_schema_are_refused_with_exit_2_and_nothing_written(
        tmp_path: Path, pg_cluster: PgCluster, pg_url: str) -> None:
    dbname = pg_url.rsplit("/", 1)[1]
    urls = team(pg_cluster, dbname)
    wrong = urls["alice"].replace("alice-pw", "not-her-password")
    result = subprocess.run([sys.executable, "-m", "console", "--registry", wrong, "history"], cwd=tmp_path,
                            env=console_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "the password for alice is wrong" in result.stderr, result.stderr
    assert "not-her-password" not in result.stderr

    pg_cluster.execute("INSERT INTO opsconsole._yoyo_migration (migration_hash, migration_id, applied_at_utc) "
                       "VALUES ('f' || md5('x'), '9999_from_the_future', now())", dbname=dbname)
    result = subprocess.run([sys.executable, "-m", "console", "--registry", urls["alice"], "deploy", "dev", "--set",
                             f"{SERVICE}={IMAGE}"], cwd=tmp_path, env=console_env(tmp_path), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "written by a newer opsconsole" in result.stderr, result.stderr
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM opsconsole.deployments").fetchone() == (0,)


def test_production_needs_a_second_person_whatever_the_deployer_calls_themselves(
        tmp_path: Path, pg_cluster: PgCluster, pg_url: str) -> None:
    urls = team(pg_cluster, pg_url.rsplit("/", 1)[1])
    (tmp_path / "opsconsole.toml").write_text('[teams]\noperations = ["alice", "bob"]\n')

    def opsconsole(person: str, *args: str, claims: str | None = None) -> subprocess.CompletedProcess[str]:
        env = console_env(tmp_path, urls[person])
        env["OPSCONSOLE_OPERATOR"] = claims or person
        return subprocess.run([sys.executable, "-m", "console", *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120)

    with StandaloneSandbox(tmp_path):
        deployed = opsconsole("bob", "deploy", ENV, "--set", f"{SERVICE}={IMAGE}", "--yes")
        assert deployed.returncode == 3 and "who may act: alice" in deployed.stdout, deployed
        # bob says he is alice: the registry knows him as bob, and so does the four-eyes rule.
        self_approved = opsconsole("bob", "approve", ENV, "--yes", claims="alice")
        assert self_approved.returncode == 4, self_approved  # refused
        assert "production needs a second person: bob deployed" in self_approved.stderr, self_approved.stderr
        approved = opsconsole("alice", "approve", ENV, "--yes")
        assert approved.returncode == 3, approved  # approved; the first canary step now waits for a promote
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT created_by, approved_by, doc->>'actor' FROM opsconsole.deployments").fetchall() \
            == [("bob", "alice", "bob")]


def test_a_driver_cut_off_from_the_network_loses_its_lease_within_seconds_and_applies_nothing_after(
        tmp_path: Path, pg_cluster: PgCluster, pg_url: str, tcp_proxy_to: Any) -> None:
    """No FIN, no RST: the packets just stop. The server ends the silent lease session (idle_session_timeout),
    another console takes the lease, and the cut-off driver's write is refused once the network heals."""
    import time

    from core.registry.pg.lease import HEARTBEAT_S, LAPSE_S

    urls = team(pg_cluster, pg_url.rsplit("/", 1)[1])
    proxy = tcp_proxy_to(pg_cluster.port)
    through_proxy = urls["alice"].replace(f":{pg_cluster.port}/", f":{proxy.port}/")
    cut_off, other = open_registry(through_proxy, operator="alice"), open_registry(urls["bob"], operator="bob")
    deployment = cut_off.register_deployment({"environment": ENV, "versions": {SERVICE: IMAGE},
                                              "strategy": "canary", "actor": "alice"})
    lease = cut_off.lease(ENV, "alice")
    assert lease is not None and lease.try_acquire()
    taker = other.lease(ENV, "bob")
    assert taker is not None and not taker.try_acquire()

    proxy.cut()
    deadline = time.monotonic() + LAPSE_S + 4 * HEARTBEAT_S + 10  # a bound for the test, not a measurement
    while not taker.try_acquire():
        assert time.monotonic() < deadline, "the cut-off driver's lease was never released by the server"
        time.sleep(0.5)
    proxy.heal()

    with pytest.raises(LeaseLost, match="bob"):
        cut_off.append_event(deployment, "intent", "set traffic", actor="alice", detail={"percent": 10})
    assert [e.action for e in other.events(deployment)] == []
    taker.release()
    lease.release()
    cut_off.close()
    other.close()
