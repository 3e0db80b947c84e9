"""A TCP proxy between a client and a server that a test can cut, reset and heal, to play a network failure.

`TcpProxy(host, port)` listens on 127.0.0.1:`proxy.port` and forwards each connection to host:port, from one
background thread (a selector loop). What the client sees:

- `cut()`: a partition. Nothing more crosses in either direction and no socket is closed: the client's writes
  still succeed (the proxy's kernel takes them until its buffers fill) and its reads wait forever; a new
  connection is accepted by the kernel and then hears nothing, so only a client-side timeout ends the wait
  (libpq's connect_timeout, a future's timeout...). The server's statement_timeout cannot: the query never
  reaches it. By default the bytes are held, as TCP's retransmissions would hold them, so after `heal()` a
  connection that lived through the cut carries on; `cut(drop=True)` reads and discards them instead, which
  leaves such a connection broken mid-message.
- `reset()`: every connection through the proxy is closed with an RST (SO_LINGER 0) on both sides; the
  client sees "connection reset" / "server closed the connection unexpectedly". New connections are served
  (unless the proxy is cut).
- `heal()`: forward again, the held bytes first, and accept the connections that waited.
- `close()`: reset everything and stop listening.

Every call returns once the loop thread has carried it out: no byte crosses after `cut()` returns.
"""

from __future__ import annotations

import contextlib
import queue
import selectors
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

_CHUNK = 65536
_HIGH_WATER = 1 << 20  # bytes held for a slow receiver before the proxy stops reading its sender


class _Link:
    """One proxied connection: the client's socket, the server's, and the bytes each way not yet sent."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.pending = {client: bytearray(), upstream: bytearray()}  # bytes waiting to be written TO that socket
        self.eof = {client: False, upstream: False}  # that socket's peer has finished sending

    def other(self, sock: socket.socket) -> socket.socket:
        return self.upstream if sock is self.client else self.client


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, listen_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((listen_host, 0))
        self._listener.setblocking(False)
        self.host = listen_host
        self.port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], threading.Event, list[Any]]] = queue.SimpleQueue()
        self._links: dict[socket.socket, _Link] = {}
        self._cut = False
        self._drop = False
        self._closed = False
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._loop, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()
        self._call(self._update_interest)

    # -- what a test calls (each runs on the loop thread and returns when done) ------------------------------

    def cut(self, *, drop: bool = False) -> None:
        def do() -> None:
            self._cut, self._drop = True, drop
            self._update_interest()

        self._call(do)

    def heal(self) -> None:
        def do() -> None:
            self._cut = self._drop = False
            self._update_interest()

        self._call(do)

    def reset(self) -> None:
        def do() -> None:
            for link in {id(link): link for link in self._links.values()}.values():
                self._close_link(link, rst=True)
            self._update_interest()

        self._call(do)

    @property
    def connections(self) -> int:
        """How many client connections the proxy forwards now."""
        return int(self._call(lambda: len(self._links) // 2))

    @property
    def is_cut(self) -> bool:
        return self._cut

    def close(self) -> None:
        if self._closed:
            return
        self.reset()

        def do() -> None:
            self._closed = True

        self._call(do)
        self._thread.join(timeout=5)
        self._selector.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, fn: Callable[[], Any]) -> Any:
        if self._closed:
            raise RuntimeError("the proxy is closed")
        done, result = threading.Event(), list[Any]()
        self._calls.put((fn, done, result))
        self._wake_w.send(b"\0")
        if not done.wait(timeout=10):
            raise RuntimeError("the proxy's loop thread did not answer")
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    # -- the loop thread -------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._closed:
            for key, mask in self._selector.select():
                sock = key.fileobj
                if sock is self._wake_r:
                    self._run_calls()
                elif sock is self._listener:
                    self._accept()
                elif sock in self._links:
                    assert isinstance(sock, socket.socket)
                    link = self._links[sock]
                    if mask & selectors.EVENT_WRITE:
                        self._flush(link, sock)
                    if mask & selectors.EVENT_READ and sock in self._links:
                        self._read(link, sock)
                    if sock in self._links:
                        self._interest(link)

    def _run_calls(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wake_r.recv(4096)
        while True:
            try:
                fn, done, result = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                result.append(fn())
            except BaseException as exc:  # handed to the caller's thread
                result.append(exc)
            done.set()

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _rst(client)  # the server is down: the client is refused as it would be without the proxy
            return
        link = _Link(client, upstream)
        for s in (client, upstream):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._links[s] = link
        self._interest(link)

    def _read(self, link: _Link, sock: socket.socket) -> None:
        try:
            data = sock.recv(_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            self._close_link(link, rst=True)
            return
        if not data:
            link.eof[sock] = True
            if not self._cut:  # a cut holds the EOF back too, until heal()
                self._finish_if_done(link)
            return
        if not self._drop:
            link.pending[link.other(sock)] += data

    def _flush(self, link: _Link, sock: socket.socket) -> None:
        pending = link.pending[sock]
        if pending:
            try:
                sent = sock.send(pending)
            except BlockingIOError:
                return
            except OSError:
                self._close_link(link, rst=True)
                return
            del pending[:sent]
        self._finish_if_done(link)

    def _finish_if_done(self, link: _Link) -> None:
        # A side that said EOF and whose bytes are all forwarded: pass the EOF on. Both done: close.
        for src in (link.client, link.upstream):
            dst = link.other(src)
            if link.eof[src] and not link.pending[dst]:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
        if all(link.eof.values()) and not any(link.pending.values()):
            self._close_link(link, rst=False)

    def _close_link(self, link: _Link, *, rst: bool) -> None:
        for s in (link.client, link.upstream):
            if self._links.pop(s, None) is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(s)
            if rst:
                _rst(s)
            else:
                s.close()

    def _interest(self, link: _Link) -> None:
        for s in (link.client, link.upstream):
            if s not in self._links:
                continue
            events = 0
            if self._cut:
                if self._drop and not link.eof[s]:
                    events = selectors.EVENT_READ
            else:
                if not link.eof[s] and len(link.pending[link.other(s)]) < _HIGH_WATER:
                    events |= selectors.EVENT_READ
                if link.pending[s]:
                    events |= selectors.EVENT_WRITE
            self._watch(s, events)

    def _watch(self, sock: socket.socket, events: int) -> None:
        # A selector holds no socket without events: such a socket leaves it until it has some again.
        registered = sock in self._selector.get_map()
        if not events:
            if registered:
                self._selector.unregister(sock)
        elif registered:
            self._selector.modify(sock, events)
        else:
            self._selector.register(sock, events)

    def _update_interest(self) -> None:
        for link in {id(link): link for link in self._links.values()}.values():
            if not self._cut:
                self._finish_if_done(link)
            if link.client in self._links:
                self._interest(link)
        # While cut, new connections wait in the kernel's backlog.
        self._watch(self._listener, 0 if self._cut else selectors.EVENT_READ)


def _rst(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN: SO_LINGER on, timeout 0."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()
