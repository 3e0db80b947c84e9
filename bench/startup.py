"""Benchmark of what a CLI call costs before it does anything: wall time, CPU time and modules loaded.

    python bench/startup.py [--runs 9] [--root DIR]

Each row starts a fresh interpreter the way a user does (`python -m console ...`, the same entry as the
`opsconsole` script) and reports, over --runs starts, the median wall time and the median CPU time the
child used (user + system, from the kernel's accounting of waited-for children: on a machine shared
with other work this is the figure that does not depend on the load). The module count is sys.modules
when the process exits, with the names of the heavy families (google, grpc, aiohttp, textual, pydantic).

`--root DIR` measures another checkout of the repository (for instance `git archive` of an older commit
unpacked in /tmp), so a before/after table is taken on the same machine in the same minute. Commands
that need a registry or configuration get an empty one in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Runs the real entry point (console/__main__.py) and, at exit, writes the modules it loaded to a file.
PROBE = """\
import atexit, json, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv[0] = "opsconsole"
runpy.run_module("console", run_name="__main__", alter_sys=True)
"""
HEAVY = ("google", "grpc", "aiohttp", "textual", "pydantic", "rich", "core.providers", "sandbox")
COMMANDS: list[tuple[str, list[str]]] = [
    ("opsconsole --help", ["--help"]),
    ("opsconsole deploy --help", ["deploy", "--help"]),
    ("opsconsole history (empty registry)", ["history"]),
    ("opsconsole config show", ["config", "show"]),
]


def environment(root: Path, home: Path) -> dict[str, str]:
    """The child's environment: `root` first on the path, and a registry and config dirs of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCONSOLE_")}
    env.update(PYTHONPATH=str(root), OPSCONSOLE_REGISTRY=str(home / "registry.json"),
               OPSCONSOLE_SANDBOX=str(home / "sandbox.json"), XDG_CONFIG_HOME=str(home / "config"),
               XDG_DATA_HOME=str(home / "data"))
    return env


def loaded_modules(root: Path, args: list[str], home: Path) -> list[str]:
    """The modules a `python -m console ARGS` process has loaded when it exits."""
    out = home / "modules.json"
    subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=home, env=environment(root, home),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    return list(json.loads(out.read_text()))


def timed_start(root: Path, args: list[str], home: Path) -> tuple[float, float]:
    """Wall and CPU milliseconds of one `python -m console ARGS` run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "console", *args], cwd=home, env=environment(root, home),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    wall = (time.perf_counter() - began) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def families(modules: list[str]) -> str:
    found = [h for h in HEAVY if any(m == h or m.startswith(h + ".") for m in modules)]
    return ", ".join(found) or "none"


def measure(root: Path, runs: int) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for name, args in COMMANDS:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            modules = loaded_modules(root, args, home)
            timings = [timed_start(root, args, home) for _ in range(runs)]
        rows.append((name, str(len(modules)), f"{statistics.median(w for w, _ in timings):.0f}",
                     f"{statistics.median(c for _, c in timings):.0f}", families(modules)))
    return rows


def table(rows: list[tuple[str, ...]]) -> str:
    rows = [("command", "modules", "wall ms (median)", "CPU ms (median)", "heavy families loaded"), *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = measure(args.root.resolve(), args.runs)
    print(f"start-up of {args.root}: {args.runs} runs each, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at the start")
    print(table(rows))


if __name__ == "__main__":
    main()
