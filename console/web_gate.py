"""The gate in front of the browser console: a request must come to our own address, from our own page, from
someone let in (the launch token, or a verified Identity-Aware Proxy user); it answers who that is."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from aiohttp import web

from console.web_iap import ASSERTION_HEADER, IapVerifier, NotVerified
from console.web_listen import is_own_address
from console.web_options import WebOptions

TOKEN_PARAMETER = "token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(Exception):
    """A request turned away before any console starts; the message says why in one sentence, never a secret."""


@dataclass(frozen=True)
class Identity:
    operator: str
    read_only: bool
    via: str  # the authenticator's, for the server's log


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # lower case; IPv6 in brackets
    port: int

    def __str__(self) -> str:
        shown_port = "" if DEFAULT_PORTS.get(self.scheme) == self.port else f":{self.port}"
        return f"{self.scheme}://{self.host}{shown_port}"


def origins(options: WebOptions) -> tuple[Origin, ...]:
    """The addresses the console's page may be served from by name: the public URL, and on loopback or a
    wildcard its loopback names (on a wildcard, Gate also takes any address literal this machine has)."""
    public = _origin(options.public_url)
    assert public is not None  # checked by web_options
    if not (options.loopback or options.any_address):
        return (public,)
    aliases = tuple(Origin("http", name, options.port) for name in LOOPBACK_NAMES)
    return (public, *[alias for alias in aliases if alias != public])


def _origin(url: str) -> Origin | None:
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or port is None:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return Origin(parts.scheme, host.lower(), port)


class Authenticator(Protocol):
    """Who is let in. One implementation per way of proving it; console/web.py picks one at start."""

    via: str  # how people prove who they are, for the server's log

    async def operator(self, request: web.Request) -> str:
        """The operator the request acts as, or Refused."""
        ...

    def remember(self, request: web.Request, response: web.StreamResponse) -> None:
        """After an admitted page load: keep what the next requests (the socket) will need."""
        ...


class TokenAuthenticator:
    """A random token per launch, printed once; the page trades it for an HttpOnly SameSite=Strict cookie, as
    Jupyter does, so it leaves the address bar and a cross-site page can neither read nor send it."""

    via = "token"

    def __init__(self, operator: str, port: int, secure: bool) -> None:
        self.token = secrets.token_urlsafe(32)
        self._cookie_value = secrets.token_urlsafe(32)  # not the token: a stolen cookie jar does not reveal it
        self._cookie_name = f"opsconsole-{port}"  # cookies ignore ports: two consoles on localhost keep theirs
        self._secure = secure
        self._operator = operator

    async def operator(self, request: web.Request) -> str:
        given = request.query.get(TOKEN_PARAMETER)
        if given is not None:
            if not _same(given, self.token):
                raise Refused("wrong token: open the address printed when the console was started")
            return self._operator
        cookie = request.cookies.get(self._cookie_name)
        if cookie is None:
            raise Refused("no token: open the address printed when the console was started")
        if not _same(cookie, self._cookie_value):
            raise Refused("wrong session cookie (the console was restarted?): open the address printed when the "
                          "console was started")
        return self._operator

    def remember(self, request: web.Request, response: web.StreamResponse) -> None:
        if TOKEN_PARAMETER in request.query:
            response.set_cookie(self._cookie_name, self._cookie_value, path="/", httponly=True, samesite="Strict",
                                secure=self._secure)


class IapAuthenticator:
    """Behind Identity-Aware Proxy: every request carries IAP's signed assertion; the verified email is the
    operator. There is no token and no cookie: IAP sends the assertion with every request, the socket included."""

    via = "Identity-Aware Proxy"

    def __init__(self, verifier: IapVerifier) -> None:
        self._verifier = verifier

    async def operator(self, request: web.Request) -> str:
        try:
            return await self._verifier.email(request.headers.get(ASSERTION_HEADER))
        except NotVerified as error:
            raise Refused(str(error)) from None

    def remember(self, request: web.Request, response: web.StreamResponse) -> None:
        pass


class Gate:
    def __init__(self, options: WebOptions, authenticator: Authenticator) -> None:
        self.origins = origins(options)
        self.authenticator = authenticator
        self._read_only = options.sessions_read_only
        self._port = options.port
        self._any_address = options.any_address

    def ours(self, origin: Origin | None) -> bool:
        """Whether a page at `origin` is this console's. On a wildcard with no --public-url that includes plain
        http on our port at any IP address this machine has: a DNS-rebinding page arrives under its own host
        name, never under one of our address literals, so names other than ours stay refused (mitmproxy guards
        its web UI the same way, Host = localhost or an IP: https://github.com/mitmproxy/mitmproxy/pull/3243)."""
        if origin is None:
            return False
        if origin in self.origins:
            return True
        return (self._any_address and origin.scheme == "http" and origin.port == self._port
                and is_own_address(origin.host))

    def served_as(self, request: web.Request) -> Origin:
        """The address the request was sent to (its Host header), which must be ours: a DNS-rebinding page sends
        its own host name and is refused. Every URL in the page is built from the answer, never from --host."""
        host = request.headers.get("Host", "")
        for origin in self.origins:
            if _host_matches(host, origin):
                return origin
        candidate = _origin(f"http://{host}") if host else None
        if self.ours(candidate):
            assert candidate is not None
            return candidate
        also = " or another IP address of this machine" if self._any_address else ""
        raise Refused(f"Host {host!r} is not this console's address ({self.origins[0]}{also})")

    def check_origin(self, request: web.Request) -> None:
        """A socket must be opened by our own page: browsers always send Origin, and a cross-site page's is its own."""
        given = request.headers.get("Origin")
        if given is None:
            raise Refused("no Origin header: the console's socket is opened by its own page only")
        if not self.ours(_origin(given)):
            raise Refused(f"Origin {given!r} is not this console's page ({self.origins[0]})")

    async def admit(self, request: web.Request, *, socket: bool) -> Identity:
        self.served_as(request)
        if socket:
            self.check_origin(request)
        operator = await self.authenticator.operator(request)
        return Identity(operator=operator, read_only=self._read_only, via=self.authenticator.via)


def _host_matches(host: str, origin: Origin) -> bool:
    parts = urlsplit(f"//{host}")
    try:
        port = parts.port or DEFAULT_PORTS[origin.scheme]
    except ValueError:
        return False
    name = parts.hostname or ""
    name = f"[{name}]" if ":" in name else name
    return name == origin.host and port == origin.port


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
