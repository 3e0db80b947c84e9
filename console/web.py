"""Serve the console in a browser: each browser tab runs its own `opsconsole ui` through textual-serve.

`python -m console.web [--host H] [--port P] [--read-only]`, then open http://H:P. textual-serve starts
the command below once per connection with Textual's web driver, so every tab is a whole console with
its own session (and, on the sandbox profile, its own view of the shared sandbox state).
`textual serve "opsconsole ui"` (from the textual-dev package) does the same for development.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from textual_serve.server import Server


def command(read_only: bool) -> str:
    """The shell command textual-serve runs per browser session: this interpreter's `opsconsole ui`."""
    parts = [sys.executable, "-m", "console", "ui"] + (["--read-only"] if read_only else [])
    return shlex.join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m console.web", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--read-only", action="store_true", help="serve a console that refuses every action")
    args = parser.parse_args(argv)
    Server(command(args.read_only), host=args.host, port=args.port, title="opsconsole").serve()


if __name__ == "__main__":
    main()
