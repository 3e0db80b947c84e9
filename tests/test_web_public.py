"""The browser console served to other machines (`--host 0.0.0.0`): the printed address and every URL in the page
name an address a browser elsewhere can load, never 0.0.0.0, and the page and its assets name no other host, so
nothing is fetched from the internet (the font is served from here)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.web_rig import WebServer, knock, machine_address, web_server

ADDRESS = machine_address()
NOT_OURS = "203.0.113.7"  # TEST-NET-3 (RFC 5737): no machine has it
pytestmark = pytest.mark.skipif(ADDRESS is None, reason="needs a non-loopback address (hostname -I)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with web_server(tmp_path_factory.mktemp("public"), "--allow-remote", "--operator", "alice",
                    host="0.0.0.0") as running:
        yield running


def printed_address(server: WebServer) -> str:
    return server.start_line.rsplit(" ", 1)[1]


def get(url: str, host: str | None = None, cookies: dict[str, str] | None = None) -> httpx.Response:
    # trust_env=False: a proxy from the environment must not stand between the test and this machine's address.
    with httpx.Client(trust_env=False, cookies=cookies) as client:
        return client.get(url, headers={"Host": host} if host else None)


def socket_url(page: str) -> str:
    match = re.search(r'data-session-websocket-url="([^"]*)"', page)
    assert match, page
    return match.group(1)


def test_the_printed_address_is_one_other_machines_can_load(server: WebServer) -> None:
    url = printed_address(server)
    assert urlsplit(url).netloc == f"{ADDRESS}:{server.port}"  # the default route's address, not 0.0.0.0
    page = get(url)
    assert page.status_code == 200
    assert socket_url(page.text) == f"ws://{ADDRESS}:{server.port}/ws"
    assert "0.0.0.0" not in page.text


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "ADDRESS"])
def test_each_page_names_the_address_it_was_loaded_from(server: WebServer, name: str) -> None:
    host = f"{ADDRESS if name == 'ADDRESS' else name}:{server.port}"
    page = get(f"http://{ADDRESS}:{server.port}/", host=host, cookies=server.cookie())
    assert page.status_code == 200
    assert socket_url(page.text) == f"ws://{host}/ws"


@pytest.mark.parametrize("host", ["attacker.example", NOT_OURS])
def test_a_name_or_an_address_not_ours_is_refused(server: WebServer, host: str) -> None:
    page = get(f"http://{ADDRESS}:{server.port}/", host=f"{host}:{server.port}", cookies=server.cookie())
    assert page.status_code == 403
    assert f"Host '{host}:{server.port}' is not this console's address" in html.unescape(page.text)


async def test_a_socket_from_a_page_at_an_address_not_ours_is_refused(server: WebServer) -> None:
    assert await knock(server, origin=f"http://{NOT_OURS}:{server.port}", cookies=server.cookie()) == 403
    server.assert_nothing_started()


def test_behind_a_public_url_only_that_address_is_taken(tmp_path: Path) -> None:
    with web_server(tmp_path, "--allow-remote", "--public-url", "https://console.example.com",
                    host="0.0.0.0") as proxied:
        assert printed_address(proxied).startswith("https://console.example.com/?token=")
        direct = get(f"http://{ADDRESS}:{proxied.port}/?token={proxied.token}")
        assert direct.status_code == 403
        page = get(f"http://{ADDRESS}:{proxied.port}/?token={proxied.token}", host="console.example.com")
        assert socket_url(page.text) == "wss://console.example.com/ws"


class References(HTMLParser):
    """Every URL an HTML page makes a browser load: src and href attributes and url(...) in its styles."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        self.urls += [value for name, value in attrs if name in ("src", "href", "action", "poster") and value]
        self.urls += css_urls(dict(attrs).get("style") or "")

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += css_urls(data)


def css_urls(css: str) -> list[str]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)  # comments (xterm.css credits term.js by URL) load nothing
    return [match.strip("'\" ") for match in re.findall(r"url\(([^)]*)\)|@import\s+['\"]([^'\"]+)", css)
            for match in match if match]


def absolute_urls_in_script(script: str) -> list[str]:
    """String literals in JavaScript that name a host (`"https://…"`, `'//…'`): what a script could fetch."""
    return re.findall(r"[\"'`]((?:[a-z][a-z0-9+.-]*:)?//[^\"'`\s]+)", script)


def test_the_page_and_its_assets_name_no_other_host(server: WebServer) -> None:
    page_url = printed_address(server)
    cookies = server.cookie()
    page = get(page_url, cookies=cookies).text
    found = References()
    found.feed(page)
    inline_scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    assert found.urls, "the page loads nothing? the parser missed its assets"
    assert [url for script in inline_scripts for url in absolute_urls_in_script(script)] == []
    loaded: dict[str, httpx.Response] = {}
    todo = list(found.urls)
    while todo:
        reference = todo.pop()
        assert not urlsplit(reference).netloc and not urlsplit(reference).scheme, f"the page names {reference}"
        url = urljoin(page_url, reference)
        if url in loaded:
            continue
        loaded[url] = response = get(url, cookies=cookies)
        assert response.status_code == 200, url
        kind = response.headers["content-type"]
        if "css" in kind:
            todo += css_urls(response.text)
        if "javascript" in kind:
            assert absolute_urls_in_script(response.text) == [], url
    paths = sorted(urlsplit(url).path for url in loaded)
    assert "/static/js/textual.js" in paths and "/static/css/xterm.css" in paths
    # The terminal's font comes from here: a TrueType file (its magic number), not a web-font service.
    fonts = [loaded[url] for url in loaded if url.endswith(".ttf")]
    assert fonts and all(font.content[:4] == b"\x00\x01\x00\x00" for font in fonts)
