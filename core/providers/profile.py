"""Profiles: where the providers connect and with which credentials. Sandbox and gcp differ in nothing else.

Transports, one per API and the same in both profiles, so the sandbox exercises the production path:
- Cloud Run Admin API v2 over REST (google-cloud-run's `transport="rest"`): plain HTTPS+JSON that the
  sandbox serves with aiohttp, and no gRPC channel to keep per region.
- Cloud Monitoring v3 over gRPC: google-cloud-monitoring has no REST transport. Against the sandbox
  the channel is insecure (loopback); against Google it is the client's default TLS channel with ADC.

The client libraries are imported by `google_clients`, when the clients are built: `Endpoints` is read
by the sandbox and the CLI, and google.cloud.run_v2's package alone loads about 750 modules (all of
Cloud Run's clients, sync and async, and aiohttp through google.auth's async transport).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from core.errors import BadInput

if TYPE_CHECKING:
    from google.cloud.monitoring_v3 import MetricServiceClient
    from google.cloud.run_v2 import RevisionsClient, ServicesClient

CredentialsMode = Literal["anonymous", "adc"]
CLOUDRUN_DEFAULT = "https://run.googleapis.com"
MONITORING_DEFAULT = "monitoring.googleapis.com:443"


@dataclass(frozen=True)
class Endpoints:
    """Base addresses of every outside service the console talks to, and how to authenticate to Google."""

    cloudrun_url: str
    monitoring_target: str  # host:port of the gRPC MetricService
    vercel_url: str
    slack_url: str  # the sandbox's webhook sink; in gcp the webhook is a secret reference from the config
    pagerduty_url: str  # Events API v2 base address
    credentials: CredentialsMode
    control_url: str = ""  # the sandbox's control API; empty outside the sandbox
    secretmanager_url: str = ""  # Secret Manager v1 REST base address (sm:// references)
    redis_url: str = ""  # Memorystore for Redis REST base; empty means Google's default endpoint
    dashboards_url: str = ""  # Cloud Monitoring Dashboards v1 REST base; empty means Google's default endpoint
    loadtester_url: str = ""  # Flagger's loadtester webhook (POST /); outside the sandbox it comes from configuration
    # Where `*.vercel.app` pages are served: the sandbox's edge (sandbox/vercel_pages.py); empty means the Internet
    vercel_pages_url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Endpoints:
        try:
            return cls(**data)
        except TypeError as exc:
            raise BadInput(f"Endpoints are malformed: {exc}.") from None


GCP_ENDPOINTS = Endpoints(
    cloudrun_url=CLOUDRUN_DEFAULT,
    monitoring_target=MONITORING_DEFAULT,
    vercel_url="https://api.vercel.com",
    slack_url="",
    pagerduty_url="https://events.pagerduty.com",
    credentials="adc",
    secretmanager_url="https://secretmanager.googleapis.com",
    dashboards_url="https://monitoring.googleapis.com",
)


@dataclass
class GoogleClients:
    """The official clients, built for one profile."""

    services: ServicesClient
    revisions: RevisionsClient
    metrics: MetricServiceClient

    def close(self) -> None:
        self.services.transport.close()
        self.revisions.transport.close()
        self.metrics.transport.close()


def google_clients(endpoints: Endpoints) -> GoogleClients:
    """Cloud Run (REST) and Monitoring (gRPC) clients for the endpoints' addresses and credentials."""
    import grpc
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import monitoring_v3, run_v2
    from google.cloud.monitoring_v3.services.metric_service.transports import MetricServiceGrpcTransport

    if endpoints.credentials == "anonymous":
        creds = AnonymousCredentials()
        options = {"api_endpoint": endpoints.cloudrun_url}
        channel = grpc.insecure_channel(endpoints.monitoring_target)
        metrics = monitoring_v3.MetricServiceClient(transport=MetricServiceGrpcTransport(channel=channel))
    elif endpoints.credentials == "adc":
        creds = None  # Application Default Credentials, resolved by the clients
        options = {} if endpoints.cloudrun_url == CLOUDRUN_DEFAULT else {"api_endpoint": endpoints.cloudrun_url}
        monitoring_options = ({} if endpoints.monitoring_target == MONITORING_DEFAULT
                              else {"api_endpoint": endpoints.monitoring_target})
        metrics = monitoring_v3.MetricServiceClient(client_options=monitoring_options)
    else:
        raise BadInput(f"Unknown credentials mode {endpoints.credentials!r}; use 'anonymous' or 'adc'.")
    return GoogleClients(
        services=run_v2.ServicesClient(transport="rest", credentials=creds, client_options=options),
        revisions=run_v2.RevisionsClient(transport="rest", credentials=creds, client_options=options),
        metrics=metrics,
    )
