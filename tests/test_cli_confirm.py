"""The CLI's confirmations at a terminal say what the change will do, in the words the console shows.

`opsconsole promote production` (no --yes) on a pseudo-terminal, against a standalone sandbox: the prompt
carries core's effect sentence; moving production forward wants its name typed, lowering the canary or
rolling back is one y/N.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.model.effects import effect_of
from core.registry import DeploymentRegistry
from tests.pty_rig import at_a_terminal as type_at_a_terminal
from tests.test_deploy_cli import IMAGE, Cli, _project, sandbox  # noqa: F401  (the module's own sandbox)

pytestmark = pytest.mark.xdist_group("cli-confirm-sandbox")


@pytest.fixture
def cli(tmp_path: Path, sandbox: Path) -> Iterator[Cli]:  # noqa: F811
    run = _project(tmp_path, sandbox)
    yield run
    if run.clients is not None:
        run.clients.close()


def at_a_terminal(cli: Cli, args: list[str], prompt: bytes, answer: bytes) -> tuple[int, str]:
    """Run `python -m console ARGS` on a pseudo-terminal; type `answer` once `prompt` is on screen."""
    code, seen = type_at_a_terminal(args, cli.home, cli.env(), prompt, answer, limit_s=120)
    return code, seen.decode(errors="replace").replace("\r\n", "\n")


def canary_at_10(cli: Cli) -> str:
    cli.result("deploy", "production", "--set", f"websocket-server={IMAGE}", "--yes")
    cli.result("approve", "production", "--yes")
    cli.result("promote", "production", "--yes")
    return next(name for name, percent in cli.live_split("production").items() if percent == 90)


def said(cli: Cli, action: str, **detail: int) -> str:
    """Core's sentence for `action` on what the registry holds now (the console's dialog shows the same)."""
    active = next(d for d in DeploymentRegistry(cli.home / "registry.json").active_deployments()
                  if d.environment == "production")
    return effect_of(action, "production", active, **detail).sentence


def test_the_terminal_prompts_state_the_effect_and_ask_for_the_name_only_to_move_forward(cli: Cli) -> None:
    stable = canary_at_10(cli)
    sentence = said(cli, "promote")
    assert sentence == f"production: canary 10 % → 25 % on ws:v2.0.0, stable {stable} keeps 75 %"

    code, screen = at_a_terminal(cli, ["promote", "production"], b"Type the environment name", b"production\n")
    assert f"{sentence}\nType the environment name to confirm" in screen, screen
    assert code == 3 and sorted(cli.live_split("production").values()) == [25, 75]

    lower = said(cli, "set-weight", percent=5)
    assert "lowers the canary from 25 % to 5 %" in lower
    code, screen = at_a_terminal(cli, ["set-weight", "production", "5"], b"Go ahead?", b"y\n")
    assert f"{lower}\nGo ahead? [y/N]" in screen and "Type the environment name" not in screen, screen
    assert code == 3 and sorted(cli.live_split("production").values()) == [5, 95]

    back = said(cli, "rollback")
    code, screen = at_a_terminal(cli, ["rollback", "production", "--reason", "5xx spike"], b"Go ahead?", b"n\n")
    assert f"{back}\nGo ahead? [y/N]" in screen, screen
    assert "rollback on production was not confirmed; nothing was changed" in screen
    assert code == 2 and sorted(cli.live_split("production").values()) == [5, 95]
