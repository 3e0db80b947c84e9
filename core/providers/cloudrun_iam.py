"""Who may invoke a Cloud Run service: the roles/run.invoker members of its IAM policy, read with getIamPolicy.

Through the official ServicesClient (google-cloud-run exposes `get_iam_policy` taking google.iam.v1's
GetIamPolicyRequest); a service nobody granted anything has Google's empty policy, so no invoker at all. A
public service is one whose invokers include allUsers (https://cloud.google.com/run/docs/authenticating/public).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.providers.google_retry import RetryPolicy, call_google

if TYPE_CHECKING:
    from google.cloud import run_v2

API = "Cloud Run"
INVOKER_ROLE = "roles/run.invoker"


def invoker_members(client: run_v2.ServicesClient, resource: str, policy: RetryPolicy) -> tuple[str, ...]:
    """The members bound to roles/run.invoker on `resource`, sorted (conditional bindings included)."""
    # A dict request: the client builds google.iam.v1's GetIamPolicyRequest from it (that module has no types).
    found = call_google(API, "reading the IAM policy of", resource, lambda: client.get_iam_policy(
        request={"resource": resource}, retry=policy.retry(), timeout=policy.deadline))
    return tuple(sorted({m for b in found.bindings if b.role == INVOKER_ROLE for m in b.members}))
