"""The bad-input campaign: for each file or option the console reads, inputs that are certainly bad (hypothesis
generates them; a few are written by hand) tried through the real CLI, each answer judged.

A campaign yields, per command it tried, None when the answer was right (the documented exit code, a sentence
naming the file or option, no internal error, nothing changed) or what was wrong. tests/test_bad_inputs.py
asserts every answer; bench/bad_input.py counts them into the closing table.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.bad_input_cli import Outcome, files_of, refusal_problem

Attempts = Iterator[tuple[str, str | None]]  # (command as run, None or what was wrong with its answer)
Record = Callable[[str, str, bool, str | None], None]  # (reader, command, written by hand, problem)


@dataclass(frozen=True)
class Campaign:
    """One reader: where its bad inputs come from, and how each is tried through the CLI."""

    reader: str
    cases: st.SearchStrategy[Any]
    attempts: Callable[[Path, Any], Attempts]
    hand: list[Any] = field(default_factory=list)  # cases written by hand, tried before the generated ones
    slow: bool = False  # each attempt starts the sandbox: fewer examples


def judged(label: str, outcome: Outcome, code: int, names: tuple[str, ...], before: dict[Path, bytes],
           after: dict[Path, bytes], *, every_line: bool = False) -> tuple[str, str | None]:
    """(label, problem): the refusal judged, and the files compared byte for byte."""
    problem = refusal_problem(outcome, code, *names, every_line=every_line)
    if problem is None and after != before:
        changed = sorted(str(p) for p in set(before) | set(after) if before.get(p) != after.get(p))
        problem = f"files changed: {changed}"
    return label, problem


def tried(label: str, run: Callable[[], Outcome], code: int, names: tuple[str, ...], *roots: Path,
          every_line: bool = False) -> tuple[str, str | None]:
    """Run one command over damaged files under ``roots`` and judge its answer."""
    before = files_of(*roots)
    outcome = run()
    return judged(label, outcome, code, names, before, files_of(*roots), every_line=every_line)


def run_campaign(campaign: Campaign, examples: int, record: Record, *, shrink: bool = False) -> None:
    """The hand-written cases, then ``examples`` generated ones (the same ones each run); each attempt is recorded."""
    for case in campaign.hand:
        with tempfile.TemporaryDirectory(prefix="bad-input-") as home:
            for label, problem in campaign.attempts(Path(home), case):
                record(campaign.reader, label, True, problem)
    if examples <= 0:
        return
    phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]

    @settings(max_examples=examples, database=None, deadline=None, phases=phases, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(campaign.cases)
    def one(case: Any) -> None:
        with tempfile.TemporaryDirectory(prefix="bad-input-") as home:
            for label, problem in campaign.attempts(Path(home), case):
                record(campaign.reader, label, False, problem)

    one()


def strict_record(reader: str, command: str, by_hand: bool, problem: str | None) -> None:
    """For tests: a wrong answer fails at once (hypothesis then shrinks the input)."""
    assert problem is None, f"{reader} / {command}: {problem}"


def copy_tree(files: dict[Path, bytes], source: Path, target: Path) -> None:
    """Recreate ``files`` (as read under ``source``) under ``target``."""
    for path, data in files.items():
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
