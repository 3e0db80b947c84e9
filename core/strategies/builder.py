"""A plan being built: stages appended in order, each carrying what undoes the release up to it.

Rollback procedures accumulate: a stage lists everything needed to undo the release up to that point,
newest first (frontend before backend, backend before infrastructure). Strategies append their traffic
stages through `add`, `one_switch` and `observe`.
"""

from __future__ import annotations

from core.model.plan import (
    NEW_REVISION_TAG,
    Component,
    Mode,
    Monitoring,
    PlanContext,
    RollbackAction,
    RollbackProcedure,
    Stage,
    StageKind,
    Validation,
)


class PlanBuilder:
    """Appends stages while tracking what each component would need to be undone."""

    def __init__(self, context: PlanContext, mode: Mode) -> None:
        self.context = context
        self.mode: Mode = mode
        self.stages: list[Stage] = []
        self.notes: list[str] = []
        self._undo: dict[Component, RollbackProcedure] = {}

    @property
    def manual(self) -> bool:
        """Each step waits for an operator."""
        return self.mode == "manual"

    @property
    def first_deploy(self) -> bool:
        """No stable revision serves yet, so there is nothing to share traffic with."""
        return self.context.stable_revision is None

    def undo(self, component: Component, action: RollbackAction) -> None:
        stable = self.context.stable_revision
        descriptions = {
            RollbackAction.NOTHING_SERVED: {
                "websocket-server": "The new revision serves no traffic yet: nothing to undo; it stays tagged "
                                    "for inspection.",
                "frontend": "The new frontend deployment is not promoted: nothing to undo; it stays a preview.",
            }.get(component, "Nothing was changed yet."),
            RollbackAction.TRAFFIC_TO_STABLE: f"Send 100 % of traffic back to {stable}, keeping the new revision "
                                              f"tagged {NEW_REVISION_TAG} for inspection.",
            RollbackAction.NO_PREVIOUS_REVISION: "There is no previous revision to return to (first deploy): keep "
                                                 "serving the new one and fix forward.",
            RollbackAction.FRONTEND_INSTANT_ROLLBACK: "Instant rollback of the frontend to the previous production "
                                                      "deployment on Vercel.",
            RollbackAction.REAPPLY_INFRASTRUCTURE: "Apply the last known good infrastructure configuration.",
        }
        self._undo.pop(component, None)  # re-inserted last: the newest change is undone first
        self._undo[component] = RollbackProcedure(
            component=component, action=action, description=descriptions[action],
            target_revision=stable if action is RollbackAction.TRAFFIC_TO_STABLE else None,
            keep_new_revision_tagged=action is RollbackAction.TRAFFIC_TO_STABLE,
        )

    def traffic_undo(self) -> None:
        if self.context.stable_revision:
            self.undo("websocket-server", RollbackAction.TRAFFIC_TO_STABLE)
        else:
            self.undo("websocket-server", RollbackAction.NO_PREVIOUS_REVISION)

    def add(self, **fields: object) -> None:
        rollback = tuple(reversed(self._undo.values()))
        self.stages.append(Stage.model_validate({**fields, "rollback": rollback}))

    def observe(self, window_s: int) -> None:
        """Watch the new revision alone on all traffic for a window, judged on the ceilings (no stable to compare)."""
        self.add(name=f"observe for {window_s} s", kind=StageKind.OBSERVE, component="websocket-server",
                 validation=Validation(judge=True), monitoring=Monitoring(window_s=window_s, compare_to_stable=False))

    def one_switch(self, window_s: int, *, replacing: str | None = None) -> None:
        """All traffic to the new revision at once, then observe it; `replacing`: the kind whose steps this
        stands in for on a first deploy, said in the plan's notes."""
        if replacing:
            self.notes.append(f"First deploy: there is no stable revision to split traffic with, so the {replacing} "
                              "steps are replaced by one switch to 100 %.")
        self.add(name="switch 100 % to the new revision", kind=StageKind.SET_TRAFFIC, component="websocket-server",
                 traffic_percent=100, needs_operator=self.manual)
        self.observe(window_s)
