"""The configuration that was applied, kept so it can be applied again: a content-addressed tarball of the
infrastructure/ tree (Terraform files only), and the git commit it came from when there is one.

Why a snapshot and not only the commit: the tree applied may hold changes not yet committed (a hotfix
applied from a branch, a checkout without .git), and restoring must give back exactly what was applied.
The commit is recorded as well, and used when the snapshot is gone (another machine, a cleaned work dir).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

from core.errors import OperationFailed

SUFFIXES = (".tf", ".tfvars", ".tfbackend", ".hcl")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                  and ".terraform" not in p.relative_to(root).parts)


def save_snapshot(root: Path, store: Path) -> str:
    """Store the tree's Terraform files (once per distinct content); returns the snapshot id (a sha256)."""
    files = _files(root)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    snapshot_id = digest.hexdigest()
    target = store / f"{snapshot_id}.tar.gz"
    if not target.exists():
        store.mkdir(parents=True, exist_ok=True)
        temp = target.with_suffix(".tmp")
        with tarfile.open(temp, "w:gz") as archive:
            for path in files:
                info = tarfile.TarInfo(path.relative_to(root).as_posix())
                data = path.read_bytes()
                info.size, info.mode = len(data), 0o644
                archive.addfile(info, io.BytesIO(data))
        temp.replace(target)
    return snapshot_id


def has_snapshot(store: Path, snapshot_id: str) -> bool:
    return (store / f"{snapshot_id}.tar.gz").exists()


def restore_snapshot(store: Path, snapshot_id: str, target: Path) -> Path:
    """Unpack a snapshot into `target` (an empty directory); returns it."""
    with tarfile.open(store / f"{snapshot_id}.tar.gz", "r:gz") as archive:
        archive.extractall(target, filter="data")
    return target


def git_revision(directory: Path) -> tuple[str | None, bool]:
    """(HEAD commit, whether the directory has uncommitted changes), or (None, True) outside a git checkout."""
    try:
        head = subprocess.run(["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=False)
        if head.returncode != 0:
            return None, True
        status = subprocess.run(["git", "-C", str(directory), "status", "--porcelain", "--", "."],
                                capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None, True
    return head.stdout.strip(), bool(status.stdout.strip()) or status.returncode != 0


def restore_from_git(directory: Path, commit: str, target: Path) -> Path:
    """The infrastructure/ tree as it was at `commit`, unpacked into `target` (git archive, read-only).

    Run in the tree's own directory, git archives that directory only, with paths relative to it."""
    try:
        archive = subprocess.run(["git", "-C", str(directory), "archive", "--format=tar", commit],
                                 capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OperationFailed(f"cannot read the infrastructure at commit {commit[:12]}: {exc}") from None
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip().splitlines()[:1] or ["git archive failed"]
        raise OperationFailed(f"cannot read the infrastructure at commit {commit[:12]}: {message[0]}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target
