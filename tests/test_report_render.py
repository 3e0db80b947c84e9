"""The report in text, JSON, Markdown and HTML; the HTML opened in a real headless browser when one is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.registry import DeploymentRegistry
from core.reports import DeploymentReport, generate_report
from core.reports.history_gen import fill_registry, generate_history
from core.reports.render import render

START, END = datetime(2026, 8, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chromium-headless-shell")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> DeploymentReport:
    registry = DeploymentRegistry(tmp_path_factory.mktemp("render") / "registry.json")
    fill_registry(registry, generate_history(600, seed=11))
    return generate_report(registry, START, END, "production", now=lambda: END)


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> DeploymentReport:
    registry = DeploymentRegistry(tmp_path_factory.mktemp("empty") / "registry.json")
    return generate_report(registry, START, END, None, now=lambda: END)


def test_text_names_each_dora_key_with_its_value_and_tier(report: DeploymentReport) -> None:
    text = render(report, "text")
    f = report.dora.deployment_frequency
    assert re.search(rf"Deployment frequency\s+{f.bucket}\s+{f.tier.value}", text)
    assert f"Change failure rate    {report.dora.change_failure_rate.rate * 100:.1f} %" in text  # type: ignore[operator]
    assert "Rollback causes" in text and report.rollback_causes[0].cause in text
    assert report.timeline[0].id in text


def test_json_carries_every_figure_and_reads_back_into_the_same_report(report: DeploymentReport) -> None:
    data = json.loads(render(report, "json"))
    assert data["dora"]["change_failure_rate"]["failures"] == report.dora.change_failure_rate.failures
    assert DeploymentReport.model_validate(data) == report


def test_markdown_is_tables_with_escaped_cells(report: DeploymentReport) -> None:
    text = render(report, "markdown")
    assert text.startswith("# Deployment report: production")
    assert "| Key | Value | Tier | How |" in text and "| Cause | Count | Share | Latest |" in text


def test_an_empty_report_renders_in_every_format(empty: DeploymentReport) -> None:
    for form in ("text", "json", "markdown", "html"):
        assert "all environments" in render(empty, form) or form == "json"
    assert "No deployments in this range." in render(empty, "html")


def _offline(html: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the page fetches nothing"
    assert "<script" not in html


def test_the_html_is_self_contained_with_inline_svg_charts(report: DeploymentReport) -> None:
    html = render(report, "html")
    _offline(html)
    assert html.count("<svg") == 3  # weekly outcomes, durations, rollback causes
    assert "Deployments per ISO week" in html and "Rollback causes" in html


def _browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def test_the_html_renders_in_headless_chromium(report: DeploymentReport, tmp_path: Path) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip("no headless Chromium installed (apt-get install chromium)")
    page = tmp_path / "report.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
              f"--user-data-dir={tmp_path / 'profile'}"]

    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=60).stdout
    shot = tmp_path / "report.png"
    subprocess.run([*common, "--hide-scrollbars", "--window-size=1280,1600", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=60)

    tiles = re.findall(r'<div class="tile" data-key="([^"]+)">.*?<div class="value">([^<]+)</div>', dom)
    assert [t for t, _ in tiles] == ["Deployment frequency", "Lead time for changes", "Change failure rate",
                                     "Time to restore"]
    assert dict(tiles)["Deployment frequency"] == report.dora.deployment_frequency.bucket
    assert dom.count("<svg") == 3 and "Deployments per ISO week" in dom
    assert shot.stat().st_size > 20_000, "a screenshot with charts in it, not a blank page"
