"""The browser console's options: parsed, checked together, and refused in one sentence when they don't fit."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from console.web_listen import default_address

# Where Identity-Aware Proxy publishes the public keys that sign x-goog-iap-jwt-assertion (PEM, by key id):
# https://cloud.google.com/iap/docs/signed-headers-howto ("Verifying the JWT header").
IAP_KEYS_URL = "https://www.gstatic.com/iap/verify/public_key"
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})


class BadOption(Exception):
    """An option, or a combination of options, the server will not start with (exit code 2)."""


@dataclass(frozen=True)
class WebOptions:
    host: str
    port: int
    public_url: str  # scheme://host[:port] that browsers use; the Origin and Host checks compare with it
    allow_remote: bool
    allow_changes: bool
    read_only: bool
    max_sessions: int
    operator: str | None  # whose token sessions are; None behind Identity-Aware Proxy (each user's email)
    iap_audience: str | None
    iap_keys_url: str
    registry: Path | None
    config: Path | None
    public_url_given: bool = False  # --public-url was given (a proxy's address), not derived from host and port

    def listening_on(self, port: int) -> WebOptions:
        """These options once bound: `--port 0` becomes the port the server got, and so does the address printed
        and checked (unless --public-url named the address browsers use)."""
        if port == self.port:
            return self
        public_url = self.public_url if self.public_url_given else _public_url(None, self.host, port)
        return replace(self, port=port, public_url=public_url)

    @property
    def any_address(self) -> bool:
        """Listening on every interface with no --public-url: a browser may come by any address this machine has
        (each page then names the address it was loaded from), not by a name, which a rebinding page could be."""
        return self.host in WILDCARD_HOSTS and not self.public_url_given

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def remote(self) -> bool:
        """Sessions of people at other machines: a non-loopback listener, or anyone arriving through a proxy."""
        return not self.loopback or self.iap_audience is not None

    @property
    def sessions_read_only(self) -> bool:
        # A console on your own machine, opened with your token, is yours to act with; a remote one only watches
        # unless whoever started the server said otherwise.
        return self.read_only or (self.remote and not self.allow_changes)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere: treated as remote


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse's usage block plus message is noise; one sentence and exit 2, like opsconsole's bad input.
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m console.web",
                description="Serve the console in a browser, one console per tab, to people who are let in.")
    p.add_argument("--host", default="localhost", help="address to listen on (default localhost: this machine only)")
    p.add_argument("--port", type=int, default=8000,
                   help="port to listen on (default 8000; 0 takes a free one, which the printed address shows)")
    p.add_argument("--public-url", help="the one address browsers use, e.g. https://console.example.com behind a "
                                        "proxy (default http://HOST:PORT; on --host 0.0.0.0 any address of this "
                                        "machine, printed as the default route's)")
    p.add_argument("--allow-remote", action="store_true",
                   help="allow a --host that other machines can reach; their sessions are read-only")
    p.add_argument("--allow-changes", action="store_true",
                   help="let remote sessions (--allow-remote or --iap-audience) deploy, approve and roll back")
    p.add_argument("--read-only", action="store_true", help="every session only watches; the engine refuses changes")
    p.add_argument("--max-sessions", type=int, default=4, help="consoles open at once (default 4)")
    p.add_argument("--operator", help="who token sessions act as (default OPSCONSOLE_OPERATOR, or your OS user)")
    p.add_argument("--iap-audience", help="serve behind Identity-Aware Proxy: verify its signed header for this "
                                          "audience (/projects/NUMBER/global/backendServices/ID); no token")
    p.add_argument("--iap-keys-url", help=f"where IAP's public keys are read (default {IAP_KEYS_URL})")
    p.add_argument("--registry", type=Path, help="the consoles' deployment registry (as opsconsole --registry)")
    p.add_argument("--config", type=Path, help="the consoles' configuration file (as opsconsole --config)")
    return p


def parse(argv: list[str] | None = None) -> WebOptions:
    """The options, or BadOption naming what is wrong; argparse's own errors exit 2 in one line."""
    args = parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        raise BadOption(f"--port {args.port} is not a port (1 to 65535, or 0 for a free one)")
    if args.max_sessions < 1:
        raise BadOption(f"--max-sessions {args.max_sessions} would refuse every session; give 1 or more")
    if args.host in WILDCARD_HOSTS and not args.allow_remote:
        raise BadOption(f"--host {args.host!r} listens on every network: add --allow-remote if other machines "
                        f"should reach the console (see the README on serving it to a team)")
    if not is_loopback(args.host) and not args.allow_remote:
        raise BadOption(f"--host {args.host} is not this machine's loopback address: add --allow-remote if other "
                        f"machines should reach the console (see the README on serving it to a team)")
    if args.read_only and args.allow_changes:
        raise BadOption("--read-only and --allow-changes contradict each other; give one")
    remote = args.allow_remote or args.iap_audience is not None
    if args.allow_changes and not remote:
        raise BadOption("--allow-changes applies to remote sessions (--allow-remote or --iap-audience); a console on "
                        "localhost with your token already acts as you")
    if args.operator is not None and args.iap_audience is not None:
        raise BadOption("--operator applies to token sessions; behind Identity-Aware Proxy each session acts as "
                        "the verified email")
    if args.iap_keys_url is not None and args.iap_audience is None:
        raise BadOption("--iap-keys-url needs --iap-audience")
    if args.iap_audience is not None and not args.iap_audience.startswith("/projects/"):
        raise BadOption(f"--iap-audience {args.iap_audience!r} is not an IAP audience "
                        f"(/projects/NUMBER/global/backendServices/ID or /projects/NUMBER/apps/PROJECT_ID)")
    return WebOptions(
        host=args.host, port=args.port, public_url=_public_url(args.public_url, args.host, args.port),
        allow_remote=args.allow_remote, allow_changes=args.allow_changes, read_only=args.read_only,
        max_sessions=args.max_sessions,
        operator=None if args.iap_audience else _operator(args.operator),
        iap_audience=args.iap_audience, iap_keys_url=args.iap_keys_url or IAP_KEYS_URL,
        registry=args.registry, config=_config(args.config), public_url_given=args.public_url is not None,
    )


def _public_url(given: str | None, host: str, port: int) -> str:
    if given is None:
        # On a wildcard the printed address is the one the default route leaves from, never 0.0.0.0, which no
        # browser elsewhere can load; the page itself names whichever address it was loaded from.
        shown = default_address(host) if host in WILDCARD_HOSTS else f"[{host}]" if ":" in host else host
        return f"http://{shown}" + ("" if port == 80 else f":{port}")
    parts = urlsplit(given)
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        raise BadOption(f"--public-url {given} has a port that is not a number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise BadOption(f"--public-url {given} is not a browser address like https://console.example.com "
                        f"(http or https, a host, an optional port, no path)")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _operator(given: str | None) -> str:
    if given is not None:
        if not given.strip() or not given.isprintable():
            raise BadOption("--operator needs a name (printable, not empty)")
        return given.strip()
    # The token is handed to the person who started the server, so a token session is that person.
    if name := os.environ.get("OPSCONSOLE_OPERATOR"):
        return name
    try:
        return getpass.getuser()
    except OSError:
        raise BadOption("cannot tell who you are (no OPSCONSOLE_OPERATOR, no OS user name): give --operator "
                        "NAME") from None


def _config(path: Path | None) -> Path | None:
    if path is not None and not path.is_file():
        raise BadOption(f"--config {path} does not exist")
    return path


def refuse(error: BadOption) -> NoReturn:
    sys.stderr.write(f"python -m console.web: {error}\n")
    raise SystemExit(2)
