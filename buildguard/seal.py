"""``seal``: after the build, refuse a stale or canary-less bundle, else write its manifest."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from buildguard._internal.files import atomic_write, read_entry
from buildguard._internal.timefmt import human_duration, rfc3339
from buildguard.errors import SealRefused, UsageError
from buildguard.models import MANIFEST_NAME, BundleManifest, FileEntry, Record
from buildguard.recordfile import DEFAULT_RECORD, load_record

CANARY_EXTENSIONS = (".js", ".mjs", ".html", ".css")
MIN_CANARY_LENGTH = 6
CLOCK_SLACK = timedelta(seconds=2)


def _walk_bundle(root: Path) -> Iterator[tuple[str, Path, os.stat_result]]:
    """Every regular file and symlink under ``root`` (symlinks not followed), sorted."""
    stack = [("", root)]
    while stack:
        rel_dir, directory = stack.pop()
        for item in sorted(os.scandir(directory), key=lambda e: e.name):
            rel = f"{rel_dir}{item.name}"
            if item.is_dir(follow_symlinks=False):
                stack.append((f"{rel}/", Path(item.path)))
            elif rel == MANIFEST_NAME:
                continue  # an earlier seal's manifest is replaced, never sealed
            elif item.is_file(follow_symlinks=False) or item.is_symlink():
                yield rel, Path(item.path), item.stat(follow_symlinks=False)


def _verbatim_sources(rec: Record, dist: Path) -> set[str]:
    """Digests of recorded source files, minus any that lie under the folder being sealed."""
    source = Path(rec.source_root)
    inside: str | None = None
    if dist == source:
        return set()
    if dist.is_relative_to(source):
        inside = dist.relative_to(source).as_posix()
    return {
        entry.sha256
        for entry in rec.files
        if entry.type == "file"
        and not (inside and (entry.path == inside or entry.path.startswith(inside + "/")))
    }


def seal(
    dist_dir: str | os.PathLike[str],
    *,
    record: Record | str | os.PathLike[str] = DEFAULT_RECORD,
    canary: bool = True,
) -> BundleManifest:
    """Check the bundle in ``dist_dir`` against the record and write its manifest.

    Raises :class:`SealRefused` (exit 1, nothing written) when the folder is missing or
    empty, holds old or future-dated files that are not verbatim copies of recorded sources,
    or (with ``canary``) has no .js/.mjs/.html/.css file containing the build id.
    Raises :class:`UsageError` (exit 2) for an unreadable record or a build id too short
    to serve as a canary.
    """
    rec = record if isinstance(record, Record) else load_record(record)
    if canary and len(rec.build_id) < MIN_CANARY_LENGTH:
        raise UsageError(
            f"build id {rec.build_id!r} is shorter than {MIN_CANARY_LENGTH} characters and "
            "cannot serve as a canary",
            hint="use a longer build id, or pass --no-canary to seal on timestamps alone",
        )
    dist = Path(dist_dir)
    if not dist.is_dir():
        raise SealRefused(
            f"output folder {dist} does not exist: the build produced nothing",
            hint="check that the build ran and wrote to this folder",
        )
    needle = rec.build_id.encode("utf-8")
    started = rec.started_at
    now = datetime.now(UTC)
    exempt = _verbatim_sources(rec, dist.resolve())

    files: list[FileEntry] = []
    canary_files: list[str] = []
    old: list[str] = []
    future: list[str] = []
    for rel, path, st in _walk_bundle(dist):
        wants_canary = canary and rel.lower().endswith(CANARY_EXTENSIONS)
        result = read_entry(path, rel, st, needle=needle if wants_canary else None)
        entry = result.entry
        files.append(entry)
        if result.contains_needle:
            canary_files.append(rel)
        copied = entry.type == "file" and entry.sha256 in exempt
        if entry.mtime < started - CLOCK_SLACK and not copied:
            age = human_duration(started - entry.mtime)
            old.append(f"{rel}: modified {rfc3339(entry.mtime)}, {age} before this build started")
        elif entry.mtime > now + CLOCK_SLACK and not copied:
            ahead = human_duration(entry.mtime - now)
            future.append(f"{rel}: dated {rfc3339(entry.mtime)}, {ahead} in the future")

    if not files:
        raise SealRefused(
            f"output folder {dist} is empty: the build produced nothing",
            hint="check that the build ran and wrote to this folder",
        )
    problems = [f"stale: {line}" for line in old] + [f"future-dated: {line}" for line in future]
    if canary and not canary_files:
        problems.append(
            f"canary missing: no .js, .mjs, .html or .css file contains the build id "
            f"{rec.build_id!r}, so nothing shows the bundler ran in this build"
        )
    if problems:
        hints = []
        if old or future:
            hints.append(
                f"run `buildguard record --clean {dist_dir}` before the build so no old "
                "output survives, then rebuild"
            )
        if canary and not canary_files:
            hints.append(
                "load .buildguard/build.env before the build (set -a; . .buildguard/build.env;"
                " set +a) and use the build id in the app, or pass --no-canary"
            )
        raise SealRefused(
            f"refusing to seal {dist}: {len(problems)} problem(s); no manifest written",
            problems,
            hint="; ".join(hints),
        )

    manifest = BundleManifest(
        build_id=rec.build_id,
        commit=rec.commit,
        source_digest=rec.source_digest,
        record_started_at=rec.started_at,
        sealed_at=now,
        freshness="canary" if canary else "timestamps",
        canary_files=tuple(canary_files),
        files=tuple(files),
    )
    atomic_write(
        dist / MANIFEST_NAME, (manifest.model_dump_json(indent=2) + "\n").encode("utf-8")
    )
    return manifest
