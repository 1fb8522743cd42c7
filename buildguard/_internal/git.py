"""The commit checked out where a ``.git`` exists: ``git rev-parse HEAD``, or nothing."""

from __future__ import annotations

import os
import shutil
import subprocess


def git_head(folder: str | os.PathLike[str]) -> str | None:
    """``git -C folder rev-parse HEAD``; ``None`` without git, outside a repository, or on
    any failure (an unknown commit is a warning for the caller, never an error)."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            [git, "-C", os.fspath(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    head = done.stdout.strip()
    return head if done.returncode == 0 and head else None
