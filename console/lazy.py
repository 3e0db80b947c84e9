"""Click pieces that import on first use, so `opsconsole --help` loads click and little else.

`LazyGroup` is the pattern of Click's documentation ("Complex Applications: Lazily Loading Subcommands",
https://click.palletsprojects.com/en/stable/complex/): a group that holds "module.attribute" paths and
imports a command when it is resolved. A group's --help still imports every subcommand's module (Click
needs each short help), so the command modules import their heavy dependencies inside the commands
(the same page's "Further Deferring Imports"), and a `LazyChoice` takes the domain's names (environments,
components, statuses) from core only when an argument is checked or a command's own help is shown.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    StrChoice = click.Choice[str]
else:  # click.Choice is generic from click 8.4 on; the range in pyproject.toml still allows 8.2
    StrChoice = click.Choice


class LazyGroup(click.Group):
    """A group whose subcommands are imported from `lazy_subcommands` (name -> "module.attribute") on use."""

    def __init__(self, *args: Any, lazy_subcommands: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_subcommands])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            return self.load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def load(self, cmd_name: str) -> click.Command:
        """The subcommand `cmd_name` of the table, imported now."""
        path = self.lazy_subcommands[cmd_name]
        module_name, attribute = path.rsplit(".", 1)
        command = getattr(importlib.import_module(module_name), attribute)
        # A wrong path or name is a bug in the table: say which entry, rather than run the wrong command.
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise TypeError(f"lazy subcommand {cmd_name!r} -> {path} is not the click command {cmd_name!r}")
        return command


class LazyChoice(StrChoice):
    """A click.Choice whose values `load` returns each time they are needed (checking a value, or the
    command's own help), not when the command is defined: a strategy registered later is offered too, and
    the import `load` makes is paid once, by the first use."""

    def __init__(self, load: Callable[[], Sequence[str]], case_sensitive: bool = True) -> None:
        self._load = load
        super().__init__((), case_sensitive=case_sensitive)

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self._load())

    @choices.setter
    def choices(self, _placeholder: Sequence[str]) -> None:
        """click.Choice.__init__ assigns the (empty) placeholder; the values come from `load`."""


def twin_rule(option: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback checking an option by its configuration twin's rule (core.config.options), imported when
    a value is given, not when the command is defined."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        from core.config.options import check_option

        return check_option(option, value)
    return callback


def environments() -> Sequence[str]:
    from core.config import ENVIRONMENTS

    return ENVIRONMENTS


def components() -> Sequence[str]:
    from core.config import COMPONENTS

    return COMPONENTS


def deployment_statuses() -> Sequence[str]:
    from core.registry import DeploymentStatus

    return [status.value for status in DeploymentStatus]


def report_formats() -> Sequence[str]:
    from core.reports.render import FORMATS

    return FORMATS


def environment_choice() -> LazyChoice:
    return LazyChoice(environments)
