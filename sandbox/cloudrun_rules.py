"""Cloud Run's checks on an update, as the real API makes them: revision names, and the traffic split.

Pure functions of a service, its revisions and the update, asked by cloudrun_state before anything changes, so
a refused update (or a validate-only one) leaves no trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sandbox.cloudrun_model import ApiError, Revision, Service, ServiceUpdate, Target
from sandbox.cloudrun_settings import template_changed

TAG = re.compile(r"^[a-z]([-a-z0-9]{0,44}[a-z0-9])?$")
NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
NOT_READY_MESSAGE = (
    "Revision '{revision}' is not ready and cannot serve traffic. The user-provided container failed "
    "to start and listen on the port defined provided by the PORT=8080 environment variable within "
    "the allocated timeout."
)


def new_revision_name(svc: Service, revisions: Mapping[str, Revision], update: ServiceUpdate) -> str | None:
    """The revision this update creates ("" = generated name), or None when the template is unchanged.

    The template is the image and its scaling: changing either makes a new revision, as on Cloud Run.
    """
    name = update.template_revision
    min_changed = update.template_min_instances not in (None, svc.template_min_instances)
    # Max instances and the environment are template too (a missing one is the default, as in a PATCH).
    min_changed = min_changed or (update.max_instances or 100) != svc.template_max_instances \
        or (update.env or []) != svc.env or template_changed(svc.settings, update.settings, svc.project)
    if name:
        if not name.startswith(svc.name + "-") or not NAME.match(name):
            raise ApiError("INVALID_ARGUMENT", f"Revision name '{name}' must start with '{svc.name}-' "
                                               "and be a lowercase DNS label of at most 63 characters.")
        existing = revisions.get(f"{svc.full_name}/revisions/{name}")
        if existing is not None:
            # Naming an existing revision is allowed only for a body that would make that same revision.
            # Google counts a service-level scaling change as a different configuration too: the update in
            # google-cloud-python#14259 changed only scaling.minInstanceCount and got this 409.
            if (update.image not in (None, existing.image)
                    or update.template_min_instances not in (None, existing.min_instances)
                    or (update.max_instances or 100) != existing.max_instances
                    or (update.env or []) != existing.env
                    or template_changed(svc.settings, update.settings, svc.project)
                    or update.min_instances not in (None, svc.min_instances)):
                raise ApiError("ALREADY_EXISTS", f"Revision named '{name}' with different "
                                                 "configuration already exists.")
            return None
        if not update.image:
            raise ApiError("INVALID_ARGUMENT", "template.containers[0].image is required.")
        return name
    if (update.image and update.image != svc.image) or min_changed:
        return ""
    return None

def validate_traffic(svc: Service, revisions: Mapping[str, Revision], traffic: list[Target], new_rev: str | None,
                     now: float) -> None:
    total, tags = 0, set()
    for i, t in enumerate(traffic):
        where = f"spec.traffic[{i}]"
        if not 0 <= t.percent <= 100:
            raise ApiError("INVALID_ARGUMENT", f"{where}.percent must be between 0 and 100, got {t.percent}.")
        total += t.percent
        if t.tag:
            if not TAG.match(t.tag):
                raise ApiError("INVALID_ARGUMENT", f"{where}.tag '{t.tag}' is not a valid DNS label.")
            if t.tag in tags:
                raise ApiError("INVALID_ARGUMENT", f"{where}.tag '{t.tag}' is used more than once.")
            tags.add(t.tag)
        if t.type == "LATEST":
            if t.revision:
                raise ApiError("INVALID_ARGUMENT", f"{where} of type LATEST must not name a revision.")
            if t.percent and new_rev is None and not svc.latest_ready:
                raise ApiError("FAILED_PRECONDITION", f"{where}: there is no ready revision to send traffic to.")
            continue
        if t.type != "REVISION" or not t.revision:
            raise ApiError("INVALID_ARGUMENT", f"{where} must be of type REVISION with a revision name, "
                                               "or of type LATEST.")
        if new_rev and t.revision == new_rev:
            continue
        rev = revisions.get(f"{svc.full_name}/revisions/{t.revision}")
        if rev is None:
            raise ApiError("INVALID_ARGUMENT", f"{where} names revision '{t.revision}', which does not "
                                               f"exist in service '{svc.name}'.")
        if t.percent and rev.phase(now) != "ready":
            raise ApiError("FAILED_PRECONDITION", NOT_READY_MESSAGE.format(revision=t.revision))
    if traffic and total != 100:
        raise ApiError("INVALID_ARGUMENT", f"spec.traffic percents sum to {total}, they must sum to 100.")
