"""Serve the console in a browser, one `opsconsole ui` per tab, to the people let in and no one else.

`python -m console.web [--port P]` listens on localhost (on a free port with `--port 0`) and prints, once, an
address carrying a random token; only a browser that opened it gets a console, acting as you. `--iap-audience`
serves a team behind Identity-Aware Proxy instead, each session acting as its verified email. See the README
("In a browser") for what each option opens.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from console.web_gate import Authenticator, Gate, IapAuthenticator, TokenAuthenticator
from console.web_iap import IapVerifier, keys_from_url
from console.web_listen import BindFailed, bind, bound_port
from console.web_options import BadOption, WebOptions, parse, refuse
from console.web_server import GatedServer, until_signalled


def authenticator(options: WebOptions) -> Authenticator:
    if options.iap_audience is not None:
        return IapAuthenticator(IapVerifier(options.iap_audience, keys_from_url(options.iap_keys_url)))
    assert options.operator is not None  # web_options sets it whenever there is no proxy
    return TokenAuthenticator(options.operator, options.port, secure=options.public_url.startswith("https:"))


def start_line(options: WebOptions, gate: Gate) -> str:
    """The one line that says where to go; in token mode it is the only place the token is ever written."""
    mode = "read-only" if options.sessions_read_only else "read-write"
    limit = f"at most {options.max_sessions} at once"
    if isinstance(gate.authenticator, TokenAuthenticator):
        return (f"opsconsole in a browser, as {options.operator} ({mode}, {limit}); open this address, "
                f"whose token lets you in: {options.public_url}/?token={gate.authenticator.token}")
    return (f"opsconsole in a browser behind Identity-Aware Proxy for {options.iap_audience}, each session as "
            f"its verified email ({mode}, {limit}): {options.public_url}/")


async def serve(options: WebOptions) -> None:
    # Bound first and held: the port (a free one with --port 0) is known before the gate, its cookie name and the
    # printed address are built from it, and nothing else can take it in between.
    sockets = bind(options.host, options.port)
    options = options.listening_on(bound_port(sockets))
    gate = Gate(options, authenticator(options))
    runner = await GatedServer(options, gate).listen(sockets)
    logging.getLogger("opsconsole.web").info("listening on %s port %d", options.host, options.port)
    print(start_line(options, gate), flush=True)
    try:
        await until_signalled()
    finally:
        await runner.cleanup()  # closes every session's socket, and each console quits


def main(argv: list[str] | None = None) -> None:
    try:
        options = parse(argv)
    except BadOption as error:
        refuse(error)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        asyncio.run(serve(options))
    except BindFailed as error:
        sys.stderr.write(f"python -m console.web: {error}\n")
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
