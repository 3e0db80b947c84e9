"""`opsconsole report` as an operator or a CI job runs it: formats, the output file, and bad dates (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from console.cli import cli
from core.registry import DeploymentRegistry
from core.reports.history_gen import fill_registry, generate_history


def run(*args: str, cwd: Path, registry: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    environ.update({"OPSCONSOLE_REGISTRY": str(registry), "XDG_CONFIG_HOME": str(cwd / "xdg")})
    return subprocess.run([sys.executable, "-m", "console", "report", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "registry.json"
    fill_registry(DeploymentRegistry(path), generate_history(300, seed=4, end=datetime(2026, 11, 1, tzinfo=UTC)))
    return path


def test_json_for_one_environment_and_an_inclusive_until_day(tmp_path: Path, registry_file: Path) -> None:
    result = run("--env", "production", "--since", "2026-10-01", "--until", "2026-10-31", "--format", "json",
                 cwd=tmp_path, registry=registry_file)

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["environment"] == "production"
    assert (data["start"], data["end"]) == ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
    assert data["outcomes"]["total"] > 0 and {e["environment"] for e in data["timeline"]} == {"production"}


def invoke(*args: str, registry: Path) -> Result:
    """In-process, for speed: the same click command; the subprocess test above covers the real entry point."""
    return CliRunner().invoke(cli, ["--registry", str(registry), "report", *args])


def test_html_goes_to_the_output_file(tmp_path: Path, registry_file: Path) -> None:
    out = tmp_path / "report.html"
    result = invoke("--since", "2026-06-01T00:00", "--until", "2026-11-01", "--format", "html", "--output", str(out),
                    registry=registry_file)

    assert result.exit_code == 0, result.output
    assert result.stdout == "" and f"report written to {out}" in result.stderr
    assert out.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(("args", "option"), [
    (["--since", "2026-02-30"], "'--since'"),
    (["--until", "last tuesday"], "'--until'"),
    (["--since", "2026-10-05", "--until", "2026-10-01"], "'--until'"),
])
def test_a_bad_date_exits_2_naming_the_option(registry_file: Path, args: list[str], option: str) -> None:
    result = invoke(*args, registry=registry_file)

    assert result.exit_code == 2
    assert f"Invalid value for {option}" in result.stderr and "Traceback" not in result.output


def test_a_read_only_report_writes_no_cache_beside_the_registry(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "registry.json"
    path.parent.mkdir()
    fill_registry(DeploymentRegistry(path), generate_history(120, seed=5, end=datetime(2026, 11, 1, tzinfo=UTC)))
    before = sorted(p.name for p in path.parent.rglob("*"))

    span = ("--since", "2026-08-01", "--until", "2026-10-31", "--format", "json")
    read_only = CliRunner().invoke(cli, ["--registry", str(path), "--read-only", "report", *span])

    assert read_only.exit_code == 0, read_only.output
    assert json.loads(read_only.output)["outcomes"]["total"] > 0
    assert sorted(p.name for p in path.parent.rglob("*")) == before, "a read-only report wrote beside the registry"
    writable = invoke(*span, registry=path)
    figures = [{k: v for k, v in json.loads(r.output).items() if k != "generated_at"} for r in (read_only, writable)]
    assert writable.exit_code == 0 and figures[0] == figures[1]
    assert sorted(p.name for p in path.parent.rglob("*")) != before, "while a writable one keeps its cache"
