"""The one gate every change passes: who may change which environment, read-only consoles, typed confirmations.

Deployments and operator actions (core.engine), Terraform plan-apply and restore (core.infra), recovery steps
and incident records (core.recovery), the GitHub environment (core.pipeline) and registry repairs all ask
this gate before they change anything; the console and the CLI ask the same gate to say in advance what
would be refused. A change that belongs to no one environment (repairing the registry) needs the right to
act on every environment.

A refusal says why and the exact fix: the file and the setting that would let the operator in, and the
OPSCONSOLE_* variable that does the same (named by the loader's own rule, core.config.loader.env_variable).
The zero-set-up sandbox lets everyone act (`sandbox_lets_everyone_act`); a real cloud or a shared registry
never does.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.config import CONFIG_FILE_NAME, DEFAULTS_SOURCE, Access, ConsoleConfig, LoadedConfig
from core.config.loader import OPERATOR_VARIABLE, env_variable
from core.errors import BadInput, Refused

CONFIRMED_ENVIRONMENTS = frozenset({"production"})
"""Changes here need the environment's name typed by a person at a terminal, or --yes from a script."""
SANDBOX_RULE = "sandbox: everyone may act"
"""What the header says when the zero-set-up sandbox's rule holds (sandbox_lets_everyone_act)."""
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")  # a TOML key that needs no quotes


class AccessRefused(Refused):
    """The operator is not on the environment's allow-list: nothing was changed (the outcome "refused")."""


class ReadOnly(Refused):
    """This console was opened read-only: nothing was changed."""


@dataclass(frozen=True)
class AccessGate:
    """One operator's rights in one configuration, in one console (read-only or not).

    `config_file` is where a grant would be written (the file that says who may act, or the project file that
    would be read; gate_for finds it), None when a variable says who may act (a file would lose to it, so only a
    variable is a fix); `self_declared` says the operator named itself (OPSCONSOLE_OPERATOR, the
    OS user), so acting as someone allowed is a fix; `everyone` is the zero-set-up sandbox's rule.
    """

    config: ConsoleConfig
    operator: str
    read_only: bool = False
    config_file: Path | None = Path(CONFIG_FILE_NAME)
    self_declared: bool = True
    everyone: bool = False

    @property
    def rule(self) -> str | None:
        """The rule the header names when it is not the configuration's (the sandbox's), or None."""
        return SANDBOX_RULE if self.everyone else None

    def refusal(self, environment: str | None, what: str = "change") -> str | None:
        """Why this operator may not `what` in `environment` (None: every environment), or None when they may:
        one sentence with the exact fix, the same whether it is said before (a greyed key) or after (the CLI)."""
        place = environment or "the registry"
        if self.read_only:
            return f"this console is read-only: {place} was not changed; start it without --read-only to act"
        if self.everyone:
            return None
        for name in [environment] if environment is not None else list(self.config.environments):
            access = self.config.environment(name).access
            if not access.allows(self.operator, self.config.teams):
                allowed = ", ".join([*(f"operator {o}" for o in access.operators),
                                     *(self._team(g) for g in access.groups)])
                return (f"operator {self.operator or '(none)'} may not {what} on {name} (allowed: "
                        f"{allowed or 'nobody'}); {self._fix(name, access)}")
        return None

    def _team(self, group: str) -> str:
        members = self.config.teams.get(group, [])
        return f"team {group} ({', '.join(members)})" if members else f"team {group}, which has no members"

    def _fix(self, environment: str, access: Access) -> str:
        """The setting that lets this operator in, as a file line and as a variable; or acting as someone allowed."""
        me = self.operator or "NAME"
        setting: tuple[str, ...] = ("environments", environment, "access", "operators")
        members = list(access.operators)
        group = next((g for g in access.groups if env_variable(("teams", g)) is not None), None)
        if group is not None:  # one team member more: the environment's rule stays as it is
            setting, members = ("teams", group), list(self.config.teams.get(group, []))
        value = json.dumps([*members, me] if me not in members else members)
        table, key = ".".join(setting[:-1]), setting[-1]
        line = f"{key if _BARE_KEY.fullmatch(key) else json.dumps(key)} = {value}"
        variable = f"export {env_variable(setting)}={shlex.quote(value)}"
        fix = (f"to let {me} in, {variable}" if self.config_file is None
               else f"to let {me} in, set {line} under [{table}] in {self.config_file}, or {variable}")
        others = [name for name in self.allowed(environment) if name not in ("*", me)]
        if self.self_declared and others:
            fix += f"; or act as {others[0]} with {OPERATOR_VARIABLE}={shlex.quote(others[0])}"
        return fix

    def check(self, environment: str | None, what: str = "change") -> str:
        """The operator, if they may `what` in `environment`; refused in one sentence otherwise."""
        if self.read_only:
            raise ReadOnly(self.refusal(environment, what) or "")
        if (why := self.refusal(environment, what)) is not None:
            raise AccessRefused(why)
        return self.operator

    def allowed(self, environment: str) -> tuple[str, ...]:
        """Everyone the environment's allow-list names, operators and team members ("*" when anyone may)."""
        if self.everyone:
            return ("*",)
        access = self.config.environment(environment).access
        names = [*access.operators, *(m for g in access.groups for m in self.config.teams.get(g, ()))]
        return tuple(dict.fromkeys(names))

    @staticmethod
    def needs_confirmation(environment: str | None) -> bool:
        """Whether a change here needs the environment's name typed (or --yes): production's, and registry-wide."""
        return environment is None or environment in CONFIRMED_ENVIRONMENTS

    def confirmed(self, environment: str | None, *, typed: str | None, yes: bool, what: str) -> None:
        """Refuse an unconfirmed change where confirmation is the rule: `typed` is what the person typed (None:
        nobody was asked, e.g. a script), `yes` the script's --yes."""
        if yes or not self.needs_confirmation(environment):
            return
        place = environment or "registry"
        if typed is None:
            raise BadInput(f"{what} on {place} needs --yes when not run at a terminal")
        if typed.strip() != place:
            raise BadInput(f"confirmation did not match {place!r}; nothing was changed")


