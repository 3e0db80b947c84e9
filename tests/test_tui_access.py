"""Access told up front in the console (Pilot, sandbox with a frozen clock): an outsider sees `d` greyed with the
gate's sentence (the file and the variable that would let them in), pressing it says so in a toast and in the log
and never opens the wizard; on the zero-set-up sandbox a newcomer deploys, approves and promotes production to
100 %, and the header says whose rule that is."""

from __future__ import annotations

from pathlib import Path

from console.palette import palette_commands
from console.screens.wizard import WizardScreen
from core.access import gate_for
from core.config import LoadedConfig, load_config
from core.engine import Engine
from core.registry import DeploymentStatus
from tests.engine_rig import IMAGE, START, Rig, rig
from tests.test_tui_console import card, console, refused_reason, toasts, type_text, until
from tests.test_tui_wizard import confirm_production, seed_history, step, waiting_for


def loaded(home: Path, text: str | None = None, environ: dict[str, str] | None = None) -> LoadedConfig:
    if text is not None:
        (home / "opsconsole.toml").write_text(text)
    return load_config(project_file=home / "opsconsole.toml", user_file=home / "user.toml", environ=environ or {})


def engine_as(r: Rig, config: LoadedConfig, operator: str) -> Engine:
    """The engine a console started with this configuration builds (console.session: the gate of gate_for)."""
    return Engine(config.config, r.registry, r.engine.ports, operator=operator, bus=r.engine.bus, verify_messages=5,
                  gate=gate_for(config, operator, shared_registry=r.registry.shared))


def log_text(app: object) -> str:
    return "\n".join(app.main.query_one("#log").lines_text)  # type: ignore[attr-defined]


async def test_an_outsider_sees_deploy_greyed_with_the_fix_and_pressing_it_never_opens_the_wizard(
        tmp_path: Path) -> None:
    config = loaded(tmp_path, '[teams]\noperations = ["alice"]\n')
    with rig(tmp_path, config=config.config, start=START) as r:
        engine = engine_as(r, config, "mallory")
        refusal = engine.refusal("production")
        assert refusal is not None
        for fix in (str(tmp_path / "opsconsole.toml"), """OPSCONSOLE_TEAMS__OPERATIONS='["alice", "mallory"]'""",
                    "OPSCONSOLE_OPERATOR=alice"):
            assert fix in refusal
        async with console(engine, r, size=(160, 48)) as (app, pilot):
            def greyed() -> bool:  # the sentence, whole, in the note under the list (wrapped: paths break anywhere)
                reason = refused_reason(app, "Deploy")
                return reason is not None and reason.replace(" ", "") == refusal.replace(" ", "")

            await until(pilot, greyed, "d greyed with the gate's sentence")
            assert "sandbox: everyone may act" not in app.sub_title, "a configured sandbox keeps its allow-list"
            deploy = next(c for c in palette_commands(app) if c.title.startswith("Deploy"))
            assert "Not now on production" in deploy.help and "OPSCONSOLE_TEAMS__OPERATIONS" in deploy.help

            await pilot.press("d")
            said = f"Deploy on production: {refusal}"
            await until(pilot, lambda: said in toasts(app).replace("\n", " "), "the toast")
            await until(pilot, lambda: said in log_text(app), "the same sentence in the log")
            await pilot.pause()
            assert not any(isinstance(screen, WizardScreen) for screen in app.screen_stack), "no step one"

            await pilot.press("1", "d")  # dev is anyone's: the wizard opens, production offered but not to pick
            await until(pilot, lambda: step(app) == "step-environment", "the wizard on dev")
            options = app.screen.query_one("#wizard-environments")
            production = options.get_option("production")  # type: ignore[attr-defined]
            assert production.disabled and "not yours to deploy: operator mallory may not act" in str(production.prompt)
            assert not options.get_option("dev").disabled  # type: ignore[attr-defined]
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.main, "the wizard closes")

            await pilot.press("3", "a")  # every greyed key says it the same way
            await until(pilot, lambda: f"Approve on production: {refusal}" in log_text(app), "approve refused, logged")
        assert r.engine.active("production") is None
        engine.release_locks()


async def test_on_the_zero_set_up_sandbox_a_newcomer_runs_the_production_canary_to_100(tmp_path: Path) -> None:
    # Nothing configured but a shorter window (not an access setting, so the sandbox's rule holds).
    config = loaded(tmp_path, environ={"OPSCONSOLE_ENVIRONMENTS__PRODUCTION__STRATEGY__ANALYSIS_WINDOW_S": "120"})
    with rig(tmp_path, config=config.config, start=START) as r:
        seed_history(r, {"websocket-server": IMAGE})
        engine = engine_as(r, config, "newcomer")
        async with console(engine, r) as (app, pilot):
            assert "newcomer · sandbox: everyone may act" in app.sub_title
            assert "Deploy —" not in app.main.query_one("#actions").text
            await pilot.press("d")
            await until(pilot, lambda: step(app) == "step-environment", "the wizard")
            await pilot.press("enter", "up", "enter")  # production; the version staging ran
            await until(pilot, lambda: step(app) == "step-strategy", "the strategy step")
            await pilot.press("enter")  # canary · manual, production's own
            await until(pilot, lambda: getattr(app.screen, "plan", None) is not None, "the plan preview")
            await pilot.press("enter")
            await type_text(pilot, "production", "enter")
            await until(pilot, lambda: "needs an approval" in card(app, "production"), "the deployment waits")
            await pilot.press("a")
            await confirm_production(pilot, app)
            for percent in (10, 25, 50, 100):
                await until(pilot, lambda p=percent: f"promote to {p} %" in waiting_for(r), f"waits for {percent} %")
                await pilot.press("p")
                await confirm_production(pilot, app)
            deployment = r.registry.list_deployments(environment="production", limit=1)[0]
            await until(pilot, lambda: r.deployment(deployment.id).status == DeploymentStatus.SUCCEEDED,
                        "the deployment succeeds")
            assert deployment.actor == "newcomer" and list(r.served().values()) == [100]
            assert "may not" not in toasts(app)
        engine.release_locks()
