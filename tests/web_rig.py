"""A real `python -m console.web` for the browser console's tests: on the free port of 127.0.0.1 it takes itself
(`--port 0`, read back from its log, so no other process can take it between a pick and a bind), its output kept,
the consoles it started counted through /proc, and a real WebSocket client to knock on its door."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parent.parent
START_LINE = "opsconsole in a browser"


def machine_address() -> str | None:
    """This machine's first non-loopback IPv4 address (`hostname -I`), as another machine would reach it; None on a
    machine with no network. Traffic to it never leaves the machine: the kernel delivers it locally."""
    try:
        listed = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return next((address for address in listed if "." in address and not address.startswith("127.")), None)


def free_port() -> int:
    """A port free now, for what must be named before the server starts (another process may take it before)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_web(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m console.web ARGS` run to its end (for options it refuses)."""
    return subprocess.run([sys.executable, "-m", "console.web", *args], cwd=ROOT, env=env or dict(os.environ),
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class Console:
    """One process the server started for a session: `python -m console ... ui`."""

    pid: int
    argv: list[str]
    environ: dict[str, str]


@dataclass
class WebServer:
    process: subprocess.Popen[str]
    port: int
    registry: Path
    output: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def start_line(self) -> str:
        return next(line for line in self.output if START_LINE in line)

    @property
    def token(self) -> str:
        match = re.search(r"[?&]token=([\w-]+)", self.start_line)
        assert match, self.start_line
        return match.group(1)

    @property
    def text(self) -> str:
        return "\n".join(self.output)

    def started_sessions(self) -> list[str]:
        return [line for line in self.output if re.match(r"session \d+ started", line)]

    def consoles(self) -> list[Console]:
        """The console processes below the server right now (the shell textual-serve starts them with aside)."""
        found = []
        for pid in _descendants(self.process.pid):
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
                raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
            except OSError:
                continue  # ended between the listing and the read
            if argv[1:3] == ["-m", "console"] and "ui" in argv:
                environ = dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)
                found.append(Console(pid, argv, environ))
        return found

    def wait_for(self, condition: str, check: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {condition}; server said:\n{self.text}")
            time.sleep(0.1)

    def cookie(self) -> dict[str, str]:
        """What a browser keeps after opening the printed address: the session cookie (the token never again)."""
        response = httpx.get(f"{self.origin}/?token={self.token}")
        assert response.status_code == 200, response.text
        return {name: value for name, value in response.cookies.items()}

    def assert_nothing_started(self) -> None:
        assert self.consoles() == [], "a console process was started"
        assert self.started_sessions() == [], self.text
        # A console that starts takes the registry's lock and writes the sandbox's state at once: none of it here.
        home = self.registry.parent
        touched = sorted(path.name for pattern in ("registry*", "sandbox*") for path in home.glob(pattern))
        assert touched == [], f"a console touched {touched}"


LISTENING = re.compile(r"listening on \S* port (\d+)$")


@contextmanager
def web_server(tmp: Path, *args: str, host: str = "127.0.0.1", port: int = 0) -> Iterator[WebServer]:
    registry = tmp / "registry.json"
    env = dict(os.environ, OPSCONSOLE_REGISTRY=str(registry), OPSCONSOLE_SANDBOX=str(tmp / "sandbox.json"))
    process = subprocess.Popen(
        [sys.executable, "-m", "console.web", "--host", host, "--port", str(port), *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    server = WebServer(process, port, registry)
    reader = threading.Thread(target=_read, args=(process, server.output), daemon=True)
    reader.start()
    try:
        server.wait_for("the start line", lambda: any(START_LINE in line for line in server.output)
                        or process.poll() is not None, timeout=60)
        assert process.poll() is None, f"the server exited: {server.text}"
        server.port = next(int(m[1]) for line in server.output if (m := LISTENING.search(line)))
        assert port in (0, server.port), server.text
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)


def _read(process: subprocess.Popen[str], output: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line.rstrip("\n"))


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # after "(comm)": state, then ppid
        children[parent].append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children[todo.pop()]:
            found.append(child)
            todo.append(child)
    return found


async def knock(server: WebServer, *, origin: str | None, cookies: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, query: str = "") -> int:
    """Open the console's socket as a client that is not let in: the HTTP status of the refusal."""
    async with aiohttp.ClientSession(cookies=cookies) as client:
        try:
            async with client.ws_connect(f"ws://127.0.0.1:{server.port}/ws{query}", origin=origin,
                                         headers=headers or {}) as socket_:
                await socket_.close()
        except aiohttp.WSServerHandshakeError as refusal:
            return refusal.status
    raise AssertionError("the socket was opened")


@asynccontextmanager
async def console_session(server: WebServer, cookies: dict[str, str] | None = None,
                          headers: dict[str, str] | None = None) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A session let in, as the page opens it, once the console has drawn its first screen."""
    async with aiohttp.ClientSession(cookies=cookies) as client, client.ws_connect(
            f"ws://127.0.0.1:{server.port}/ws?width=100&height=30", origin=server.origin,
            headers=headers or {}) as console_socket:
        first = await console_socket.receive(timeout=120)
        assert first.type == aiohttp.WSMsgType.BINARY and len(first.data) > 0, (first, server.text)
        yield console_socket
