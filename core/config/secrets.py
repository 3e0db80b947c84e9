"""Secret references: the only form a secret may take in configuration (`env:NAME` or an `sm://` path).

A configuration file is read, logged, shown and exported, so it must never hold a secret value. Every
message here describes what is wrong with a string without repeating it, because a rejected string
may be a real credential that somebody pasted by mistake.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from core.errors import BadInput, OperationFailed

_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
# Project ids (or numbers), secret ids and versions as Secret Manager accepts them.
_SM_PATH = re.compile(
    r"sm://projects/(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]+)"
    r"/secrets/(?P<secret>[A-Za-z0-9_-]{1,255})"
    r"/versions/(?P<version>[1-9][0-9]*|latest)"
)

LITERAL_SECRET_MESSAGE = (
    "holds what looks like a literal secret value; store it in Secret Manager or the environment and "
    "write a reference such as env:NAME or sm://projects/P/secrets/S/versions/V"
)
BAD_ENV_REF_MESSAGE = (
    "is an env: reference with an invalid variable name; write env:NAME with NAME in capital letters, "
    "digits and underscores, such as env:REDIS_URL"
)
BAD_SM_REF_MESSAGE = (
    "is an sm:// reference in the wrong shape; write sm://projects/P/secrets/S/versions/V "
    "with V a version number or latest"
)

SECRET_REF_PROBLEMS = (LITERAL_SECRET_MESSAGE, BAD_ENV_REF_MESSAGE, BAD_SM_REF_MESSAGE)
"""Every way a secret setting can be wrong; none of them quotes the setting."""


@dataclass(frozen=True, slots=True)
class EnvRef:
    """A secret read from the process environment at the moment it is used."""

    name: str

    def __str__(self) -> str:
        return f"env:{self.name}"


@dataclass(frozen=True, slots=True)
class SecretManagerRef:
    """A secret version in Google Secret Manager."""

    project: str
    secret: str
    version: str

    def __str__(self) -> str:
        return f"sm://projects/{self.project}/secrets/{self.secret}/versions/{self.version}"


def _problem_with(text: str) -> str | None:
    """Why `text` is not a secret reference (a phrase that never quotes it), or None if it is one."""
    if text.startswith("env:"):
        return None if _ENV_NAME.fullmatch(text[4:]) else BAD_ENV_REF_MESSAGE
    if text.startswith("sm://"):
        return None if _SM_PATH.fullmatch(text) else BAD_SM_REF_MESSAGE
    return LITERAL_SECRET_MESSAGE


def parse_secret_ref(text: str) -> EnvRef | SecretManagerRef:
    """Parse a reference; raises BadInput (without repeating the text) when it is not one."""
    problem = _problem_with(text) if isinstance(text, str) else "is not text"
    if problem is not None:
        raise BadInput(f"The secret setting {problem}.")
    if text.startswith("env:"):
        return EnvRef(text[4:])
    match = _SM_PATH.fullmatch(text)
    assert match is not None  # _problem_with accepted it
    return SecretManagerRef(match["project"], match["secret"], match["version"])


def resolve_secret(ref: str | EnvRef | SecretManagerRef, environ: Mapping[str, str],
                   secret_manager: Callable[[SecretManagerRef], str] | None = None) -> str:
    """The secret's value, for immediate use only: never store, log or display it.

    `secret_manager` reads an sm:// version (core.providers.secrets.SecretResolver passes its client);
    without one an sm:// reference cannot be resolved here, since the config layer talks to no cloud.
    """
    parsed = parse_secret_ref(ref) if isinstance(ref, str) else ref
    if isinstance(parsed, SecretManagerRef):
        if secret_manager is None:
            raise OperationFailed(f"Secret Manager resolution needs a Secret Manager client (reference {parsed}).")
        return secret_manager(parsed)
    value = environ.get(parsed.name)
    if not value:
        raise OperationFailed(f"Environment variable {parsed.name} is unset or empty, so {parsed} cannot be resolved.")
    return value


def _validate_secret_ref(text: str) -> str:
    problem = _problem_with(text)
    if problem is not None:
        raise PydanticCustomError("secret_ref", "{problem}", {"problem": f"this setting {problem}"})
    return text


SecretRef = Annotated[str, AfterValidator(_validate_secret_ref)]
"""A configuration string that must be a secret reference, never a secret value."""
