"""The canary judge's view of one deployment: its verdict history, the latest explanation, 5xx and p99 trends.

Every judged window is in the rollout status (`Rollout.verdicts`, each with the checks' numbers), so
the trends are read from the registry, not from a second metrics query: what the panel draws is
exactly what the judge decided on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from widgets.views import EnvironmentView, short_id

FIVE_XX = "5xx rate"
P99 = "p99 latency"
OUTCOME_MARKS = {"pass": ("✓", "green"), "fail": ("✗", "bold red"), "no_data": ("·", "yellow")}


def check_values(verdicts: Sequence[Mapping[str, Any]], name: str) -> list[float]:
    """The canary's value of one check in every window that measured it, oldest first."""
    values = []
    for verdict in verdicts:
        for reason in verdict.get("reasons", ()):
            if reason.get("name") == name and reason.get("canary") is not None:
                values.append(float(reason["canary"]))
    return values


def _latest(verdicts: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    for verdict in reversed(verdicts):
        for reason in verdict.get("reasons", ()):
            if reason.get("name") == name:
                return reason
    return None


def _figures(reason: Mapping[str, Any] | None, scale: float, unit: str, digits: int) -> Text:
    if reason is None:
        return Text("no window judged yet", style="dim")

    def fmt(value: Any) -> str:
        return "-" if value is None else f"{float(value) * scale:.{digits}f}{unit}"

    mark, style = OUTCOME_MARKS.get(str(reason.get("outcome")), ("?", ""))
    return Text.assemble((f"{mark} ", style), ("canary ", "dim"), (fmt(reason.get("canary")), "bold"),
                         ("  stable ", "dim"), fmt(reason.get("stable")), ("  limit ", "dim"),
                         fmt(reason.get("threshold")), no_wrap=True, overflow="ellipsis")


def _update(static: Static, text: Text) -> None:
    if static.content != text:  # most refreshes bring the same text: an idle console should stay idle
        static.update(text)


class CanaryPanel(Vertical):
    """Shows the active deployment's judgement, or the last deployment's when none is running."""

    DEFAULT_CSS = """
    CanaryPanel { border: round $foreground 30%; border-title-style: bold; padding: 0 1; height: 100%; }
    CanaryPanel Static { width: 100%; text-wrap: nowrap; text-overflow: ellipsis; }
    CanaryPanel Horizontal { height: 1; }
    CanaryPanel .metric-name { width: 5; color: $foreground 70%; }
    CanaryPanel Sparkline { width: 16; margin-right: 1; }
    CanaryPanel .metric-figures { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", classes="canary-head", markup=False)
        yield Static("", classes="canary-explanation", markup=False)
        with Horizontal():
            yield Static("5xx", classes="metric-name")
            yield Sparkline([], id="spark-5xx")
            yield Static("", id="figures-5xx", classes="metric-figures", markup=False)
        with Horizontal():
            yield Static("p99", classes="metric-name")
            yield Sparkline([], id="spark-p99")
            yield Static("", id="figures-p99", classes="metric-figures", markup=False)
        yield Static("", classes="canary-history", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Canary judge"

    @property
    def text(self) -> str:
        return "\n".join(str(s.content) for s in self.query(Static))

    def show(self, view: EnvironmentView) -> None:
        """Update in place from one refresh of the selected environment."""
        deployment, rollout = view.deployment, view.rollout
        verdicts = rollout.verdicts if rollout is not None else []
        self.border_title = f"Canary judge · {view.name}"
        head = Text(no_wrap=True, overflow="ellipsis")
        if deployment is None or rollout is None:
            head.append(f"no deployment of {view.name} has been judged", style="dim")
        else:
            head.append("running " if view.active is not None else "last ", style="dim")
            head.append(f"{short_id(deployment.id)} ", style="bold")
            head.append(f"{rollout.plan.strategy} {rollout.mode} · weight {rollout.weight} % · ")
            if verdicts:
                action = str(verdicts[-1].get("action", "")).replace("_", " ").upper()
                head.append(action, style="bold red" if action == "ROLLBACK" else "bold")
            else:
                head.append("no window judged yet", style="dim")
        _update(self.query_one(".canary-head", Static), head)
        explanation = str(verdicts[-1].get("decision") or verdicts[-1].get("explanation", "")) if verdicts else ""
        _update(self.query_one(".canary-explanation", Static),
                Text(explanation or (rollout.waiting_for if rollout is not None else ""), style="italic"))
        for name, check in (("5xx", FIVE_XX), ("p99", P99)):
            spark = self.query_one(f"#spark-{name}", Sparkline)
            values = check_values(verdicts, check)
            if list(spark.data or []) != values:
                spark.data = values
        _update(self.query_one("#figures-5xx", Static), _figures(_latest(verdicts, FIVE_XX), 100, " %", 2))
        _update(self.query_one("#figures-p99", Static), _figures(_latest(verdicts, P99), 1, " ms", 0))
        history = Text("windows ", style="dim", no_wrap=True, overflow="ellipsis")
        for verdict in verdicts[-20:]:
            mark, style = OUTCOME_MARKS.get(str(verdict.get("outcome")), ("?", ""))
            history.append(f"{mark}{verdict.get('weight', '?')}% ", style=style)
        if not verdicts:
            history.append("none")
        _update(self.query_one(".canary-history", Static), history)
