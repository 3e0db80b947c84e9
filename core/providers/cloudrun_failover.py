"""The failover region's copy of a Cloud Run service: the primary's whole configuration, serving one image.

A region failover must serve users the way the primary did, so the copy takes everything the primary's
Service says, not only its image: the revision template (containers with their environment variables and
Secret Manager references, ports, resources and probes; the service account; scaling; timeout and
concurrency; session affinity; the network path), the service-level scaling and ingress, labels, and the
IAM policy (who may invoke it: `allUsers` for a public WebSocket server, or the members Terraform gave
`roles/run.invoker`).

Regional references are moved to the failover region, as Cloud Run requires them in the service's own
region: a Serverless VPC Access connector (`projects/P/locations/R/connectors/C`) and a Direct VPC egress
subnetwork given as a path (`projects/P/regions/R/subnetworks/S`). A subnetwork given by name is looked up
in the service's region, so the network module creates a subnetwork of the same name in the failover
region (infrastructure/modules/network). Cloud Run's references: "Direct VPC egress" and "Serverless VPC
Access connectors" must be in the same region as the service
(https://cloud.google.com/run/docs/configuring/vpc-direct-vpc, .../vpc-connectors).

What is left as it is, because it names something that exists once per project (secrets, the service
account, the image in Artifact Registry) or cannot be moved by renaming (a CMEK key, a Cloud SQL
instance): Secret Manager and IAM are global; a regional key or instance is the Terraform's to provide.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the Google clients load when a client is built (tests/test_startup_imports.py)
    from google.cloud import run_v2

FAILOVER_LABEL = "opsconsole-failover-of"
"""Label on the copy naming the primary region it stands in for (labels: lowercase, digits and dashes)."""

_REGIONAL = re.compile(r"^(projects/[^/]+/(?:locations|regions)/)([^/]+)(/.+)$")


def in_region(path: str, region: str) -> str:
    """A regional resource path moved to `region`; a bare name (looked up in the service's region) as it is."""
    match = _REGIONAL.match(path)
    return f"{match.group(1)}{region}{match.group(3)}" if match else path


def failover_copy(source: run_v2.Service, image: str, region: str, primary_region: str) -> run_v2.Service:
    """The Service to create (or update to) in `region`: `source`'s configuration serving `image` at 100 %.

    Output-only fields (name, uid, generation, etag, status) are not copied; the template's revision name is
    cleared, since a revision name exists once per service and the copy makes its own.
    """
    from google.cloud import run_v2

    body = run_v2.Service(
        description=source.description,
        labels={**source.labels, FAILOVER_LABEL: primary_region},
        annotations={k: v for k, v in source.annotations.items() if not k.startswith("run.googleapis.com/")},
        client=source.client, client_version=source.client_version,
        ingress=source.ingress, launch_stage=source.launch_stage,
        binary_authorization=source.binary_authorization,
        template=source.template, scaling=source.scaling,
        invoker_iam_disabled=source.invoker_iam_disabled,
        custom_audiences=list(source.custom_audiences),
        default_uri_disabled=source.default_uri_disabled,
        traffic=[run_v2.TrafficTarget(type_=run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST,
                                      percent=100)],
    )
    body.template.revision = ""
    if body.template.containers:
        body.template.containers[0].image = image
    else:
        body.template.containers.append(run_v2.Container(image=image))
    vpc = body.template.vpc_access
    if vpc.connector:
        vpc.connector = in_region(vpc.connector, region)
    for interface in vpc.network_interfaces:
        if interface.subnetwork:
            interface.subnetwork = in_region(interface.subnetwork, region)
    return body


def same_configuration(live: run_v2.Service, wanted: run_v2.Service) -> bool:
    """Whether the copy in the failover region already is `wanted` (so serving it again changes nothing)."""
    from google.cloud import run_v2

    def settled(svc: run_v2.Service) -> tuple[object, ...]:
        template = run_v2.RevisionTemplate(svc.template)
        template.revision = ""
        latest = all(t.type_ == run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
                     for t in svc.traffic)
        return (run_v2.RevisionTemplate.to_json(template, sort_keys=True), run_v2.ServiceScaling.to_json(svc.scaling),
                int(svc.ingress), latest)

    return settled(live) == settled(wanted)
