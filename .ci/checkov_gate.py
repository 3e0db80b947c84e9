"""The checkov gate of .ci/run: checkov over a directory with the project's own policies, and a failure when
any check fails, a file does not parse, or nothing was checked.

    python3 .ci/checkov_gate.py CHECKOV DIRECTORY

Besides checkov's failed checks it fails when the Terraform framework checked no resource (checkov said
`passed 0, failed 0, resource_count 0` for months and the gate passed), and when one of the policies in
infrastructure/checkov produced no result at all (a policy file that does not import is only logged by
checkov, so its checks would silently not run). Exit 0 passed, 1 failed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

POLICIES = Path(__file__).resolve().parents[1] / "infrastructure" / "checkov"
FRAMEWORKS = ("terraform",)  # each must check at least one resource


def policy_ids() -> list[str]:
    found: set[str] = set()
    for path in POLICIES.glob("*.py"):
        found.update(re.findall(r'"(CKV_OPS_\d+)"', path.read_text(encoding="utf-8")))
    return sorted(found)


def gate(checkov: str, directory: str) -> tuple[int, list[str]]:
    done = subprocess.run([checkov, "-d", directory, "--compact", "--skip-download", "--external-checks-dir",
                           str(POLICIES), "-o", "json"], capture_output=True, text=True, check=False)
    try:
        reports = json.loads(done.stdout)
    except ValueError:
        return 1, [f"checkov printed no JSON report (exit {done.returncode}): {done.stderr.strip()[-500:]}"]
    reports = reports if isinstance(reports, list) else [reports]
    lines: list[str] = []
    problems: list[str] = []
    seen: set[str] = set()
    by_type = {}
    for report in reports:
        summary = report.get("summary", {})
        kind = report.get("check_type", "?")
        by_type[kind] = summary
        lines.append(f"checkov {kind}: passed {summary.get('passed', 0)}, failed {summary.get('failed', 0)}, "
                     f"skipped {summary.get('skipped', 0)}, parsing errors {summary.get('parsing_errors', 0)}, "
                     f"resources {summary.get('resource_count', 0)}")
        results = report.get("results", {})
        for key in ("passed_checks", "failed_checks", "skipped_checks"):
            seen.update(check.get("check_id", "") for check in results.get(key, []))
        for check in results.get("failed_checks", []):
            where = f"{check.get('file_path', '')}:{(check.get('file_line_range') or ['?'])[0]}"
            problems.append(f"{check.get('check_id')} failed: {check.get('resource')} ({where}): "
                            f"{check.get('check_name')}")
        if summary.get("parsing_errors"):
            problems.append(f"checkov could not parse {summary['parsing_errors']} {kind} file(s): "
                            f"{', '.join(results.get('parsing_errors', []))}")
    for kind in FRAMEWORKS:
        summary = by_type.get(kind)
        if not summary or not summary.get("resource_count") or not (summary.get("passed") or summary.get("failed")):
            problems.append(f"checkov checked no {kind} resource in {directory}: the gate would pass on nothing")
    for check_id in policy_ids():
        if check_id not in seen:
            problems.append(f"{check_id} (infrastructure/checkov) gave no result in {directory}: the policy did not "
                            "load or applies to no resource there")
    return (1 if problems else 0), lines + problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    status, lines = gate(argv[0], argv[1])
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
