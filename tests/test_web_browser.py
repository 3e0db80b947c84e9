"""The browser console in a real browser (Debian's Chromium, headless): the printed address opens a working
console, the token leaves the address bar, and keys work at once, without clicking the page first."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import Page, Route, sync_playwright

from tests.web_rig import machine_address, web_server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)")


def test_the_printed_address_opens_a_console_that_takes_keys_at_once(tmp_path: Path) -> None:
    with web_server(tmp_path, "--operator", "alice") as server, sync_playwright() as playwright:
        url = server.start_line.rsplit(" ", 1)[1]
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport={"width": 1400, "height": 900})
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            sent: list[str] = []
            drawn: list[str] = []  # what the console sent to the terminal, escape sequences and all
            page.on("websocket", lambda ws: (
                ws.on("framesent", lambda payload: sent.append(str(payload))),
                ws.on("framereceived", lambda payload: drawn.append(
                    payload.decode(errors="replace") if isinstance(payload, bytes) else payload)),
            ))
            page.goto(url)
            page.wait_for_selector("body.-first-byte", timeout=120_000)
            # The first refresh, and the footer listing the keys (it stayed empty until a click, before).
            wait_until(page, lambda: "probes ok" in plain("".join(drawn)), "the console's first refresh")
            wait_until(page, lambda: "palette" in plain("".join(drawn)), "the footer's keys")
            assert "token" not in page.url  # the cookie holds it now
            assert page.title() == "opsconsole · alice (read-write)"
            assert page.evaluate("document.activeElement.className").startswith("xterm-helper-textarea")

            main_screen = tmp_path / "main.png"
            page.screenshot(path=str(main_screen))

            before = len(drawn)
            page.keyboard.press("?")  # no click anywhere first
            wait_until(page, lambda: '["stdin", "?"]' in sent or '["stdin","?"]' in sent, "the key on the socket")
            wait_until(page, lambda: "what it does" in plain("".join(drawn[before:])), "the help screen's key table")

            help_screen = tmp_path / "help.png"
            page.screenshot(path=str(help_screen))
            for shot in (main_screen, help_screen):
                assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and shot.stat().st_size > 10_000
            assert main_screen.read_bytes() != help_screen.read_bytes()
        finally:
            browser.close()
        assert [console.environ["OPSCONSOLE_OPERATOR"] for console in server.consoles()] == ["alice"]


def test_a_tab_past_the_session_cap_says_why_it_has_no_console(tmp_path: Path) -> None:
    with web_server(tmp_path, "--max-sessions", "1") as server, sync_playwright() as playwright:
        url = server.start_line.rsplit(" ", 1)[1]
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            first = browser.pages[0] if browser.pages else browser.new_page()
            first.goto(url)
            first.wait_for_selector("body.-first-byte", timeout=120_000)
            second = browser.new_page()
            second.goto(f"{server.origin}/")  # the cookie from the first tab lets it in; the cap does not
            second.wait_for_selector("body.-closed", timeout=60_000)
            message = second.inner_text(".closed-dialog .message")
            assert "No console free: this server runs at most 1 at once (--max-sessions 1)" in message
            second.screenshot(path=str(tmp_path / "full.png"))
        finally:
            browser.close()
        assert len(server.started_sessions()) == 1


def test_a_browser_on_another_machine_loads_the_console_and_fetches_nothing_from_elsewhere(tmp_path: Path) -> None:
    # Bound to every interface and loaded by the machine's own network address, as a colleague's browser would;
    # the browser may reach that address alone, so a font or script from anywhere else would show up here.
    address = machine_address()
    if address is None:
        pytest.skip("needs a non-loopback address (hostname -I)")
    with web_server(tmp_path, "--allow-remote", "--operator", "alice", host="0.0.0.0") as server, \
            sync_playwright() as playwright:
        url = server.start_line.rsplit(" ", 1)[1]
        ours = f"{address}:{server.port}"
        assert urlsplit(url).netloc == ours
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport={"width": 1400, "height": 900})
        served: list[str] = []
        elsewhere: list[str] = []

        def only_ours(route: Route) -> None:
            request_url = route.request.url
            if urlsplit(request_url).netloc == ours:
                served.append(urlsplit(request_url).path)
                route.continue_()
            else:
                elsewhere.append(request_url)
                route.abort()

        browser.route("**/*", only_ours)
        try:
            page = browser.pages[0] if browser.pages else browser.new_page()
            sockets: list[str] = []
            drawn: list[str] = []
            page.on("websocket", lambda ws: (
                sockets.append(ws.url),
                ws.on("framereceived", lambda payload: drawn.append(
                    payload.decode(errors="replace") if isinstance(payload, bytes) else payload)),
            ))
            page.goto(url)
            page.wait_for_selector("body.-first-byte", timeout=120_000)
            wait_until(page, lambda: "probes ok" in plain("".join(drawn)), "the console's first refresh")
            assert page.title() == "opsconsole · alice (read-only)"  # a remote session watches
            assert sockets == [f"ws://{ours}/ws?width=" + sockets[0].split("?width=", 1)[1]]
            screen = plain("".join(drawn))
            assert all(name in screen for name in ("dev", "staging", "production")), screen[-2000:]
            assert page.evaluate("document.fonts.check('16px \"Roboto Mono\"')")
            assert "/static/fonts/RobotoMono-VariableFont_wght.ttf" in served

            shot = tmp_path / "remote.png"
            page.screenshot(path=str(shot))
            assert_drawn(shot)

            before = len(drawn)
            page.keyboard.press("?")
            wait_until(page, lambda: "what it does" in plain("".join(drawn[before:])), "the help screen's key table")
        finally:
            browser.close()
        assert elsewhere == []
        assert served[0] == "/" and {"/static/js/textual.js", "/static/css/xterm.css"} <= set(served)


def assert_drawn(png: Path) -> None:
    """A screenshot with a console in it: many colours (text, borders, cards), not one flat background."""
    with Image.open(png) as image:
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 20) or []
        background = max(colours)[0] if colours else 0
        total = pixels.width * pixels.height
    assert len(colours) > 50, f"{png} has {len(colours)} colours: blank?"
    assert background < 0.95 * total, f"{png} is {background / total:.0%} one colour: blank?"


def plain(ansi: str) -> str:
    """Terminal output without its escape sequences (a word split by a cursor move reads whole again)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", ansi)


def wait_until(page: Page, check: Callable[[], bool], what: str, timeout_ms: int = 60_000) -> None:
    waited = 0
    while not check():
        if waited >= timeout_ms:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(200)  # not time.sleep: Playwright delivers the frame events while it waits
        waited += 200
