"""Where the registry lives: a file path (the embedded TinyDB registry) or a PostgreSQL URL (the team's).

`--registry`, `OPSCONSOLE_REGISTRY` and `registry` in opsconsole.toml all take either; this module is the one
rule that tells them apart and checks a URL before anything connects, so a malformed URL is one sentence
naming what is wrong (exit 2), never a driver's traceback.

A URL is libpq's (``postgresql://user:password@host:port/dbname?param=value``), with one parameter of our
own: ``cloudsql_instance=PROJECT:REGION:INSTANCE`` connects through the Cloud SQL Python Connector with IAM
database authentication (the host is then left out). A password in the URL is allowed for local set-ups but
never shown: `redacted()` is what every message and screen prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from core.errors import BadInput

SCHEMES = ("postgresql", "postgres")
# libpq's connection parameters a registry URL may carry (https://www.postgresql.org/docs/15/libpq-connect.html
# #LIBPQ-PARAMKEYWORDS), plus our cloudsql_instance. Anything else is a typo that libpq would reject late.
LIBPQ_PARAMS = frozenset({
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "connect_timeout", "application_name",
    "options", "target_session_attrs", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
    "tcp_user_timeout", "host", "hostaddr", "port", "passfile", "service", "channel_binding", "gssencmode",
})
CLOUDSQL_PARAM = "cloudsql_instance"
_INSTANCE = re.compile(r"[a-z][a-z0-9-]*(?::[a-z0-9.-]+)?:[a-z0-9-]+:[a-z][a-z0-9-]*")  # project[:domain]:region:name


@dataclass(frozen=True)
class PostgresLocation:
    """A checked PostgreSQL URL; `url` keeps the password, `redacted()` never shows it."""

    url: str
    user: str
    host: str
    port: int | None
    dbname: str
    params: tuple[tuple[str, str], ...]
    has_password: bool

    @property
    def cloudsql_instance(self) -> str | None:
        return dict(self.params).get(CLOUDSQL_PARAM)

    def conninfo_params(self) -> dict[str, str]:
        """The libpq parameters of the URL without ours (for psycopg)."""
        return {key: value for key, value in self.params if key != CLOUDSQL_PARAM}

    def redacted(self) -> str:
        who = f"{self.user}@" if self.user else ""
        where = self.host + (f":{self.port}" if self.port else "")
        if self.cloudsql_instance:
            where = f"cloudsql:{self.cloudsql_instance}"
        return f"postgresql://{who}{where}/{self.dbname}"

    def __str__(self) -> str:
        return self.redacted()


def is_url(value: str) -> bool:
    """Whether a registry setting is meant as a URL (has a scheme) rather than a file path."""
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value) is not None


def parse_postgres_url(value: str, *, where: str | None = "registry") -> PostgresLocation:
    """The checked URL, or BadInput saying in one sentence what is wrong with it (never echoing a password).

    `where` names the URL's source in the sentence ("registry URL '...' names no database"); None leaves the
    subject out ("names no database"), for a caller that names it itself.
    """
    subject = "" if where is None else f"{where} URL {_shown(value)} "
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as error:
        raise BadInput(f"{subject}is malformed: {error}") from None
    if parts.scheme not in SCHEMES:
        raise BadInput(f"{subject}has the scheme {parts.scheme!r}; the registry takes a file path "
                       "or a postgresql:// URL")
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise BadInput(f"{subject}names no database: write postgresql://USER@HOST/DATABASE")
    try:
        params = tuple(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    except ValueError:
        raise BadInput(f"{subject}has a malformed query: write ?name=value&name=value") from None
    for key, _ in params:
        if key not in LIBPQ_PARAMS and key != CLOUDSQL_PARAM:
            raise BadInput(f"{subject}has the unknown parameter {key!r} (PostgreSQL's connection "
                           f"parameters, or {CLOUDSQL_PARAM})")
    instance = dict(params).get(CLOUDSQL_PARAM)
    host = parts.hostname or ""
    if instance is not None:
        if not _INSTANCE.fullmatch(instance):
            raise BadInput(f"{subject}has {CLOUDSQL_PARAM} {instance!r}, which is not an instance connection name "
                           "(PROJECT:REGION:INSTANCE)")
        if not parts.username:
            raise BadInput(f"{subject}names no database user: on Cloud SQL it is your Google identity, with @ "
                           "written %40 (postgresql://alice%40example.com@/DATABASE?cloudsql_instance=...)")
        if host:
            raise BadInput(f"{subject}names both a host and a Cloud SQL instance: leave the host "
                           "out (postgresql://USER@/DATABASE?cloudsql_instance=...)")
    elif not host and "host" not in dict(params):
        raise BadInput(f"{subject}names no host: write postgresql://USER@HOST/DATABASE")
    return PostgresLocation(url=value, user=unquote(parts.username or ""), host=host, port=port, dbname=dbname,
                            params=params, has_password=parts.password is not None)


def registry_location(value: str | Path, *, where: str = "registry") -> Path | PostgresLocation:
    """A registry setting as a file path (TinyDB) or a checked PostgreSQL URL."""
    text = str(value)
    if is_url(text):
        return parse_postgres_url(text, where=where)
    return Path(text).expanduser()


def without_password(value: str) -> str:
    """The text with a URL's password replaced by ***."""
    return re.sub(r"(://[^:/@?#]*:)[^@/?#]*@", r"\1***@", value)


def _shown(value: str) -> str:
    return repr(without_password(value))
