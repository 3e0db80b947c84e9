"""The browser console's gate, tried as an attacker would: each way in without being let in is refused before any
console starts, and nothing lands in the registry; the one way in starts exactly one console, as its operator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest

from tests.web_rig import WebServer, knock, web_server

EVIL = "http://attacker.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """One server for every refusal: none of them may start a console or write the registry."""
    with web_server(tmp_path_factory.mktemp("gate"), "--operator", "alice") as running:
        yield running


async def test_a_cross_site_page_is_refused_before_anything_starts(server: WebServer) -> None:
    # The operator's own browser carries the cookie; the page that opens the socket is someone else's.
    assert await knock(server, origin=EVIL, cookies=server.cookie()) == 403
    assert await knock(server, origin="null", cookies=server.cookie()) == 403
    assert "refused GET /ws" in server.text and "Origin 'http://attacker.example'" in server.text
    server.assert_nothing_started()


async def test_a_socket_without_an_origin_is_refused(server: WebServer) -> None:
    assert await knock(server, origin=None, cookies=server.cookie()) == 403
    server.assert_nothing_started()


async def test_a_socket_without_the_token_is_refused(server: WebServer) -> None:
    assert await knock(server, origin=server.origin) == 403
    server.wait_for("the refusal logged", lambda: "no token" in server.text, timeout=10)  # written after the answer
    server.assert_nothing_started()


async def test_a_wrong_token_or_cookie_is_refused(server: WebServer) -> None:
    page = httpx.get(f"{server.origin}/?token=guessed-{server.token[:8]}")
    assert page.status_code == 403 and "wrong token" in page.text
    assert "set-cookie" not in page.headers
    cookie_name = next(iter(server.cookie()))
    assert await knock(server, origin=server.origin, cookies={cookie_name: "forged"}) == 403
    assert await knock(server, origin=server.origin, query="?token=guessed") == 403
    server.assert_nothing_started()


async def test_a_rebinding_page_with_its_own_host_name_is_refused(server: WebServer) -> None:
    # DNS rebinding: attacker.example resolves to 127.0.0.1, so its page is same-origin with itself and sends
    # its own Host, even with the token it somehow holds.
    spoofed = {"Host": f"attacker.example:{server.port}"}
    page = httpx.get(f"{server.origin}/?token={server.token}", headers=spoofed)
    assert page.status_code == 403 and "set-cookie" not in page.headers
    status = await knock(server, origin=f"http://attacker.example:{server.port}", cookies=server.cookie(),
                         headers=spoofed)
    assert status == 403
    assert httpx.get(f"{server.origin}/static/js/textual.js", headers=spoofed).status_code == 403
    server.assert_nothing_started()


def test_the_page_needs_the_token_and_trades_it_for_a_strict_cookie(server: WebServer) -> None:
    assert httpx.get(f"{server.origin}/").status_code == 403
    page = httpx.get(f"{server.origin}/?token={server.token}")
    assert page.status_code == 200
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and server.token not in cookie
    assert server.token not in page.text  # the page carries no secret
    assert "history.replaceState" in page.text  # and takes the token out of the address bar
    assert f"ws://127.0.0.1:{server.port}/ws" in page.text
    assert "fonts.googleapis.com" not in page.text  # nothing fetched from elsewhere
    assert page.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    reloaded = httpx.get(f"{server.origin}/", cookies=server.cookie())
    assert reloaded.status_code == 200


def test_static_files_are_served_without_directory_listings(server: WebServer) -> None:
    assert httpx.get(f"{server.origin}/static/js/textual.js").status_code == 200
    for listing in ("/static/", "/static/js/", "/static/fonts/"):
        response = httpx.get(f"{server.origin}{listing}")
        assert response.status_code in (403, 404)
        assert "textual.js" not in response.text and "RobotoMono" not in response.text


def test_the_token_is_written_once_in_the_start_line_and_nowhere_else(server: WebServer) -> None:
    httpx.get(f"{server.origin}/?token={server.token}")
    httpx.get(f"{server.origin}/?token=wrong")
    assert server.text.count(server.token) == 1
    assert server.start_line.endswith(f"http://127.0.0.1:{server.port}/?token={server.token}")


async def test_a_session_runs_as_its_operator_and_the_cap_refuses_the_next(tmp_path: Path) -> None:
    with web_server(tmp_path, "--operator", "Alice Example", "--max-sessions", "1") as server:
        cookies = server.cookie()
        async with aiohttp.ClientSession(cookies=cookies) as client:
            first = await client.ws_connect(f"ws://127.0.0.1:{server.port}/ws?width=100&height=30",
                                            origin=server.origin)
            message = await first.receive(timeout=120)
            assert message.type == aiohttp.WSMsgType.BINARY and len(message.data) > 0  # the console draws
            [console] = server.consoles()
            assert console.environ["OPSCONSOLE_OPERATOR"] == "Alice Example"
            assert "--read-only" not in console.argv  # on loopback, with the token: the launcher's own console

            second = await client.ws_connect(f"ws://127.0.0.1:{server.port}/ws", origin=server.origin)
            closing = await second.receive(timeout=30)
            assert closing.type == aiohttp.WSMsgType.CLOSE
            assert second.close_code == 1013 and "--max-sessions 1" in closing.extra
            assert [c.pid for c in server.consoles()] == [console.pid]  # nothing more was started
            assert len(server.started_sessions()) == 1

            await first.close()
            server.wait_for("the console to quit", lambda: server.consoles() == [])
            third = await client.ws_connect(f"ws://127.0.0.1:{server.port}/ws", origin=server.origin)
            # The place was freed. Wait for the console's first refresh: a console quit while still mounting
            # prints Textual's own traceback.
            drawn = b""
            async with asyncio.timeout(120):
                while b"probes ok" not in drawn:
                    frame = await third.receive()
                    assert frame.type == aiohttp.WSMsgType.BINARY, frame
                    drawn += frame.data
            await third.send_str("{not json")  # a broken client ends its own session, said in one line
            server.wait_for("the session to end", lambda: "ended on a malformed message" in server.text)
            server.wait_for("its console to quit", lambda: server.consoles() == [])
        assert "Traceback" not in server.text, server.text
