"""Finds literal secret values in a revision's plain environment variables, naming the variable, never the value.

Secrets belong in Secret Manager (mounted by reference), so a plain variable whose name says secret
(KEY, TOKEN, SECRET, PASSWORD...) and whose value is not a reference, a URL without credentials, a path,
a number or a flag is a leak; so is any URL carrying a password (a REDIS_URL with credentials) and any
value with the shape of a well-known credential, whatever the variable is called.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_STRONG_WORDS = frozenset({"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PWD", "CREDENTIAL", "CREDENTIALS",
                           "PRIVATE", "APIKEY", "ACCESSKEY", "SECRETKEY", "AUTHTOKEN"})
_KEY_WORDS = frozenset({"KEY"})
_KEY_MIN_LENGTH = 16  # a KEY variable holds credentials when long ("v1" in CACHE_KEY_PREFIX is not one)
_FLAG = re.compile(r"(?i)true|false|yes|no|on|off|none|null|[-+]?[0-9]+(\.[0-9]+)?")
_REFERENCE = re.compile(r"env:[A-Z_][A-Z0-9_]*|sm://\S+|projects/[^/\s]+/secrets/\S+")
_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("has the shape of a Google API key", re.compile(r"AIza[0-9A-Za-z_\-]{35}")),
    ("has the shape of a GitHub token", re.compile(r"gh[pousr]_[A-Za-z0-9]{36,}")),
    ("has the shape of a Slack token", re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}")),
    ("is a Slack webhook URL", re.compile(r"https://hooks\.slack\.com/services/\S+")),
    ("has the shape of a Stripe live key", re.compile(r"[sr]k_live_[0-9A-Za-z]{16,}")),
    ("has the shape of an AWS access key", re.compile(r"AKIA[0-9A-Z]{16}")),
    ("holds a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
)


@dataclass(frozen=True)
class Leak:
    """A variable that holds a literal secret, and why it is judged so (never the value)."""

    variable: str
    why: str


def _words(name: str) -> set[str]:
    return {w for w in re.split(r"[^A-Z0-9]+", name.upper()) if w}


def _url_password(value: str) -> bool:
    if "://" not in value:
        return False
    try:
        return bool(urlsplit(value.strip()).password)
    except ValueError:
        return False


def _harmless(value: str) -> bool:
    """A value that cannot be a credential itself: empty, a reference, a flag or number, a URL, a path."""
    text = value.strip()
    return (not text or bool(_FLAG.fullmatch(text)) or bool(_REFERENCE.fullmatch(text))
            or ("://" in text and not _url_password(text)) or text.startswith(("/", "./")))


def leak_in(name: str, value: str) -> str | None:
    """Why the variable's value is a literal secret, or None when it is not."""
    if _url_password(value):
        return "is a URL with a password in it"
    for why, shape in _SHAPES:
        if shape.search(value):
            return why
    if _harmless(value):
        return None
    words = _words(name)
    if words & _STRONG_WORDS:
        return "is named as a secret and holds a literal value"
    if words & _KEY_WORDS and len(value.strip()) >= _KEY_MIN_LENGTH:
        return "is named as a key and holds a long literal value"
    return None


def find_leaks(env_vars: Mapping[str, str]) -> list[Leak]:
    """Every plain variable holding a literal secret, in name order."""
    leaks = []
    for name in sorted(env_vars):
        why = leak_in(name, str(env_vars[name]))
        if why is not None:
            leaks.append(Leak(name, why))
    return leaks
