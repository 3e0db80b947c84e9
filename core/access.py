"""The one gate every change passes: who may change which environment, read-only consoles, typed confirmations.

Deployments and operator actions (core.engine), Terraform plan-apply and restore (core.infra), recovery steps
and incident records (core.recovery), the GitHub environment (core.pipeline) and registry repairs all ask
this gate before they change anything; the console and the CLI ask the same gate to say in advance what
would be refused. A change that belongs to no one environment (repairing the registry) needs the right to
act on every environment.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass

from core.config import ConsoleConfig
from core.errors import BadInput, Refused

CONFIRMED_ENVIRONMENTS = frozenset({"production"})
"""Changes here need the environment's name typed by a person at a terminal, or --yes from a script."""


class AccessRefused(Refused):
    """The operator is not on the environment's allow-list: nothing was changed (the outcome "refused")."""


class ReadOnly(Refused):
    """This console was opened read-only: nothing was changed."""


@dataclass(frozen=True)
class AccessGate:
    """One operator's rights in one configuration, in one console (read-only or not)."""

    config: ConsoleConfig
    operator: str
    read_only: bool = False

    def refusal(self, environment: str | None, what: str = "change") -> str | None:
        """Why this operator may not `what` in `environment` (None: every environment), or None when they may."""
        place = environment or "the registry"
        if self.read_only:
            return f"this console is read-only: {place} was not changed"
        for name in [environment] if environment is not None else list(self.config.environments):
            access = self.config.environment(name).access
            if not access.allows(self.operator, self.config.teams):
                allowed = ", ".join([*(f"operator {o}" for o in access.operators),
                                     *(f"team {g}" for g in access.groups)])
                return (f"operator {self.operator or '(none)'} may not {what} on {name} (allowed: "
                        f"{allowed or 'nobody'}); add them to the team in opsconsole.toml under [teams], or set "
                        "OPSCONSOLE_OPERATOR to an allowed operator")
        return None

    def check(self, environment: str | None, what: str = "change") -> str:
        """The operator, if they may `what` in `environment`; refused in one sentence otherwise."""
        if self.read_only:
            raise ReadOnly(self.refusal(environment, what) or "")
        if (why := self.refusal(environment, what)) is not None:
            raise AccessRefused(why)
        return self.operator

    def allowed(self, environment: str) -> tuple[str, ...]:
        """Everyone the environment's allow-list names, operators and team members ("*" when anyone may)."""
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
    return environ.get("OPSCONSOLE_OPERATOR") or getpass.getuser()
