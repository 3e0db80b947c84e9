"""The sandbox's Cloud Run control plane: services, revisions, traffic and long-running operations.

Nothing runs on a timer. Readiness is a function of the sandbox clock (a revision is ready at
`ready_at`, failed at `failed_at`), and every read first settles the rollouts whose time has come,
at the time they came, so the split history and the operations are exactly what they would be had
someone watched all along. Validation follows the real API: a split must sum to 100, name existing
revisions, and give traffic only to ready ones; a mismatched etag is ABORTED.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import random
import string
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sandbox.cloudrun_iam import IamPolicies
from sandbox.cloudrun_model import ApiError, Operation, Revision, Service, ServiceUpdate, Target
from sandbox.cloudrun_pull import OPERATION_CODE, PULL_SECONDS, PullSettings, pull_failure
from sandbox.cloudrun_rules import NAME, NOT_READY_MESSAGE, new_revision_name, validate_traffic
from sandbox.oauth_token import TokenIssuer
from sandbox.scenario import RevisionBehaviour

__all__ = ["ApiError", "CloudRunState", "Operation", "Revision", "Service", "ServiceUpdate", "Target"]

SCHEMA_VERSION = 1
GRPC_CODES = {"FAILED_PRECONDITION": 9, "ABORTED": 10}


class CloudRunState:
    """All services, revisions and operations of the sandbox; thread-safe; persisted with to_dict/from_dict."""

    def __init__(self, clock: Callable[[], float], behaviour: Callable[[], RevisionBehaviour],
                 seed: int = 0) -> None:
        self.clock = clock
        self.behaviour = behaviour
        self.lock = threading.RLock()
        self.services: dict[str, Service] = {}
        self.revisions: dict[str, Revision] = {}  # by full revision name
        self.operations: dict[str, Operation] = {}
        self._rng = random.Random(seed)
        self._seq = 0
        self.listeners: list[Callable[[], None]] = []
        self.pull = PullSettings()  # images the registry refuses, and the CPU quota
        self.iam = IamPolicies()  # each service's IAM policy, and what the caller may do
        self.tokens = TokenIssuer()  # the OAuth stand-in's tokens (not persisted: a restart forgets them)

    # -- reading -----------------------------------------------------------------------------------

    def service(self, full_name: str) -> Service:
        with self.lock:
            self.settle()
            svc = self.services.get(full_name)
            if svc is None:
                raise ApiError("NOT_FOUND", f"Resource '{full_name}' was not found.")
            return svc

    def list_services(self, parent: str) -> list[Service]:
        with self.lock:
            self.settle()
            return [s for n, s in sorted(self.services.items()) if n.startswith(parent + "/services/")]

    def list_revisions(self, service_full: str) -> list[Revision]:
        with self.lock:
            self.service(service_full)
            revs = [r for r in self.revisions.values() if r.service == service_full]
            return sorted(revs, key=lambda r: (r.created_at, r.generation), reverse=True)

    def revision(self, full_name: str) -> Revision:
        with self.lock:
            self.settle()
            rev = self.revisions.get(full_name)
            if rev is None:
                raise ApiError("NOT_FOUND", f"Resource '{full_name}' was not found.")
            return rev

    def operation(self, name: str) -> Operation:
        with self.lock:
            self.settle()
            op = self.operations.get(name)
            if op is None:
                raise ApiError("NOT_FOUND", f"Operation '{name}' was not found.")
            return op

    def list_operations(self, parent: str) -> list[Operation]:
        """The location's operations, newest first (validate-only answers are never kept, so never listed)."""
        with self.lock:
            self.settle()
            ops = [o for o in self.operations.values() if o.name.startswith(parent + "/operations/")]
            return sorted(ops, key=lambda o: (o.created_at, o.name), reverse=True)

    def history(self, service_full: str) -> list[tuple[float, dict[str, int]]]:
        with self.lock:
            self.settle()
            svc = self.services.get(service_full)
            return list(svc.split_history) if svc else []

    # -- time --------------------------------------------------------------------------------------

    def settle(self) -> None:
        """Finish, at the time they finished, the rollouts whose revision became ready or failed."""
        now = self.clock()
        with self.lock:
            for svc in self.services.values():
                if not svc.rollout:
                    continue
                op = self.operations[svc.rollout]
                rev = self.revisions[f"{svc.full_name}/revisions/{op.revision}"]
                phase = rev.phase(now)
                if phase == "ready":
                    assert rev.ready_at is not None
                    svc.latest_ready = rev.name
                    svc.failure = ""
                    self._route(svc, rev.ready_at)
                    op.done_at = rev.ready_at
                elif phase == "failed":
                    svc.failure = rev.failure or NOT_READY_MESSAGE.format(revision=rev.name)
                    op.done_at = rev.failed_at
                    op.error_code = OPERATION_CODE if rev.failure else GRPC_CODES["FAILED_PRECONDITION"]
                    op.error_message = svc.failure
                else:
                    continue
                svc.observed_generation = svc.generation
                svc.rollout = ""

    def _route(self, svc: Service, at: float) -> None:
        """Make the traffic spec the serving split from `at` on, resolving LATEST to the latest ready revision."""
        serving = [Target(t.type, t.revision or svc.latest_ready, t.percent, t.tag) for t in svc.traffic]
        svc.serving = serving
        split: dict[str, int] = {}
        for t in serving:
            if t.percent:
                split[t.revision] = split.get(t.revision, 0) + t.percent
        if not svc.split_history or svc.split_history[-1][1] != split:
            svc.split_history.append((at, split))

    # -- writing -----------------------------------------------------------------------------------

    def seed_service(self, project: str, location: str, name: str, image: str, created_at: float,
                     env: list[dict[str, str]] | None = None) -> Service:
        """A service with one ready revision serving 100 % since `created_at`, invokable by allUsers as
        infrastructure/modules/websocket-server leaves it (its `public`, true by default), with `env`."""
        with self.lock:
            svc = Service(project=project, location=location, name=name, uid=self._uid(), created_at=created_at,
                          updated_at=created_at, image=image, template_revision="", env=list(env or []))
            self.services[svc.full_name] = svc
            rev = self._new_revision(svc, "", image, created_at, RevisionBehaviour(), ready_at=created_at,
                                     env=list(svc.env))
            svc.latest_created = svc.latest_ready = rev.name
            svc.traffic = [Target("LATEST", "", 100)]
            self._route(svc, created_at)
            svc.etag = self._etag(svc)
            self.iam.set(svc.full_name, {"policy": {"bindings": [{"role": "roles/run.invoker",
                                                                  "members": ["allUsers"]}]}})
        self._changed()
        return svc

    def _blank(self, parent: str, service_id: str, update: ServiceUpdate) -> Service:
        """The record a CreateService starts from, once the id and the body pass Google's checks."""
        full = f"{parent}/services/{service_id}"
        if not NAME.match(service_id):
            raise ApiError("INVALID_ARGUMENT", f"Service id '{service_id}' is not a valid name.")
        if full in self.services:
            raise ApiError("ALREADY_EXISTS", f"Resource '{full}' already exists.")
        if not update.image:
            raise ApiError("INVALID_ARGUMENT", "template.containers[0].image is required.")
        parts = parent.split("/")
        now = self.clock()
        update.traffic = update.traffic or [Target("LATEST", "", 100)]
        update.etag = ""
        return Service(project=parts[1], location=parts[3], name=service_id, uid=self._uid(), created_at=now,
                       updated_at=now, image="", template_revision="", generation=0)

    def create_service(self, parent: str, service_id: str, update: ServiceUpdate) -> Operation:
        with self.lock:
            svc = self._blank(parent, service_id, update)
            self.services[svc.full_name] = svc
            try:
                op = self._apply(svc, update, svc.created_at)
            except ApiError:
                del self.services[svc.full_name]
                raise
        self._changed()
        return op

    def update_service(self, full_name: str, update: ServiceUpdate) -> Operation:
        with self.lock:
            svc = self.service(full_name)
            if update.etag and update.etag != svc.etag:
                raise ApiError("ABORTED", f"The etag '{update.etag}' of '{full_name}' is stale; "
                                          "read the service again and retry.")
            op = self._apply(svc, update, self.clock())
        self._changed()
        return op

    def set_iam_policy(self, full_name: str, body: object) -> dict[str, object]:
        with self.lock:
            policy = self.iam.set(self.service(full_name).full_name, body)
        self._changed()
        return policy

    def concurrent_write(self, full_name: str) -> None:
        """Another writer touched the service (fault injection's etag conflict): new generation and etag."""
        with self.lock:
            svc = self.service(full_name)
            svc.annotations["sandbox.opsconsole/concurrent-writes"] = str(
                int(svc.annotations.get("sandbox.opsconsole/concurrent-writes", "0")) + 1)
            svc.generation += 1
            svc.observed_generation = svc.generation if not svc.rollout else svc.observed_generation
            svc.updated_at = self.clock()
            svc.etag = self._etag(svc)
        self._changed()

    def _check(self, svc: Service, update: ServiceUpdate, now: float) -> tuple[str | None, list[Target]]:
        """The revision the update creates (None: none) and the traffic it asks for, or the ApiError refusing it."""
        new_rev_name = new_revision_name(svc, self.revisions, update)
        traffic = update.traffic if update.traffic is not None else svc.traffic
        validate_traffic(svc, self.revisions, traffic, new_rev_name, now)
        if new_rev_name is not None:
            self.pull.check_quota(update.max_instances or 100)
        return new_rev_name, traffic

    @staticmethod
    def _assign(svc: Service, update: ServiceUpdate, traffic: list[Target], new_rev_name: str | None,
                now: float) -> None:
        """The update's fields on the service record (no revision is made here)."""
        svc.generation += 1
        svc.updated_at = now
        svc.traffic = [Target(t.type, t.revision, t.percent, t.tag) for t in traffic]
        if update.labels is not None:
            svc.labels = dict(update.labels)
        if update.annotations is not None:
            svc.annotations = dict(update.annotations)
        # Service-level scaling is not part of the template: it changes no revision, only how many
        # instances the serving ones keep warm (Cloud Run divides it by their traffic share).
        if update.min_instances is not None and update.min_instances != svc.min_instances:
            svc.min_instances, svc.min_instances_set_at = update.min_instances, now
        if update.settings is not None:  # the service part (ingress...) changes no revision; the rest only with one
            kept = {"service": dict(update.settings.get("service", {}))}
            if new_rev_name is not None:
                kept |= {k: dict(update.settings.get(k, {})) for k in ("template", "container")}
            else:
                kept |= {k: svc.settings.get(k, {}) for k in ("template", "container")}
            svc.settings = kept
        if new_rev_name is not None:
            svc.image = update.image or svc.image
            svc.template_revision = update.template_revision
            if update.template_min_instances is not None:
                svc.template_min_instances = update.template_min_instances
            svc.template_max_instances = update.max_instances or 100
            svc.env = [dict(v) for v in update.env or []]

    def _apply(self, svc: Service, update: ServiceUpdate, now: float) -> Operation:
        new_rev_name, traffic = self._check(svc, update, now)
        op = Operation(name=f"projects/{svc.project}/locations/{svc.location}/operations/{self._uid()}",
                       service=svc.full_name, created_at=now)
        if svc.rollout:  # a newer update supersedes the one still waiting for its revision
            old = self.operations[svc.rollout]
            old.done_at, old.error_code = now, GRPC_CODES["ABORTED"]
            old.error_message = "The operation was superseded by a newer update of the service."
            svc.rollout = ""
        self._assign(svc, update, traffic, new_rev_name, now)
        if new_rev_name is not None:
            rev = self._new_revision(svc, new_rev_name, svc.image, now, self.behaviour(),
                                     max_instances=svc.template_max_instances,
                                     min_instances=svc.template_min_instances, env=svc.env)
            svc.latest_created = rev.name
            op.revision = rev.name
            svc.rollout = op.name
        else:
            svc.observed_generation = svc.generation
            self._route(svc, now)
            op.done_at = now
        svc.etag = self._etag(svc)
        self.operations[op.name] = op
        return op

    def preview_update(self, full_name: str, update: ServiceUpdate) -> Service:
        """validate_only: the service as the update would leave it, checked like a real update; nothing changes.

        UpdateServiceRequest.validate_only "Indicates that the request should be validated and default values
        populated, without persisting the request or updating any resources" (google/cloud/run/v2/service.proto):
        no generation, split, revision, etag or operation is touched.
        """
        with self.lock:
            svc = self.service(full_name)
            if update.etag and update.etag != svc.etag:
                raise ApiError("ABORTED", f"The etag '{update.etag}' of '{full_name}' is stale; "
                                          "read the service again and retry.")
            new_rev_name, traffic = self._check(svc, update, self.clock())
            preview = copy.deepcopy(svc)
            self._assign(preview, update, traffic, new_rev_name, self.clock())
            preview.generation, preview.updated_at = svc.generation, svc.updated_at
            return preview

    def preview_create(self, parent: str, service_id: str, update: ServiceUpdate) -> Service:
        """validate_only on CreateService: the service it would create, validated; nothing is created."""
        with self.lock:
            rng = self._rng.getstate()  # the preview's uid must not shift the names generated after it
            try:
                svc = self._blank(parent, service_id, update)
                new_rev_name, traffic = self._check(svc, update, svc.created_at)
                self._assign(svc, update, traffic, new_rev_name, svc.created_at)
                return svc
            finally:
                self._rng.setstate(rng)

    def _new_revision(self, svc: Service, name: str, image: str, now: float, behaviour: RevisionBehaviour,
                      ready_at: float | None = None, max_instances: int = 100,
                      min_instances: int = 0, env: list[dict[str, str]] | None = None) -> Revision:
        if not name:
            suffix = "".join(self._rng.choice(string.ascii_lowercase) for _ in range(3))
            name = f"{svc.name}-{svc.generation:05d}-{suffix}"
        refused = self.pull.images.get(image) if ready_at is None else None
        failure, reason = pull_failure(refused, name, image, svc.project) if refused else ("", "")
        if ready_at is None and not behaviour.never_ready and not refused:
            ready_at = now + behaviour.ready_after_s
        failed_at = None
        if ready_at is None:
            failed_at = now + (PULL_SECONDS if refused else behaviour.startup_timeout_s)
        rev = Revision(service=svc.full_name, name=name, uid=self._uid(), generation=svc.generation, image=image,
                       created_at=now, behaviour=behaviour, ready_at=ready_at, failed_at=failed_at,
                       max_instances=max_instances, min_instances=min_instances,
                       env=[dict(v) for v in env or []], failure=failure, failure_reason=reason)
        self.revisions[rev.full_name] = rev
        return rev

    def _uid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _etag(self, svc: Service) -> str:
        self._seq += 1
        digest = hashlib.sha256(f"{svc.uid}/{svc.generation}/{self._seq}".encode()).digest()[:12]
        return base64.b64encode(digest).decode()

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    # -- persistence -------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "version": SCHEMA_VERSION,
                "seq": self._seq,
                "services": [s.to_dict() for s in self.services.values()],
                "revisions": [r.to_dict() for r in self.revisions.values()],
                "operations": [asdict(o) for o in self.operations.values()],
                "pull": self.pull.to_dict(),
                "iam": self.iam.to_dict(),
            }

    def load(self, data: dict[str, Any]) -> None:
        if data.get("version") != SCHEMA_VERSION:
            raise ValueError(f"Cloud Run sandbox state has version {data.get('version')!r}, "
                             f"expected {SCHEMA_VERSION}")
        with self.lock:
            self._seq = int(data.get("seq", 0))
            self._rng.seed(f"{self._seq}/{len(data['revisions'])}")
            self.services = {s.full_name: s for s in (Service.from_dict(d) for d in data["services"])}
            self.revisions = {r.full_name: r for r in (Revision.from_dict(d) for d in data["revisions"])}
            self.operations = {o["name"]: Operation(**o) for o in data["operations"]}
            self.pull = PullSettings.from_dict(data.get("pull", {}))
            self.iam = IamPolicies.from_dict(data.get("iam", {}))
