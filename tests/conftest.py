"""Test-wide isolation: no test reads or writes the real user's config, registry or sandbox state."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from core.providers.cloudrun import CloudRunAdapter
from core.providers.monitoring import MonitoringAdapter
from core.providers.profile import GoogleClients, google_clients
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.monitoring_ingest import FAST as FAST_POINTS
from sandbox.monitoring_ingest import Ingestion
from sandbox.serving import LoopThread
from tests.google_rig import FAST, PROJECT, REGION

# pg_cluster, pg_url, pg_restartable, tcp_proxy_to: a real PostgreSQL server per worker, started on first use;
# opened, registry, team, as_role: the team registry on it (tests/pg_registry_rig.py).
pytest_plugins = ["tests.pg_fixtures", "tests.pg_registry_rig", "tests.cli_project"]


def pytest_configure(config: pytest.Config) -> None:
    # Subprocesses inherit these, so `opsconsole` started by a test also stays inside the temp tree.
    home = tempfile.mkdtemp(prefix="opsconsole-test-home-")
    os.environ["XDG_DATA_HOME"] = os.path.join(home, "data")
    os.environ["XDG_CONFIG_HOME"] = os.path.join(home, "config")
    for name in [n for n in os.environ if n.startswith("OPSCONSOLE_")]:
        del os.environ[name]


# A sandbox cloud on a frozen clock (tests move it with `clock.advance`), and the official Google
# clients pointed at it. Parametrize `cloud` indirectly with a scenario name; a module may override
# `cloud` (a faster clock, say) and still get `clients` for it.
@pytest.fixture
def clock() -> SandboxClock:
    return SandboxClock(speed=0)


@pytest.fixture
def ingestion() -> Ingestion:
    """How the sandbox serves Cloud Run's points: 10 s, visible at once (not Google's, for speed). A module that
    tests Google's 60 s points and ingestion delays overrides this fixture."""
    return FAST_POINTS


@pytest.fixture
def cloud(clock: SandboxClock, ingestion: Ingestion, request: pytest.FixtureRequest) -> Iterator[SandboxCloud]:
    sandbox = SandboxCloud(clock=clock, scenario=getattr(request, "param", "healthy"), ingestion=ingestion).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def clients(cloud: SandboxCloud) -> Iterator[GoogleClients]:
    built = google_clients(cloud.endpoints)
    yield built
    built.close()


@pytest.fixture
def run(clients: GoogleClients) -> CloudRunAdapter:
    """Cloud Run of production's project, through the official client."""
    return CloudRunAdapter(clients.services, clients.revisions, PROJECT, REGION, policy=FAST)


@pytest.fixture
def metrics(clients: GoogleClients, clock: SandboxClock, ingestion: Ingestion) -> MonitoringAdapter:
    """Cloud Monitoring of production's project, its windows ending on the sandbox's clock."""
    return MonitoringAdapter(clients.metrics, PROJECT, region=REGION, policy=FAST, now=clock.now,
                             timing=ingestion.timing())


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    """One event loop thread per test module for serving the sandbox's aiohttp apps."""
    thread = LoopThread("test-loop")
    yield thread
    thread.stop()
