"""What stands between a Cloud Run revision and its container: the registry's answer for its image, and the quota.

Cloud Run accepts an update whose image cannot be pulled and fails the revision afterwards: the long-running
operation ends with code 13 and the message below, word for word as Google writes it (terraform-provider-google
users quote them from `google_cloud_run_v2_service`: "Error code 13, message: Revision 'hello-00001-b5g' is not
ready and cannot serve traffic. Image '...' not found." and "Error code 13, message: Google Cloud Run Service
Agent service-...@serverless-robot-prod.iam.gserviceaccount.com must have permission to read the image, ...",
terraform-google-modules/terraform-docs-samples#606). A quota is refused at once, before any operation, with
INVALID_ARGUMENT on the max-instances setting and the violated quota (googlecodelabs/feedback#1856 and #2311,
firebase/firebase-tools#5867 quote it). Everything here is a setting of the sandbox (tests and scenarios set it);
an image it was told nothing about pulls fine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sandbox.cloudrun_model import ApiError

PULL_FAILURES = ("missing", "forbidden")
PULL_SECONDS = 3.0  # how long a failing pull takes before the revision is marked failed (sandbox seconds)
OPERATION_CODE = 13  # google.rpc.Code INTERNAL: what the operation's error carries for both pull failures
CPU_PER_INSTANCE_MILLI = 1000  # the template the sandbox renders asks for cpu 1000m


def project_number(project: str) -> str:
    """A stable 12-digit project number for a project id (Google's service agents are named by number)."""
    return str(int(hashlib.sha256(project.encode()).hexdigest(), 16) % 900_000_000_000 + 100_000_000_000)


def pull_failure(kind: str, revision: str, image: str, project: str) -> tuple[str, str]:
    """(message, Condition.CommonReason) of a revision whose image could not be pulled."""
    if kind == "missing":
        return (f"Revision '{revision}' is not ready and cannot serve traffic. Image '{image}' not found.",
                "CONTAINER_MISSING")
    return (f"Google Cloud Run Service Agent service-{project_number(project)}@serverless-robot-prod.iam."
            f"gserviceaccount.com must have permission to read the image, {image}. Ensure that the provided "
            "container image URL is correct and that the above account has permission to access the image. If you "
            "just enabled the Cloud Run API, the permissions might take a few minutes to propagate.",
            "CONTAINER_PERMISSION_DENIED")


@dataclass
class PullSettings:
    """Images the registry refuses (image -> "missing" or "forbidden"), and the region's CPU quota in instances."""

    images: dict[str, str] = field(default_factory=dict)
    max_instances_quota: int | None = None  # None: no quota stands in the way

    def refuse(self, image: str, kind: str) -> None:
        if kind not in PULL_FAILURES:
            raise ValueError(f"unknown pull failure {kind!r}; known: {', '.join(PULL_FAILURES)}")
        self.images[image] = kind

    def check_quota(self, max_instances: int) -> None:
        """INVALID_ARGUMENT, in Google's words, when the template's max instances need more CPU than the quota."""
        allowed = self.max_instances_quota
        if allowed is None or max_instances <= allowed:
            return
        raise ApiError("INVALID_ARGUMENT",
                       "spec.template.metadata.annotations[autoscaling.knative.dev/maxScale]: Max instances must be "
                       f"set to {allowed} or fewer to set the requested total CPU.\nConsider running your workload in "
                       "a region with greater capacity, or requesting an increase in quota for this region if you are "
                       "seeing sustained usage near this limit, see https://cloud.google.com/run/quotas.\n\n"
                       f"Quota violated:\nCpuAllocPerProjectRegion requested: {max_instances * CPU_PER_INSTANCE_MILLI} "
                       f"allowed: {allowed * CPU_PER_INSTANCE_MILLI}")

    def to_dict(self) -> dict[str, Any]:
        return {"images": dict(self.images), "max_instances_quota": self.max_instances_quota}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PullSettings:
        return cls(images=dict(data.get("images", {})), max_instances_quota=data.get("max_instances_quota"))
