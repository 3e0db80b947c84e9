"""The dashboards adapter against the sandbox's Dashboards API: the official REST client, unchanged, end to end."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from google.cloud import monitoring_dashboard_v1 as dash

from core.errors import OperationFailed
from core.providers.dashboards import DashboardsAdapter, dashboards_client
from core.providers.google_retry import RetryPolicy
from sandbox.cloud import SandboxCloud
from sandbox.dashboards_api import describe
from sandbox.faults import ApiFaults

PROJECT = "ai-agent-network-prod"
NAME = f"projects/{PROJECT}/dashboards/opsconsole-production"
FAST = RetryPolicy(initial=0.01, maximum=0.02, deadline=2.0)


@pytest.fixture
def adapter(cloud: SandboxCloud) -> Iterator[DashboardsAdapter]:
    client = dashboards_client(cloud.endpoints)
    yield DashboardsAdapter(client, PROJECT, policy=FAST)
    client.transport.close()


def test_the_first_upsert_creates_canary_and_stable_panels(adapter: DashboardsAdapter, cloud: SandboxCloud) -> None:
    assert adapter.upsert_environment("production", "websocket-server", canary_revision="websocket-server-00002",
                                      stable_revision="websocket-server-00001") == "created"

    panels = describe(cloud.dashboards)[NAME]["panels"]
    assert panels == [f"{role} {what} (websocket-server-0000{n})" for role, n in (("canary", 2), ("stable", 1))
                      for what in ("5xx rate", "latency p50", "latency p99", "requests per second")]
    held = adapter.get("production")
    assert held is not None and held.display_name == "opsconsole production: websocket-server"
    ratio = held.mosaic_layout.tiles[0].widget.xy_chart.data_sets[0].time_series_query.time_series_filter_ratio
    assert 'response_code_class="5xx"' in ratio.numerator.filter
    assert 'revision_name="websocket-server-00002"' in ratio.denominator.filter


def test_upserting_the_same_revisions_again_writes_nothing(adapter: DashboardsAdapter, cloud: SandboxCloud) -> None:
    adapter.upsert_environment("production", "websocket-server", canary_revision="r2", stable_revision="r1")
    etag = describe(cloud.dashboards)[NAME]["etag"]

    assert adapter.upsert_environment("production", "websocket-server", canary_revision="r2",
                                      stable_revision="r1") == "unchanged"
    assert describe(cloud.dashboards)[NAME]["etag"] == etag and cloud.dashboards.writes[NAME] == 1


def test_new_revisions_update_the_dashboard_with_its_etag(adapter: DashboardsAdapter, cloud: SandboxCloud) -> None:
    adapter.upsert_environment("production", "websocket-server", canary_revision="r2", stable_revision="r1")

    assert adapter.upsert_environment("production", "websocket-server", canary_revision="r3",
                                      stable_revision="r2") == "updated"
    assert describe(cloud.dashboards)[NAME]["panels"][0] == "canary 5xx rate (r3)"
    assert len(describe(cloud.dashboards)) == 1, "one dashboard per environment, never a second copy"


def test_a_concurrent_change_is_read_again_and_the_update_retried(adapter: DashboardsAdapter,
                                                                  cloud: SandboxCloud) -> None:
    adapter.upsert_environment("production", "websocket-server", canary_revision="r2", stable_revision="r1")
    # The next update meets an etag that another writer just moved on.
    cloud.dashboards.faults = ApiFaults(share=1.0, kinds=("ABORTED",), methods=("UpdateDashboard",), budget=1)

    assert adapter.upsert_environment("production", "websocket-server", canary_revision="r3",
                                      stable_revision="r2") == "updated"
    assert describe(cloud.dashboards)[NAME]["panels"][0] == "canary 5xx rate (r3)"
    assert cloud.dashboards.calls["UpdateDashboard"] == 2 and cloud.dashboards.calls["GetDashboard"] == 3


def test_an_unavailable_api_is_one_sentence_naming_the_dashboard(adapter: DashboardsAdapter,
                                                                 cloud: SandboxCloud) -> None:
    cloud.dashboards.faults = ApiFaults(share=1.0, kinds=("UNAVAILABLE",))
    adapter = DashboardsAdapter(adapter._client, PROJECT, policy=RetryPolicy(initial=0.01, maximum=0.02, deadline=0.3))

    with pytest.raises(OperationFailed, match=r"Cloud Monitoring dashboards: reading projects/.*opsconsole-production"
                                              r" failed after .*503 UNAVAILABLE"):
        adapter.upsert_environment("production", "websocket-server", canary_revision="r2", stable_revision="r1")


def test_the_sandbox_refuses_what_google_refuses(cloud: SandboxCloud) -> None:
    base = f"{cloud.endpoints.dashboards_url}/v1/projects/{PROJECT}/dashboards"
    unknown = httpx.post(base, json={"displayName": "x", "mosaicLayout": {}, "colour": "red"})
    nameless = httpx.post(base, json={"mosaicLayout": {}})
    made = httpx.post(base, json={"displayName": "mine"}).json()
    stale = httpx.patch(f"{cloud.endpoints.dashboards_url}/v1/{made['name']}",
                        json={"displayName": "mine, renamed", "etag": "0" * 32})

    assert unknown.status_code == 400 and unknown.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert nameless.status_code == 400 and "displayName" in nameless.json()["error"]["message"]
    assert stale.status_code == 409 and stale.json()["error"]["status"] == "ABORTED"
    assert dash.Dashboard.from_json(httpx.get(f"{cloud.endpoints.dashboards_url}/v1/{made['name']}").text
                                    ).display_name == "mine"
