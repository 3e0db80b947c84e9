"""How to run the sandbox's Terraform stand-in: the command line and the environment it needs.

Kept apart from the stand-in itself so the composition root can name it without loading the HCL parser.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

STANDIN_MODULE = "sandbox.terraform_standin"


def standin_command(environ: Mapping[str, str], work_dir: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    """`python -m sandbox.terraform_standin` with this checkout on PYTHONPATH and its state kept under work_dir."""
    repo = str(Path(__file__).resolve().parents[1])
    python_path = environ.get("PYTHONPATH", "")
    env = {**environ, "TF_STANDIN_STATE_DIR": str(work_dir / "standin-buckets"),
           "PYTHONPATH": f"{repo}:{python_path}" if python_path else repo}
    return (sys.executable, "-m", STANDIN_MODULE), env
