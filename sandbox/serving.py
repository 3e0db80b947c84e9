"""Runs the sandbox's aiohttp applications on loopback from a background event loop thread.

The console and the tests are synchronous; the sandbox's HTTP and WebSocket servers are asyncio.
One daemon thread owns one event loop, and every app is started on it with a free port.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running in a daemon thread, for serving apps from synchronous code."""

    def __init__(self, name: str = "sandbox-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class ServedApp:
    """One aiohttp application listening on 127.0.0.1; `url` is its base address."""

    def __init__(self, loop: LoopThread, app: web.Application, host: str = "127.0.0.1", port: int = 0) -> None:
        self._loop = loop
        self._runner = web.AppRunner(app, access_log=None)
        self.url = loop.call(self._start(host, port))

    async def _start(self, host: str, port: int) -> str:
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server  # aiohttp exposes the bound socket only here
        assert server is not None and server.sockets
        bound_port = server.sockets[0].getsockname()[1]
        return f"http://{host}:{bound_port}"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self) -> None:
        self._loop.call(self._runner.cleanup())
