"""Which Terraform the console runs and on which tree: the sandbox's stand-in or the real CLI, and the
infrastructure/ directory (OPS_INFRA_DIR, else the checkout this console runs from, else ./)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import core
from core.errors import BadInput
from core.providers.terraform import BINARY_VARIABLE, TerraformRunner, find_terraform

INFRA_DIR_VARIABLE = "OPS_INFRA_DIR"
# The sandbox's stand-in for `terraform`: (environ, work_dir) -> (argv, environ). The composition root passes
# it (sandbox.terraform_command.standin_command); core never names the sandbox.
Standin = Callable[[Mapping[str, str], Path], tuple[tuple[str, ...], dict[str, str]]]


def find_infrastructure_dir(environ: Mapping[str, str]) -> Path:
    if environ.get(INFRA_DIR_VARIABLE):
        configured = Path(environ[INFRA_DIR_VARIABLE]).expanduser()
        if not (configured / "environments").is_dir():
            raise BadInput(f"{INFRA_DIR_VARIABLE} names {configured}, which has no environments/ directory")
        return configured
    for candidate in (Path(core.__file__).resolve().parents[1] / "infrastructure", Path.cwd() / "infrastructure"):
        if (candidate / "environments").is_dir():
            return candidate
    raise BadInput(f"no infrastructure/ directory found; run from the repository or set {INFRA_DIR_VARIABLE}")


def make_runner(profile: str, environ: Mapping[str, str], work_dir: Path,
                infrastructure_dir: Path | None = None, *, standin: Standin | None = None) -> TerraformRunner:
    """The sandbox profile runs the stand-in (state kept under work_dir); gcp runs terraform or tofu."""
    infra = infrastructure_dir or find_infrastructure_dir(environ)
    if profile == "sandbox" and not environ.get(BINARY_VARIABLE):
        if standin is None:
            raise BadInput("the sandbox profile runs Terraform's stand-in, which this console was not given; "
                           f"set {BINARY_VARIABLE} to a terraform binary")
        command, env = standin(environ, work_dir)
        return TerraformRunner(command, infra, work_dir, environ=env)
    command = find_terraform(environ.get(BINARY_VARIABLE), environ.get("PATH"))
    return TerraformRunner(command, infra, work_dir, environ=environ)
