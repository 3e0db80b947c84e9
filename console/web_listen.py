"""The browser console's listening sockets, bound before anything else is built so the port in the printed
address is the one held: `--port 0` takes a free port and every address of the host name gets the same one.

asyncio's `loop.create_server(host, port)` binds each address that `getaddrinfo` gives for the host (both ::1
and 127.0.0.1 for "localhost"), and with port 0 each of them would get a different port; here the first one
picks the port and the others bind it too. The socket options are asyncio's: SO_REUSEADDR, and IPV6_V6ONLY so an
IPv6 socket does not also claim the IPv4 address (https://docs.python.org/3/library/asyncio-eventloop.html,
`loop.create_server`: "reuse_address ... defaults to True on Unix").
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import socket


class BindFailed(Exception):
    """The server could not listen where it was asked to (exit code 1)."""


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for every address of `host`, all on one port (a free one when `port` is 0)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as error:
        raise BindFailed(_bind_problem(host, port, error)) from None
    bound: list[socket.socket] = []
    chosen = port
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):  # getaddrinfo may repeat an address
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address[0], chosen, *address[2:]))
            sock.listen(128)
            chosen = sock.getsockname()[1]
    except OSError as error:
        for sock in bound:
            sock.close()
        raise BindFailed(_bind_problem(host, chosen, error)) from None
    return bound


def bound_port(sockets: list[socket.socket]) -> int:
    return int(sockets[0].getsockname()[1])


def _bind_problem(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use: stop what listens there or choose another --port"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: no network interface of this machine has that address"
    if error.errno == errno.EACCES:
        return f"not allowed to listen on port {port} (ports below 1024 need privileges): choose another --port"
    return f"cannot listen on {host}:{port}: {error.strerror or error}"


# A documentation address (RFC 5737 / RFC 3849): connecting a UDP socket to it only asks the kernel which route,
# and so which local address, it would take; no packet is sent.
_ROUTE_PROBES = {socket.AF_INET: "198.51.100.1", socket.AF_INET6: "2001:db8::1"}


def default_address(host: str) -> str:
    """The address other machines most likely reach a wildcard listener at: the one this machine's default route
    leaves from; the loopback address when there is no route (then no other machine reaches it anyway)."""
    family = socket.AF_INET6 if host == "::" else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((_ROUTE_PROBES[family], 9))
            address = str(probe.getsockname()[0])
        except OSError:
            address = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    return f"[{address}]" if ":" in address else address


@functools.lru_cache(maxsize=64)
def is_own_address(host: str) -> bool:
    """Whether `host` is an IP address literal of one of this machine's interfaces (brackets allowed for IPv6):
    binding to an address the machine does not have fails with EADDRNOTAVAIL. Cached: Host headers repeat."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False  # a name, not an address
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((str(address), 0))
        except OSError:
            return False
    return True
