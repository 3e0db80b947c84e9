"""The layering of ARCHITECTURE.md holds: core is headless, widgets never reach the app or providers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    return subprocess.run([exe, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_project_keeps_its_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


def test_a_core_module_importing_textual_breaks_the_contract(tmp_path: Path) -> None:
    # The same contracts over a copy of the tree with one forbidden import added must fail,
    # so the check above is known to bite.
    for package in ("core", "sandbox", "widgets", "console"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "core" / "leaky.py").write_text('"""A module that breaks the rule."""\nimport textual\n')
    (tmp_path / "widgets" / "reachy.py").write_text('"""Another."""\nimport console.cli\n')
    result = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, '.'); "
         "from importlinter.cli import lint_imports_command; lint_imports_command(['--no-cache'])"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert "core.leaky -> textual" in result.stdout
    assert "widgets.reachy -> console" in result.stdout
