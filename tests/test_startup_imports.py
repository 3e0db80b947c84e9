"""What a fresh interpreter loads: `opsconsole --help` stays cheap, and the import contracts hold at run time.

import-linter reads import statements; these tests run the code, so a package `__init__` that pulls in
the providers, or a module-level import of a Google client, fails here even when the contracts read as
kept. Each test starts its own interpreter (sys.executable) so nothing already loaded by pytest counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from console.cli import SUBCOMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
# Loaded by whatever talks to a cloud: none of it belongs to a page of help or to rendering a model.
FORBIDDEN = ("core.providers", "google", "grpc", "aiohttp")
HELP_MODULE_LIMIT = 300

# Runs the real entry point (console/__main__.py, the same as the `opsconsole` script) and writes the
# modules it loaded when it exits: --help ends in sys.exit, which runs atexit handlers.
ENTRY_PROBE = """\
import atexit, json, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv[0] = "opsconsole"
runpy.run_module("console", run_name="__main__", alter_sys=True)
"""
IMPORT_PROBE = """\
import importlib, json, pkgutil, sys
for name in sys.argv[1:]:
    package = importlib.import_module(name)
    for found in pkgutil.walk_packages(getattr(package, "__path__", []), name + "."):
        importlib.import_module(found.name)
print(json.dumps(sorted(sys.modules)))
"""


def forbidden(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


def fresh_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    env.update(PYTHONPATH=str(ROOT), OPSCONSOLE_REGISTRY=str(tmp_path / "registry.json"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    return env


def loaded_by_help(tmp_path: Path, *args: str) -> tuple[str, list[str]]:
    out = tmp_path / "modules.json"
    result = subprocess.run([sys.executable, "-c", ENTRY_PROBE, str(out), *args, "--help"], cwd=tmp_path,
                            env=fresh_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout, json.loads(out.read_text())


def loaded_by_import(tmp_path: Path, *packages: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *packages], cwd=ROOT, env=fresh_env(tmp_path),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_opsconsole_help_loads_a_few_hundred_modules_and_no_cloud_client(tmp_path: Path) -> None:
    page, modules = loaded_by_help(tmp_path)
    assert "Usage: opsconsole" in page and "deploy" in page and "sandbox" in page  # every command is listed
    assert forbidden(modules) == []
    assert len(modules) < HELP_MODULE_LIMIT, f"{len(modules)} modules loaded for --help"


def test_importing_the_cli_loads_no_provider_or_cloud_client(tmp_path: Path) -> None:
    assert forbidden(loaded_by_import(tmp_path, "console.cli")) == []


def test_widgets_load_no_provider_or_cloud_client(tmp_path: Path) -> None:
    # widgets render core's models; the providers and their clients belong to the composition root.
    assert forbidden(loaded_by_import(tmp_path, "widgets")) == []


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_lazily_loaded_command_shows_its_help(name: str) -> None:
    # Click's documentation asks for this beside lazy loading: a wrong path in the table, or an import
    # error in a command module, shows up here rather than in an operator's terminal.
    result = CliRunner().invoke(cli, [name, "--help"], prog_name="opsconsole")
    assert result.exit_code == 0, result.output
    assert f"Usage: opsconsole {name}" in result.output


def test_choices_read_from_core_show_in_help_and_are_checked() -> None:
    runner = CliRunner()
    assert "{dev|staging|production}" in runner.invoke(cli, ["deploy", "--help"]).output
    assert "|in_progress|paused|succeeded|" in runner.invoke(cli, ["history", "--help"]).output
    refused = runner.invoke(cli, ["status", "qa"])
    assert refused.exit_code == 2
    assert "'qa' is not one of 'dev', 'staging', 'production'" in refused.output
