"""Workspaces as users keep them: a real git checkout, a sealed dist packed into an OCI layout.

Used by the end-to-end tests of the records verify trusts (``test_records_e2e.py``): every
step goes through the installed CLI or the real ``git``; the image is one layer written with
:mod:`tarcraft` into an OCI layout by :func:`imagecorpus.write_layout`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import tarcraft as tc
from imagecorpus import write_layout

GIT_ENV = {
    "GIT_AUTHOR_NAME": "buildguard tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "buildguard tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(folder: Path, *args: str) -> str:
    """Run the real ``git`` in ``folder``; its stdout, stripped."""
    found = shutil.which("git")
    assert found, "git is needed for these tests (scripts/setup installs it)"
    done = subprocess.run(
        [found, "-C", str(folder), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def commit_all(folder: Path, message: str) -> str:
    """Commit everything in ``folder``; the new HEAD."""
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "--allow-empty", "-m", message)
    return git(folder, "rev-parse", "HEAD")


def init_repo(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    git(folder, "init", "-q", "-b", "main")


def write_dist(dist: Path, build_id: str, label: str) -> None:
    """A tiny built bundle carrying the build id (seal's canary)."""
    (dist / "assets").mkdir(parents=True, exist_ok=True)
    (dist / "index.html").write_text(f'<script src="/assets/{label}.js"></script>\n')
    (dist / "assets" / f"{label}.js").write_text(f"window.__BUILD__ = '{build_id}' // {label}\n")


def folder_entries(folder: Path, at: str, made: set[str]) -> list[tc.Entry]:
    """``folder``'s tree as layer entries under ``at`` (``srv/a``), modes and mtimes kept;
    parent folders not in ``made`` are added (and put there: a layer names each path once)."""
    parts = at.strip("/").split("/")
    parents = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    out = [tc.directory(p) for p in parents if p not in made]
    made.update(parents)
    for path in sorted(folder.rglob("*")):
        name = f"{at.strip('/')}/{path.relative_to(folder).as_posix()}"
        st = path.stat()
        if path.is_dir():
            out.append(tc.directory(name, mtime=int(st.st_mtime)))
        else:
            out.append(
                tc.file(name, path.read_bytes(), mode=st.st_mode & 0o777, mtime=int(st.st_mtime))
            )
    return out


def layout_of(root: Path, folders: Mapping[str, Path]) -> str:
    """An OCI layout of one layer holding each folder at its path in the image; the
    reference ``oci-layout:ROOT:latest``."""
    entries: list[tc.Entry] = []
    made: set[str] = set()
    for at, folder in folders.items():
        entries += folder_entries(folder, at, made)
    write_layout(root, [tc.tar_of(entries, "pax")])
    return f"oci-layout:{root}:latest"
