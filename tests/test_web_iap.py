"""The browser console behind Identity-Aware Proxy: only an assertion IAP signed for this backend lets a session
in, as the verified email and read-only; every forgery is refused with nothing started. The keys are an ES256 pair
made here, published by a local key server in IAP's format ({key id: PEM})."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.auth import jwt
from google.auth.crypt import es

from console.web_iap import ASSERTION_HEADER, ISSUER, IapVerifier, NotVerified, keys_from_url
from sandbox.serving import LoopThread, ServedApp
from tests.web_rig import WebServer, console_session, knock, web_server

AUDIENCE = "/projects/123456789/global/backendServices/987654321"
KID = "iap-key-1"
IAP_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


def public_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def assertion(key: ec.EllipticCurvePrivateKey = IAP_KEY, *, kid: str = KID, **claims: object) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600, "sub": "accounts.google.com:1234",
               "email": "alice@example.com", **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(es.EsSigner(key), payload, key_id=kid).decode()


def unsigned(header: dict[str, str], secret: bytes | None) -> str:
    """A token whose alg is not ES256: HS256 keyed with IAP's public key (algorithm confusion), or none."""
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600, "email": "mallory@example.com"}
    signing_input = f"{part(header)}.{part(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


@dataclass
class KeyServer:
    url: str
    keys: dict[str, str]
    hits: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def key_server(loop: LoopThread) -> KeyServer:
    published = KeyServer(url="", keys={KID: public_pem(IAP_KEY)})

    async def public_key(request: web.Request) -> web.Response:
        published.hits.append(request.path)
        return web.json_response(published.keys)

    app = web.Application()
    app.router.add_get("/iap/verify/public_key", public_key)
    published.url = ServedApp(loop, app).url + "/iap/verify/public_key"
    return published


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, key_server: KeyServer) -> Iterator[WebServer]:
    with web_server(tmp_path_factory.mktemp("iap"), "--iap-audience", AUDIENCE,
                    "--iap-keys-url", key_server.url) as running:
        yield running


FORGERIES = {
    "no assertion": {},
    "IAP's unsigned identity headers only": {"x-goog-authenticated-user-email": "accounts.google.com:bob@example.com",
                                             "x-goog-authenticated-user-id": "accounts.google.com:1"},
    "signed by another key under IAP's key id": {ASSERTION_HEADER: assertion(OTHER_KEY)},
    "a key id IAP does not publish": {ASSERTION_HEADER: assertion(OTHER_KEY, kid="attacker-key")},
    "for another backend": {ASSERTION_HEADER: assertion(aud="/projects/1/global/backendServices/2")},
    "expired": {ASSERTION_HEADER: assertion(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)},
    "not issued by IAP": {ASSERTION_HEADER: assertion(iss="https://accounts.google.com")},
    "without an email": {ASSERTION_HEADER: assertion(email=None)},
    "HS256 keyed with IAP's public key": {ASSERTION_HEADER: unsigned({"alg": "HS256", "kid": KID, "typ": "JWT"},
                                                                     public_pem(IAP_KEY).encode())},
    "alg none": {ASSERTION_HEADER: unsigned({"alg": "none", "kid": KID, "typ": "JWT"}, None)},
    "not a JWT": {ASSERTION_HEADER: "let-me-in"},
}


@pytest.mark.parametrize("headers", FORGERIES.values(), ids=FORGERIES.keys())
async def test_a_forged_or_missing_assertion_is_refused(server: WebServer, headers: dict[str, str]) -> None:
    assert httpx.get(f"{server.origin}/", headers=headers).status_code == 403
    assert await knock(server, origin=server.origin, headers=headers) == 403
    server.assert_nothing_started()


async def test_a_verified_user_on_a_cross_site_page_is_refused(server: WebServer) -> None:
    assert await knock(server, origin="http://attacker.example",
                       headers={ASSERTION_HEADER: assertion()}) == 403
    server.assert_nothing_started()


async def test_a_verified_user_gets_a_read_only_console_as_their_email(tmp_path: Path, key_server: KeyServer) -> None:
    with web_server(tmp_path, "--iap-audience", AUDIENCE, "--iap-keys-url", key_server.url) as server:
        assert "token" not in server.start_line
        headers = {ASSERTION_HEADER: assertion(email="carol@example.com")}
        page = httpx.get(f"{server.origin}/", headers=headers)
        assert page.status_code == 200 and "carol@example.com (read-only)" in page.text
        assert "set-cookie" not in page.headers  # IAP sends the assertion with every request; nothing to keep
        async with console_session(server, headers=headers):
            [console] = server.consoles()
            assert console.environ["OPSCONSOLE_OPERATOR"] == "carol@example.com"  # not the server's OS user
            assert "--read-only" in console.argv
        assert "session 1 started for carol@example.com (read-only, by Identity-Aware Proxy)" in server.text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_keys_are_read_once_an_hour_and_again_for_a_new_key_id(key_server: KeyServer) -> None:
    clock = Clock()
    verifier = IapVerifier(AUDIENCE, keys_from_url(key_server.url), clock=clock)
    key_server.hits.clear()
    for _ in range(3):
        assert await verifier.email(assertion()) == "alice@example.com"
    assert len(key_server.hits) == 1

    with pytest.raises(NotVerified, match="does not publish"):
        await verifier.email(assertion(OTHER_KEY, kid="rotated"))
    assert len(key_server.hits) == 1  # a key id seen within the minute: no refetch for every forged one

    key_server.keys["rotated"] = public_pem(OTHER_KEY)  # IAP rotates its keys
    clock.now += 61
    try:
        assert await verifier.email(assertion(OTHER_KEY, kid="rotated")) == "alice@example.com"
        assert len(key_server.hits) == 2
        clock.now += 3601
        await verifier.email(assertion())
        assert len(key_server.hits) == 3
    finally:
        del key_server.keys["rotated"]


async def test_unreadable_keys_refuse_rather_than_let_in() -> None:
    verifier = IapVerifier(AUDIENCE, keys_from_url("http://127.0.0.1:9/no-key-server"))
    with pytest.raises(NotVerified, match="could not be read"):
        await verifier.email(assertion())
