"""Run the sandbox cloud standalone: `python -m sandbox [--state-file F] [--scenario S] [--speed X]`.

Prints one JSON line with the endpoints, then serves until SIGINT/SIGTERM, saving its state on the way
out. `opsconsole sandbox serve` is meant to call `serve()` the same way.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from core.errors import OpsError
from sandbox.clock import SandboxClock
from sandbox.cloud import SandboxCloud
from sandbox.monitoring_ingest import DRAWN, GOOGLE_POINT_S, Ingestion


def serve(state_file: Path | None, scenario: str, speed: float, ingestion: Ingestion | None = None) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    cloud = SandboxCloud(scenario=scenario, clock=SandboxClock(speed=speed), state_file=state_file,
                         ingestion=ingestion).start()
    try:
        print(json.dumps(cloud.endpoints.to_dict()), flush=True)
        stop.wait()
    finally:
        cloud.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--state-file", type=Path, default=None)
    parser.add_argument("--scenario", default="healthy")
    parser.add_argument("--speed", type=float, default=1.0, help="sandbox seconds per real second")
    parser.add_argument("--metric-point-s", type=int, default=None,
                        help="seconds per Cloud Run point in Monitoring: 60 is Google's; shorter is not (tests)")
    parser.add_argument("--ingestion-delay", default=None,
                        help="'google' (drawn like Google's, at most 180 s) or seconds, which is not Google's")
    args = parser.parse_args(argv)
    try:
        ingestion = None if args.metric_point_s is None and args.ingestion_delay is None else \
            Ingestion.parse(args.metric_point_s or GOOGLE_POINT_S, args.ingestion_delay or DRAWN)
        serve(args.state_file, args.scenario, args.speed, ingestion)
    except OpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
