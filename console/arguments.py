"""How the CLI's arguments parse the way a person expects, and how a wrong one is told in one sentence.

Click reads any word that begins with `-` as an option, and an option that takes a value takes the next word
whatever it is: `set-weight production -5` failed as "No such option: -5", and `rollback --reason --yes` recorded
"--yes" as the reason and skipped the confirmation. The types here refuse those in the argument's own words, and
`usage_sentence` turns click's three-line usage block into one line that names the argument.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import click


class FreeText(click.ParamType):
    """A reason, a cause, a note: any words but none, and not an option's name (a forgotten value swallows the
    next option: `--reason --yes`)."""

    name = "text"

    def __init__(self, what: str) -> None:
        self.what = what  # "the rollback reason": how the refusal names it

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not text.strip():
            self.fail(f"{self.what} is empty; say it in words", param, ctx)
        if text.startswith("-"):
            self.fail(f"{self.what} {text!r} looks like an option; give the {self.what} in words (quote it)",
                      param, ctx)
        return text


class Percent(click.ParamType):
    """A traffic weight: a whole percent from 0 to 100. A negative number is refused as a weight, not read as an
    option (the command sets `ignore_unknown_options` so `-5` reaches this type)."""

    name = "percent"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip()
            if not re.fullmatch(r"[+-]?\d+", text):
                self.fail(f"a weight is a whole percent from 0 to 100, not {text!r}", param, ctx)
            number = int(text)
        if not 0 <= number <= 100:
            self.fail(f"a weight is a whole percent from 0 to 100, not {number}", param, ctx)
        return number


def usage_sentence(error: click.UsageError) -> str:
    """click's usage error as one line: the command, what is wrong (naming the argument or option), where help is.

    Click's own text is kept (people search for "Invalid value for '--since'"), its line breaks are not (a missing
    choice lists the choices one per line), and an argument is named by its name (ENVIRONMENT), not by the list of
    its choices that click would show in its place.
    """
    message = error.format_message()
    param = getattr(error, "param", None)
    if isinstance(param, click.Argument):
        name = param.human_readable_name
        if isinstance(error, click.MissingParameter):
            choices = getattr(param.type, "choices", None)
            message = f"Missing argument {name}" + (f" (one of {', '.join(map(str, choices))})" if choices else "")
        elif isinstance(error, click.BadParameter):
            message = f"Invalid value for {name}: {error.message}"
    message = " ".join(message.split()).rstrip(".")
    where = error.ctx.command_path if error.ctx is not None else "opsconsole"
    return f"{where}: {message} (see {where} --help)"


def wants_json(args: Sequence[str]) -> bool:
    """Whether the command line asks for JSON: `--json` before any `--` (an error is then one JSON object too,
    even one raised before click has read the option)."""
    words = list(args)
    if "--" in words:
        words = words[: words.index("--")]
    return "--json" in words
