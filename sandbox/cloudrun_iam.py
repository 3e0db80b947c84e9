"""IAM on the sandbox's Cloud Run services: getIamPolicy, setIamPolicy (etag checked), testIamPermissions.

The shapes are google.iam.v1's as the REST surface carries them (`v2/{resource}:getIamPolicy` and friends in
google-cloud-run's rest_base.py): a Policy is {"version", "etag" (bytes, base64 in JSON), "bindings": [{"role",
"members"}]}. A resource nobody set a policy on answers {"etag": "ACAB"}, Google's empty policy. A setIamPolicy
whose etag no longer matches is ABORTED with Google's words for it (the read-modify-write the IAM documentation
asks for: https://cloud.google.com/iam/docs/policies#etag); one without an etag overwrites. The caller's own
permissions are a setting: a method the caller may not call answers PERMISSION_DENIED the way Cloud Run does
("Permission 'run.services.get' denied on resource '...' (or resource may not exist).", as
google-github-actions/deploy-cloudrun#427 and #182 quote it).
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.cloudrun_model import ApiError

EMPTY_ETAG = "ACAB"  # base64 of b"\x00\x20\x01": what Google returns for a resource without a policy
CONCURRENT_CHANGE = ("There were concurrent policy changes. Please retry the whole read-modify-write with "
                     "exponential backoff.")
# What each RPC needs, as Cloud Run's IAM permissions name it (https://cloud.google.com/run/docs/reference/iam/roles).
REQUIRED = {
    "GetService": "run.services.get", "ListServices": "run.services.list", "CreateService": "run.services.create",
    "UpdateService": "run.services.update", "GetRevision": "run.revisions.get",
    "ListRevisions": "run.revisions.list", "GetOperation": "run.operations.get",
    "ListOperations": "run.operations.list", "WaitOperation": "run.operations.get",
    "GetIamPolicy": "run.services.getIamPolicy", "SetIamPolicy": "run.services.setIamPolicy",
}
ALL_PERMISSIONS = frozenset(REQUIRED.values())
_PERMISSION = re.compile(r"^[a-z]+\.[a-zA-Z]+\.[a-zA-Z]+$")
_MEMBER = re.compile(r"^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|principal|principalSet)"
                     r":.+)$")


def denied(permission: str, resource: str) -> ApiError:
    return ApiError("PERMISSION_DENIED", f"Permission '{permission}' denied on resource '{resource}' "
                                         "(or resource may not exist).")


@dataclass
class IamPolicies:
    """Policies by resource name; `caller` is what the sandbox's caller may do (all of Cloud Run by default)."""

    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    caller: set[str] = field(default_factory=lambda: set(ALL_PERMISSIONS))
    seq: int = 0

    def check(self, method: str, resource: str) -> None:
        """PERMISSION_DENIED when the caller lacks what `method` needs on `resource`."""
        needed = REQUIRED.get(method)
        if needed is not None and needed not in self.caller:
            raise denied(needed, resource)

    def get(self, resource: str) -> dict[str, Any]:
        policy = self.policies.get(resource)
        return dict(policy) if policy else {"etag": EMPTY_ETAG}

    def set(self, resource: str, body: Any) -> dict[str, Any]:
        policy = body.get("policy") if isinstance(body, dict) else None
        if not isinstance(policy, dict):
            raise ApiError("INVALID_ARGUMENT", "The request body must carry a policy (setIamPolicy's `policy`).")
        etag = policy.get("etag")
        if etag and etag != self.get(resource)["etag"]:
            raise ApiError("ABORTED", CONCURRENT_CHANGE)
        bindings = _bindings(policy.get("bindings") or [])
        self.seq += 1
        new_etag = base64.b64encode(hashlib.sha256(f"{resource}/{self.seq}".encode()).digest()[:8]).decode()
        stored: dict[str, Any] = {"version": int(policy.get("version") or 1), "etag": new_etag}
        if bindings:
            stored["bindings"] = bindings
        self.policies[resource] = stored
        return dict(stored)

    def test(self, body: Any) -> dict[str, Any]:
        asked = body.get("permissions") if isinstance(body, dict) else None
        if not isinstance(asked, list) or not all(isinstance(p, str) for p in asked):
            raise ApiError("INVALID_ARGUMENT", "permissions must be a list of permission names.")
        for permission in asked:
            if not _PERMISSION.match(permission):
                raise ApiError("INVALID_ARGUMENT", f"Permission {permission} is not valid.")
        granted = [p for p in asked if p in self.caller]
        return {"permissions": granted} if granted else {}

    def to_dict(self) -> dict[str, Any]:
        return {"policies": {k: dict(v) for k, v in self.policies.items()}, "caller": sorted(self.caller),
                "seq": self.seq}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IamPolicies:
        return cls(policies={k: dict(v) for k, v in data.get("policies", {}).items()},
                   caller=set(data.get("caller", ALL_PERMISSIONS)), seq=int(data.get("seq", 0)))


def _bindings(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise ApiError("INVALID_ARGUMENT", "policy.bindings must be a list.")
    out = []
    for i, binding in enumerate(raw):
        role = binding.get("role") if isinstance(binding, dict) else None
        if not isinstance(role, str) or not role.startswith("roles/"):
            raise ApiError("INVALID_ARGUMENT", f"policy.bindings[{i}].role must name a role (roles/...).")
        members = binding.get("members") or []
        for member in members:
            if not isinstance(member, str) or not _MEMBER.match(member):
                raise ApiError("INVALID_ARGUMENT", f"Invalid member {member!r} in policy.bindings[{i}]; members "
                                                   "look like user:EMAIL, serviceAccount:EMAIL, group:EMAIL, "
                                                   "domain:DOMAIN, allUsers or allAuthenticatedUsers.")
        out.append({"role": role, "members": list(members)})
    return out
