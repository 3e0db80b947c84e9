"""textual-serve behind the gate: the page, the socket and downloads are let through only as the gate says, each
session runs `opsconsole ui` as its own operator, and no more consoles run at once than allowed."""

from __future__ import annotations

import asyncio
import html
import logging
import shlex
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from console.web_gate import Gate, Identity, Refused
from console.web_options import WebOptions

log = logging.getLogger("opsconsole.web")
PAGE = "web_page.html"
TRY_AGAIN_LATER = 1013  # WebSocket close code: the server is at capacity (RFC 6455 registry)
GOING_AWAY = 1001


def command(read_only: bool, registry: Path | None = None, config: Path | None = None) -> str:
    """The shell command textual-serve runs for one browser session: this interpreter's `opsconsole ui`."""
    parts = [sys.executable, "-m", "console"]
    parts += ["--registry", str(registry)] if registry else []
    parts += ["--config", str(config)] if config else []
    parts += ["ui"] + (["--read-only"] if read_only else [])
    return shlex.join(parts)


class ConsoleService(AppService):
    """One session's console process, acting as the session's operator rather than the server's OS user."""

    def __init__(self, command: str, *, operator: str, **kwargs: Any) -> None:
        super().__init__(command, **kwargs)
        self.operator = operator

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        # textual-serve ~=1.1 builds the child's environment here; OPSCONSOLE_OPERATOR is what the engine records.
        environment = super()._build_environment(width=width, height=height)
        environment["OPSCONSOLE_OPERATOR"] = self.operator
        return environment


class GatedServer(Server):
    def __init__(self, options: WebOptions, gate: Gate) -> None:
        super().__init__(command(options.sessions_read_only), host=options.host, port=options.port,
                         title="opsconsole", public_url=options.public_url)
        self.options = options
        self.gate = gate
        self.sessions = 0
        self.started = 0
        self._sockets: set[web.WebSocketResponse] = set()
        self._pages = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent), autoescape=True)

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._headers])
        app.add_routes([
            web.get("/", self.page, name="index"),
            web.get("/ws", self.socket, name="websocket"),
            web.get("/download/{key}", self.download, name="download"),
            web.static("/static", self.statics_path, show_index=False, name="static"),
        ])
        app.on_shutdown.append(self.on_shutdown)
        return app

    @web.middleware
    async def _headers(self, request: web.Request, handler: web.RequestHandler) -> web.StreamResponse:
        try:
            self.gate.served_as(request)  # every path, static files too: a rebinding page reads nothing here
        except Refused as refusal:
            return self._refuse(request, refusal)
        response = await handler(request)
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def _refuse(self, request: web.Request, refusal: Refused) -> web.Response:
        log.warning("refused %s %s from %s: %s", request.method, request.path, request.remote, refusal)
        return _sentence_page(403, "Not let in", str(refusal))

    def _full(self) -> str:
        limit = self.options.max_sessions
        return (f"No console free: this server runs at most {limit} at once (--max-sessions {limit}); "
                "close one and reload")

    async def page(self, request: web.Request) -> web.Response:
        try:
            identity = await self.gate.admit(request, socket=False)
        except Refused as refusal:
            return self._refuse(request, refusal)
        origin = self.gate.served_as(request)
        socket_scheme = "wss" if origin.scheme == "https" else "ws"
        mode = "read-only" if identity.read_only else "read-write"
        page = self._pages.get_template(PAGE).render(
            title=f"opsconsole · {identity.operator} ({mode})",
            websocket_url=f"{socket_scheme}://{str(origin).split('://', 1)[1]}/ws",
            font_size=to_int(request.query.get("fontsize", "16"), 16),
        )
        response = web.Response(text=page, content_type="text/html")
        self.gate.authenticator.remember(request, response)
        return response

    async def download(self, request: web.Request) -> web.StreamResponse:
        try:
            await self.gate.admit(request, socket=False)
        except Refused as refusal:
            return self._refuse(request, refusal)
        return await super().handle_download(request)

    async def socket(self, request: web.Request) -> web.StreamResponse:
        try:
            identity = await self.gate.admit(request, socket=True)
        except Refused as refusal:
            return self._refuse(request, refusal)  # before the upgrade: a 403, and no process exists for it
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        if self.sessions >= self.options.max_sessions:
            # Accepted only to be closed with the reason, which the page shows (a refused upgrade shows nothing).
            log.warning("refused a session for %s: %s", identity.operator, self._full())
            await websocket.close(code=TRY_AGAIN_LATER, message=self._full().encode()[:120])
            return websocket
        self.sessions += 1  # counted before the first await that could let another socket in
        self.started += 1
        self._sockets.add(websocket)
        try:
            await self._run_console(request, websocket, identity)
        finally:
            self._sockets.discard(websocket)
            self.sessions -= 1
        return websocket

    async def _run_console(self, request: web.Request, websocket: web.WebSocketResponse, identity: Identity) -> None:
        number = self.started
        mode = "read-only" if identity.read_only else "read-write"
        log.info("session %d started for %s (%s, by %s) from %s", number, identity.operator, mode, identity.via,
                 request.remote)
        service = ConsoleService(
            command(identity.read_only, self.options.registry, self.options.config),
            write_bytes=websocket.send_bytes, write_str=websocket.send_str, close=websocket.close,
            download_manager=self.download_manager, operator=identity.operator,
        )
        try:
            await service.start(to_int(request.query.get("width", "80"), 80),
                                to_int(request.query.get("height", "24"), 24))
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except (ValueError, LookupError, TypeError, AssertionError) as error:
            # A malformed message from the browser ends that session, said in one line (no traceback).
            log.warning("session %d ended on a malformed message: %s", number, error)
        except ConnectionError as error:
            log.warning("session %d lost its console: %s", number, error)
        finally:
            await service.stop()
            log.info("session %d ended", number)

    async def on_shutdown(self, app: web.Application) -> None:
        for websocket in list(self._sockets):
            await websocket.close(code=GOING_AWAY, message=b"the console server is shutting down")

    async def listen(self, sockets: list[socket.socket]) -> web.AppRunner:
        """Serving on the sockets console.web_listen bound (so the port is known before the gate is built); the
        caller cleans the runner up."""
        runner = web.AppRunner(await self._make_app(), access_log=None, handle_signals=False)
        await runner.setup()
        for sock in sockets:
            await web.SockSite(runner, sock).start()
        return runner


async def until_signalled() -> None:
    """Returns on SIGINT or SIGTERM (Ctrl+C, or a service manager stopping us)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def _sentence_page(status: int, title: str, sentence: str) -> web.Response:
    body = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body style='font-family:monospace;background:#0c181f;color:#eee;padding:2em'>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(sentence)}</p></body></html>")
    return web.Response(status=status, text=body, content_type="text/html")
