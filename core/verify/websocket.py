"""WebSocket delivery check: open /ws on the revision, send N JSON messages with ids, wait for every ack.

The platform acknowledges each delivered message with {"type": "ack", "id": ...}; a message accepted
but never acknowledged was lost (for example when Redis, the fan-out store, is down). Pass = no loss.
The client is aiohttp's, run in a private event loop: callers (the CLI, the TUI's worker threads) are
synchronous, and this runs in a thread of its own, so `asyncio.run` never meets a running loop.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from core.verify.common import CheckContext, number, percent, percentile, probe
from core.verify.report import CheckResult

_CLOSE_TIMEOUT_S = 1.0


def websocket_url(http_url: str) -> str:
    """ws(s)://host/…/ws for an http(s) URL: the path of the WebSocket endpoint on that revision."""
    parts = urlsplit(http_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", "", ""))


@dataclass
class Exchange:
    """What happened on one connection: which messages came back and how long each took."""

    sent: int = 0
    round_trips_ms: dict[str, float] = field(default_factory=dict)
    problem: str = ""  # why the connection could not be used or ended early ("" if it lasted)
    refused_with: int | None = None  # the HTTP status that refused the handshake


async def _exchange(url: str, messages: int, timeout: float) -> Exchange:
    run = uuid.uuid4().hex[:8]
    result = Exchange()
    sent_at: dict[str, float] = {}
    session_timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
    async with aiohttp.ClientSession(timeout=session_timeout) as session:
        try:
            async with asyncio.timeout(timeout):
                ws = await session.ws_connect(url, autoclose=True, timeout=aiohttp.ClientWSTimeout(
                    ws_receive=None, ws_close=_CLOSE_TIMEOUT_S))
        except aiohttp.WSServerHandshakeError as exc:
            result.refused_with = exc.status
            result.problem = f"the WebSocket handshake was refused with {exc.status}"
            return result
        except TimeoutError:
            result.problem = f"the WebSocket did not open within {number(timeout)} s"
            return result
        except aiohttp.ClientError as exc:
            result.problem = f"the WebSocket could not connect ({type(exc).__name__})"
            return result
        try:
            for i in range(messages):
                message_id = f"verify-{run}-{i}"
                sent_at[message_id] = time.monotonic()
                await ws.send_str(json.dumps({"type": "verify", "id": message_id, "seq": i}))
                result.sent += 1
            deadline = time.monotonic() + timeout
            while len(result.round_trips_ms) < messages:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    msg = await ws.receive(timeout=left)
                except TimeoutError:
                    break
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.ERROR):
                    result.problem = f"the server closed the WebSocket after {len(result.round_trips_ms)} acks"
                    break
                if msg.type == aiohttp.WSMsgType.TEXT:
                    _record_ack(msg.data, sent_at, result.round_trips_ms)
        except (aiohttp.ClientError, ConnectionError) as exc:
            result.problem = f"the WebSocket failed while sending ({type(exc).__name__})"
        finally:
            await ws.close()
    return result


def _record_ack(data: str, sent_at: dict[str, float], round_trips: dict[str, float]) -> None:
    try:
        ack = json.loads(data)
    except ValueError:
        return  # other traffic on the socket is not ours to judge
    if not isinstance(ack, dict) or ack.get("type") != "ack":
        return
    message_id = ack.get("id")
    if message_id in sent_at and message_id not in round_trips:
        round_trips[message_id] = round((time.monotonic() - sent_at[message_id]) * 1000.0, 2)


def check_websocket(ctx: CheckContext) -> CheckResult:
    if not ctx.target.url:
        return CheckResult("websocket", "fail", f"revision {ctx.target.revision} has no URL of its own (no tag), "
                                                "so no WebSocket can be opened to it")
    url = websocket_url(ctx.target.url)
    exchange = asyncio.run(_exchange(url, ctx.messages, ctx.timeout))
    trips = list(exchange.round_trips_ms.values())
    delivered = len(trips)
    lost = ctx.messages - delivered
    p50, p99 = percentile(trips, 50), percentile(trips, 99)
    details = {"url": url, "messages": ctx.messages, "sent": exchange.sent, "delivered": delivered, "lost": lost,
               "loss_percent": round(100.0 * lost / ctx.messages, 2), "rtt_p50_ms": p50, "rtt_p99_ms": p99,
               "ack_timeout_s": ctx.timeout, "problem": exchange.problem}
    if exchange.refused_with is not None:
        # aiohttp keeps no body of a refused handshake; a plain GET of the same path says why.
        said = probe(ctx, "/ws")
        if said.status == exchange.refused_with and said.reason:
            exchange.problem += f" ({said.reason})"
            details["problem"] = exchange.problem
    if exchange.sent == 0:
        return CheckResult("websocket", "fail", f"{exchange.problem} at {url}", details)
    timing = f", round trip p50 {number(p50)} ms, p99 {number(p99)} ms" if p50 is not None and p99 is not None else ""
    if lost == 0:
        return CheckResult("websocket", "pass", f"all {ctx.messages} messages acknowledged{timing}", details)
    why = exchange.problem or f"no ack within {number(ctx.timeout)} s"
    return CheckResult("websocket", "fail", f"{lost} of {ctx.messages} messages lost "
                                            f"({percent(lost / ctx.messages)}): {why}{timing}", details)
