"""The reports screen in a real Textual app (Pilot): tiles, chart, causes and timeline from the same core report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable, Select, Static

from console.screens.reports import ReportsScreen, TrendChart
from core.registry import DeploymentRegistry
from core.reports import generate_report
from core.reports.history_gen import END, fill_registry, generate_history

ENVIRONMENTS = ["dev", "staging", "production"]


class ReportsApp(App[None]):
    def __init__(self, registry: DeploymentRegistry) -> None:
        super().__init__()
        self.registry = registry

    def on_mount(self) -> None:
        self.push_screen(ReportsScreen(self.registry, ENVIRONMENTS, lambda: END))


async def test_the_screen_shows_the_same_figures_as_the_cli_and_follows_its_filters(tmp_path: Path) -> None:
    registry = DeploymentRegistry(tmp_path / "registry.json")
    fill_registry(registry, generate_history(400, seed=8))
    app = ReportsApp(registry)
    async with app.run_test(size=(140, 45)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReportsScreen) and screen.report is not None
        expected = generate_report(registry, datetime(2026, 8, 3, tzinfo=UTC), END)  # 90 days before END
        frequency = str(screen.query_one("#tile-frequency", Static).render())
        assert "Deployment frequency" in frequency and expected.dora.deployment_frequency.bucket in frequency
        assert screen.report.outcomes.total == expected.outcomes.total
        timeline = screen.query_one("#reports-timeline", DataTable)
        assert timeline.row_count == min(100, len(expected.timeline))
        assert screen.query_one("#reports-causes", DataTable).row_count == len(expected.rollback_causes)
        assert screen.query_one("#reports-trend", TrendChart).size.width > 0

        screen.query_one("#reports-environment", Select).value = "production"
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.report.environment == "production"
        assert {timeline.get_row_at(i)[2] for i in range(timeline.row_count)} == {"production"}

        await pilot.press("escape")
        assert not isinstance(app.screen, ReportsScreen)