def current_operator(environ: Mapping[str, str] | None = None) -> str:
    """Who runs this process: OPSCONSOLE_OPERATOR, else the OS user (self-declared: the embedded registry's rule)."""
    environ = os.environ if environ is None else environ
    return environ.get(OPERATOR_VARIABLE) or getpass.getuser()


def sandbox_lets_everyone_act(loaded: LoadedConfig, *, shared_registry: bool) -> bool:
    """The zero-set-up sandbox's rule: on the embedded sandbox with this machine's registry file, when nobody has
    said who may act (teams and every environment's access are the built-in defaults), the person at the keyboard
    may act everywhere, production's whole canary included; the sandbox and the file can only hurt them. A real
    cloud (profile gcp) or the team's shared registry never gets it: there the configuration names who may act."""
    if loaded.config.profile != "sandbox" or shared_registry:
        return False
    return all(loaded.origin(setting) == DEFAULTS_SOURCE for setting in _access_settings(loaded.config))


def gate_for(loaded: LoadedConfig, operator: str, *, read_only: bool = False,
             shared_registry: bool = False) -> AccessGate:
    """The gate of one console: the loaded configuration's allow-lists, the file a grant would go in (the one that
    says who may act, else the project file that would be read; none when a variable says it, since a variable wins
    over every file), and whether the sandbox's rule holds."""
    settings = _access_settings(loaded.config)
    written = (loaded.file_of(setting) for setting in settings)
    config_file: Path | None = next(filter(None, written), loaded.files[-1] if loaded.files else Path(CONFIG_FILE_NAME))
    if any(loaded.set_by_variable(setting) for setting in settings):
        config_file = None
    return AccessGate(loaded.config, operator, read_only, config_file=config_file, self_declared=not shared_registry,
                      everyone=sandbox_lets_everyone_act(loaded, shared_registry=shared_registry))


def _access_settings(config: ConsoleConfig) -> list[str]:
    return ["teams", *(f"environments.{name}.access" for name in config.environments)]
