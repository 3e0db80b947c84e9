"""Cloud Run provider: the engine's view of a service (revisions, traffic, tags) over google-cloud-run v2.

Guard rails live here, not in the engine: a split must sum to 100 and give traffic only to ready
revisions of that service (refused before anything is sent); every update carries the etag read just
before, and an ABORTED/409 conflict means "someone else changed it": re-read, re-validate, retry,
never overwrite blindly. A 409 ALREADY_EXISTS is something else, and retrying cannot fix it: the body
named a revision (`template.revision`) that exists with another configuration. So only an update that
creates a revision names one; every other update clears the name it read back (the whole Service read,
name included, is what real Cloud Run refused in google-cloud-python#14259 and #11870 and
terraform-provider-google#14569). Tags survive unless the caller moves or removes them, so the stable
revision stays addressable while a canary runs.

google-cloud-run is imported inside the adapter's methods, so the value types and the Protocol here
cost nothing to import; by the time a method runs, the client it was built with has loaded it.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Mapping
from typing import TYPE_CHECKING

from core import ports
from core.model.service import EnvVar, ServiceSettings, ServiceState, TrafficStatus, value_digest
from core.ports import CloudRunProvider
from core.providers.cloudrun_iam import invoker_members
from core.providers.cloudrun_traffic import RevisionState, build_targets, merge_tags, revision_name, validate_split
from core.providers.google_retry import GoogleCallFailed, RetryPolicy, call_google, describe, server_message, status_of

if TYPE_CHECKING:
    from google.api_core.operation import Operation
    from google.cloud import run_v2

API = "Cloud Run"

__all__ = ["CloudRunAdapter", "CloudRunProvider", "RevisionFailed", "RevisionState", "ServiceState", "TrafficStatus"]


class RevisionFailed(ports.RevisionFailed, GoogleCallFailed):
    """A deployed revision did not become ready; `revision` holds its state (failed, with Cloud Run's message)."""

    def __init__(self, message: str, revision: RevisionState, resource: str) -> None:
        GoogleCallFailed.__init__(self, message, api=API, operation="deploying revision", resource=resource,
                                  status="FAILED_PRECONDITION")
        self.revision = revision


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _is_latest(target: run_v2.TrafficTarget | run_v2.TrafficTargetStatus) -> bool:
    """Whether the target follows the latest ready revision (rather than naming one)."""
    from google.cloud import run_v2

    return target.type_ == run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST


def _revision_state(rev: run_v2.Revision, tags: tuple[str, ...] = (), url: str = "",
                    percent: int = 0) -> RevisionState:
    from google.cloud import run_v2

    ready = next((c for c in rev.conditions if c.type_ == "Ready"), None)
    state = ready.state if ready is not None else None
    return RevisionState(
        name=_short(rev.name), ready=state == run_v2.Condition.State.CONDITION_SUCCEEDED,
        failed=state == run_v2.Condition.State.CONDITION_FAILED,
        message=ready.message if ready is not None else "",
        create_time=rev.create_time if rev.create_time else None,
        image=rev.containers[0].image if rev.containers else "", tags=tags, url=url, percent=percent,
        **_revision_env(rev))


def _revision_env(rev: run_v2.Revision) -> dict[str, dict[str, str]]:
    """The revision's own container environment (fixed when it was created, unlike the service's template):
    plain values, and Secret Manager references as secret@version."""
    plain: dict[str, str] = {}
    secret: dict[str, str] = {}
    for var in rev.containers[0].env if rev.containers else ():
        ref = var.value_source.secret_key_ref if "value_source" in var else None
        if ref is not None and ref.secret:
            secret[var.name] = f"{ref.secret}@{ref.version or 'latest'}"
        else:
            plain[var.name] = var.value
    return {"plain_env": plain, "secret_env": secret}


def _served_split(svc: run_v2.Service) -> dict[str, int]:
    split: dict[str, int] = {}
    for status in svc.traffic_statuses:
        revision = status.revision or _short(svc.latest_ready_revision)
        if status.percent and revision:
            split[revision] = split.get(revision, 0) + status.percent
    return split


def _settings(svc: run_v2.Service) -> ServiceSettings:
    """What the service's template configures: scaling, and its first container's environment (plain values as
    digests, secrets by reference)."""
    template = svc.template
    env: list[EnvVar] = []
    if template.containers:
        for var in template.containers[0].env:
            ref = var.value_source.secret_key_ref if "value_source" in var else None
            if ref is not None and ref.secret:
                env.append(EnvVar(var.name, secret=ref.secret, version=ref.version or "latest"))
            else:
                env.append(EnvVar(var.name, value_digest=value_digest(var.value)))
    return ServiceSettings(min_instances=int(template.scaling.min_instance_count),
                           max_instances=int(template.scaling.max_instance_count) or 100, env=tuple(sorted(env)))


def _configured_tags(svc: run_v2.Service) -> dict[str, str]:
    latest = _short(svc.latest_ready_revision)
    return {t.tag: (t.revision or latest) for t in svc.traffic if t.tag}


class CloudRunAdapter:
    """CloudRunProvider over the official ServicesClient and RevisionsClient of one project and region."""

    def __init__(self, client: run_v2.ServicesClient, revisions_client: run_v2.RevisionsClient, project: str,
                 region: str, *, policy: RetryPolicy | None = None, conflict_attempts: int = 5) -> None:
        self._services = client
        self._revisions = revisions_client
        self.project, self.region = project, region
        self._policy = policy or RetryPolicy()
        self._retry = self._policy.retry()
        self._conflict_attempts = conflict_attempts

    def resource(self, service: str) -> str:
        return f"projects/{self.project}/locations/{self.region}/services/{service}"

    # -- reads -------------------------------------------------------------------------------------

    def _read(self, service: str) -> tuple[run_v2.Service, dict[str, run_v2.Revision]]:
        resource = self.resource(service)
        svc = call_google(API, "reading service", resource, lambda: self._services.get_service(
            name=resource, retry=self._retry, timeout=self._policy.deadline))
        revs = call_google(API, "listing revisions of", resource, lambda: list(self._revisions.list_revisions(
            parent=resource, retry=self._retry, timeout=self._policy.deadline)))
        return svc, {_short(r.name): r for r in revs}

    @staticmethod
    def _state(svc: run_v2.Service, revisions: Mapping[str, run_v2.Revision]) -> ServiceState:
        from google.cloud import run_v2

        failed = svc.terminal_condition.state == run_v2.Condition.State.CONDITION_FAILED
        split = _served_split(svc)
        tags = _configured_tags(svc)
        tag_urls = {s.tag: s.uri for s in svc.traffic_statuses if s.tag}
        states = []
        for name, rev in revisions.items():
            own = tuple(sorted(t for t, r in tags.items() if r == name))
            url = next((tag_urls[t] for t in own if tag_urls.get(t)), "")
            states.append(_revision_state(rev, own, url, split.get(name, 0)))
        states.sort(key=lambda r: (r.create_time is not None, r.create_time), reverse=True)
        return ServiceState(
            name=_short(svc.name), resource=svc.name, uri=svc.uri, etag=svc.etag, generation=svc.generation,
            revisions=tuple(states), traffic=split, tags=tags,
            latest_ready_revision=_short(svc.latest_ready_revision),
            latest_created_revision=_short(svc.latest_created_revision), reconciling=svc.reconciling,
            failure=svc.terminal_condition.message if failed else "",
            traffic_statuses=tuple(
                TrafficStatus(revision=s.revision or _short(svc.latest_ready_revision), percent=s.percent,
                              tag=s.tag, uri=s.uri, latest=_is_latest(s))
                for s in svc.traffic_statuses),
            by_name={r.name: r for r in states}, settings=_settings(svc),
            ingress=svc.ingress.name if svc.ingress else "", invoker_iam_disabled=svc.invoker_iam_disabled)

    def get_service(self, service: str) -> ServiceState:
        return self._state(*self._read(service))

    def revision_ready(self, service: str, revision: str) -> bool:
        """True when the revision exists and its Ready condition succeeded (a missing revision is not ready)."""
        from google.api_core import exceptions as gexc

        name = f"{self.resource(service)}/revisions/{revision}"
        try:
            rev = call_google(API, "reading revision", name, lambda: self._revisions.get_revision(
                name=name, retry=self._retry, timeout=self._policy.deadline), passthrough=(gexc.NotFound,))
        except gexc.NotFound:
            return False
        return _revision_state(rev).ready

    def invokers(self, service: str) -> tuple[str, ...]:
        return invoker_members(self._services, self.resource(service), self._policy)

    # -- writes ------------------------------------------------------------------------------------

    def _send(self, svc: run_v2.Service, operation: str) -> Operation:
        """PATCH the service with its etag; an etag Conflict (ABORTED) propagates for the caller to re-read and
        retry, a named revision that exists with another configuration (ALREADY_EXISTS) is said at once."""
        from google.api_core import exceptions as gexc

        try:
            return call_google(API, operation, svc.name, lambda: self._services.update_service(
                service=svc, retry=self._retry, timeout=self._policy.deadline), passthrough=(gexc.Conflict,))
        except gexc.Conflict as exc:
            if status_of(exc)[1] != "ALREADY_EXISTS":
                raise
            named = svc.template.revision or "the revision this update names"
            raise GoogleCallFailed(f"{API}: {operation} {svc.name} failed: revision {named} already exists with a "
                                   f"different configuration ({describe(exc)}: {server_message(exc)}); deploy "
                                   "under a new revision name.", api=API, operation=operation, resource=svc.name,
                                   status="ALREADY_EXISTS") from None

    def _wait(self, lro: Operation, operation: str, resource: str) -> run_v2.Service:
        def result() -> run_v2.Service:
            try:
                service: run_v2.Service = lro.result(retry=self._retry, polling=self._policy.polling())
                return service
            except concurrent.futures.TimeoutError:
                raise GoogleCallFailed(f"{API}: {operation} {resource} did not finish within "
                                       f"{self._policy.operation_timeout:.0f} s.", api=API, operation=operation,
                                       resource=resource, status="DEADLINE_EXCEEDED") from None

        return call_google(API, operation, resource, result)

    def set_traffic(self, service: str, split: Mapping[str, int],
                    tags: Mapping[str, str | None] | None = None) -> ServiceState:
        """Serve `split` (revision -> percent, summing to 100) and apply tag changes (tag -> revision or None)."""
        from google.api_core import exceptions as gexc

        resource = self.resource(service)
        for _ in range(self._conflict_attempts):
            svc, revisions = self._read(service)
            state = self._state(svc, revisions)
            wanted = validate_split(resource, split, state.by_name)
            new_tags = merge_tags(resource, state.tags, tags, state.by_name)
            pinned = not any(_is_latest(t) for t in svc.traffic)
            served_tags = {s.tag: s.revision for s in svc.traffic_statuses if s.tag}
            if (pinned and not svc.reconciling and state.traffic == wanted and dict(state.tags) == new_tags
                    and served_tags == new_tags):
                return state  # already so: nothing to send (the engine's retried step is idempotent)
            svc.traffic = build_targets(wanted, new_tags)
            svc.template.revision = ""  # traffic only: naming the revision read back could only conflict
            try:
                lro = self._send(svc, "setting traffic on")
            except gexc.Conflict:
                continue
            self._wait(lro, "setting traffic on", resource)
            return self.get_service(service)
        raise self._conflicts("setting traffic on", resource)

    def deploy_revision(self, service: str, image: str, tag: str, *, revision: str | None = None,
                        wait: bool = True) -> RevisionState:
        """Create a revision of `image` with no traffic and tag `tag` (its own URL); wait until it is ready.

        The revision name is derived from tag and image unless given, so a retried deploy finds the
        revision it already created instead of making another (and returns its state as it is, without
        waiting). Raises RevisionFailed if the new revision never becomes ready.
        """
        from google.api_core import exceptions as gexc
        from google.cloud import run_v2

        resource = self.resource(service)
        name = revision or revision_name(service, tag, image)
        lro = None
        for _ in range(self._conflict_attempts):
            svc, revisions = self._read(service)
            existing = revisions.get(name)
            if existing is not None and _revision_state(existing).image == image:
                break  # a retried deploy: the revision is there already
            # A name taken by another image is sent anyway: Cloud Run's ALREADY_EXISTS says what is wrong.
            state = self._state(svc, revisions)
            tags = merge_tags(resource, state.tags, {}, state.by_name) | {tag: name}
            template = svc.template
            template.revision = name
            if template.containers:
                template.containers[0].image = image
            else:
                template.containers = [run_v2.Container(image=image)]
            # Pin today's split so the new revision gets no traffic (LATEST would hand it everything).
            svc.traffic = build_targets(state.traffic, tags)
            try:
                lro = self._send(svc, f"deploying revision {name} to")
            except gexc.Conflict:
                continue
            break
        else:
            raise self._conflicts(f"deploying revision {name} to", resource)
        if wait and lro is not None:
            try:
                lro.result(retry=self._retry, polling=self._policy.polling())
            except concurrent.futures.TimeoutError:
                raise GoogleCallFailed(f"{API}: revision {name} of {resource} was not ready within "
                                       f"{self._policy.operation_timeout:.0f} s.", api=API,
                                       operation="deploying revision", resource=resource,
                                       status="DEADLINE_EXCEEDED") from None
            except gexc.GoogleAPICallError as exc:
                rev = self._revision(service, name)
                if rev is not None and rev.failed:
                    raise RevisionFailed(f"{API}: revision {name} of {resource} did not become ready: "
                                         f"{rev.message or describe(exc)}", rev, resource) from None
                raise GoogleCallFailed(f"{API}: deploying revision {name} to {resource} failed: {describe(exc)} "
                                       f"({server_message(exc)}).",
                                       api=API, operation="deploying revision", resource=resource,
                                       status=describe(exc).split(" ")[-1]) from None
        rev = self._revision(service, name)
        assert rev is not None
        return rev

    def _revision(self, service: str, name: str) -> RevisionState | None:
        return self.get_service(service).revision(name)

    # -- recovery: scaling and regions ---------------------------------------------------------------

    def set_min_instances(self, service: str, count: int) -> ServiceState:
        """Keep at least `count` instances warm service-wide (Service.scaling); a no-op when already so.

        Service-level scaling is not part of the revision template, so this creates no revision and
        leaves the traffic split as it is: the count applies to the revisions serving now, divided by
        their traffic share. (template.scaling would make a new revision, which gets no traffic while
        the split is pinned to named revisions, so it would not warm the serving one.)
        """
        from google.api_core import exceptions as gexc

        resource = self.resource(service)
        operation = f"setting min instances to {count} on"
        for _ in range(self._conflict_attempts):
            svc, revisions = self._read(service)
            if svc.scaling.min_instance_count == count:
                return self._state(svc, revisions)
            svc.scaling.min_instance_count = count
            svc.template.revision = ""  # service-level scaling makes no revision (google-cloud-python#14259)
            try:
                lro = self._send(svc, operation)
            except gexc.Conflict:
                continue
            self._wait(lro, operation, resource)
            return self.get_service(service)
        raise self._conflicts(operation, resource)

    def min_instances(self, service: str) -> int:
        """The service-level minimum instance count (Service.scaling.min_instance_count)."""
        resource = self.resource(service)
        svc = call_google(API, "reading service", resource, lambda: self._services.get_service(
            name=resource, retry=self._retry, timeout=self._policy.deadline))
        return int(svc.scaling.min_instance_count)

    def exists(self, service: str) -> bool:
        from google.api_core import exceptions as gexc

        resource = self.resource(service)
        try:
            call_google(API, "reading service", resource, lambda: self._services.get_service(
                name=resource, retry=self._retry, timeout=self._policy.deadline), passthrough=(gexc.NotFound,))
        except gexc.NotFound:
            return False
        return True

    def serve_copy(self, service: str, image: str, source: CloudRunAdapter) -> None:
        """Make this region's `service` a copy of `source`'s (another region's) serving `image` at 100 %, and give
        it the same IAM policy; create it when missing. A no-op when it already is that copy.

        Does not wait for the revision: the caller polls `get_service` (a region failover checks readiness as its
        own step). What is copied and why: core/providers/cloudrun_failover.py.
        """
        from google.api_core import exceptions as gexc
        from google.iam.v1 import iam_policy_pb2  # type: ignore[import-untyped]  # no stubs ship with it

        from core.providers.cloudrun_failover import failover_copy, same_configuration

        primary = source.resource(service)
        original = call_google(API, "reading service", primary, lambda: source._services.get_service(
            name=primary, retry=source._retry, timeout=source._policy.deadline))
        wanted = failover_copy(original, image, self.region, source.region)
        resource = self.resource(service)
        if not self.exists(service):
            parent = resource.rsplit("/services/", 1)[0]
            call_google(API, f"creating service {service} in", parent, lambda: self._services.create_service(
                parent=parent, service=wanted, service_id=service, retry=self._retry, timeout=self._policy.deadline))
        else:
            for attempt in range(self._conflict_attempts + 1):
                if attempt == self._conflict_attempts:
                    raise self._conflicts(f"serving {image} on", resource)
                live, _revisions = self._read(service)
                if same_configuration(live, wanted):
                    break
                wanted.name, wanted.etag = live.name, live.etag
                try:
                    self._send(wanted, f"serving {image} on")
                except gexc.Conflict:
                    continue
                break
        policy = call_google(API, "reading the IAM policy of", primary, lambda: source._services.get_iam_policy(
            request=iam_policy_pb2.GetIamPolicyRequest(resource=primary)))
        policy.etag = b""  # a new policy for another resource, not a read-modify-write of this one
        call_google(API, "setting the IAM policy of", resource, lambda: self._services.set_iam_policy(
            request=iam_policy_pb2.SetIamPolicyRequest(resource=resource, policy=policy)))

    def _conflicts(self, operation: str, resource: str) -> GoogleCallFailed:
        return GoogleCallFailed(f"{API}: {operation} {resource} failed: the service kept changing underneath "
                                f"(etag conflict {self._conflict_attempts} times); read it again and retry.",
                                api=API, operation=operation, resource=resource, status="ABORTED")
