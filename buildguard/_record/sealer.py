"""``seal``: after the build, refuse a stale or canary-less bundle, else write its manifest."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from buildguard._internal.files import atomic_write
from buildguard._internal.jsondoc import document
from buildguard._internal.scan import Options, scan
from buildguard._internal.timefmt import from_epoch, human_duration, rfc3339
from buildguard._internal.walk import as_text, path_from_text, walk_bundle
from buildguard._record.outputhint import no_output
from buildguard._record.recordfile import DEFAULT_RECORD
from buildguard._record.recordview import RecordView, read_record
from buildguard.errors import SealRefused, UsageError
from buildguard.models import (
    MANIFEST_MAX_BYTES,
    MANIFEST_MAX_FILES,
    MANIFEST_NAME,
    BundleManifest,
    Record,
)

CANARY_EXTENSIONS = (".js", ".mjs", ".html", ".css")
MIN_CANARY_LENGTH = 6
CLOCK_SLACK = timedelta(seconds=2)
SEAL_SUGGESTION = "buildguard seal {dist}"


def _suggestion(record: Record | str | os.PathLike[str]) -> str:
    """seal's command for another folder, with ``--record`` when the record is not the
    default one (so the suggestion seals against the same record)."""
    if isinstance(record, Record) or Path(record) == Path(DEFAULT_RECORD):
        return SEAL_SUGGESTION
    shown = as_text(Path(record)).replace("{", "{{").replace("}", "}}")
    return f"{SEAL_SUGGESTION} --record {shown}"


def _verbatim_sources(rec: Record, dist: Path) -> set[str]:
    """Digests of recorded source files, minus any that lie under the folder being sealed
    (all of them when the source tree is that folder or lies inside it).

    Record paths are in the escaped form, so the folder's path is escaped too before the
    comparison: two names compare equal exactly when their bytes do.
    """
    try:
        source = Path(path_from_text(rec.source_root))
    except ValueError as exc:
        raise UsageError(
            f"the record's source_root is not a path as buildguard writes it: {exc}",
            hint="re-run `buildguard record`; records are written only by buildguard",
        ) from exc
    if source.is_relative_to(dist):  # every recorded entry lies under the sealed folder
        return set()
    inside = as_text(dist.relative_to(source).as_posix()) if dist.is_relative_to(source) else None
    below = None if inside is None else inside + "/"
    return {
        sha
        for path, kind, sha in _file_triples(rec)
        if kind == "file" and not (inside and (path == inside or path.startswith(below or "")))
    }


def _file_triples(rec: Record) -> Iterator[tuple[str, str, str]]:
    """(path, type, sha256) of each recorded file, whichever way the record was read."""
    if isinstance(rec, RecordView):
        for fields in rec.files:
            yield fields["path"], fields.get("type", "file"), fields["sha256"]
    else:
        for entry in rec.files:
            yield entry.path, entry.type, entry.sha256


def _too_big(dist: Path, files: int, size: int | None = None) -> SealRefused:
    what = f"{files:,} files" if size is None else f"{files:,} files in {size:,} bytes of JSON"
    return SealRefused(
        f"refusing to seal {as_text(dist)}: its manifest would list {what}, over the cap of "
        f"{MANIFEST_MAX_FILES:,} files and {MANIFEST_MAX_BYTES >> 20} MiB; no manifest written",
        hint="seal the folder that is served (not a whole tree), or leave bulky generated "
        "files out of it",
    )


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
    rec = record if isinstance(record, Record) else read_record(record, RecordView)
    if canary and len(rec.build_id) < MIN_CANARY_LENGTH:
        raise UsageError(
            f"build id {rec.build_id!r} is shorter than {MIN_CANARY_LENGTH} characters and "
            "cannot serve as a canary",
            hint="use a longer build id, or pass --no-canary to seal on timestamps alone",
        )
    dist = Path(dist_dir)
    if not dist.is_dir():
        raise no_output(dist, "does not exist", _suggestion(record))
    needle = rec.build_id.encode("utf-8")
    started = rec.started_at
    now = datetime.now(UTC)
    exempt = _verbatim_sources(rec, dist.resolve())

    found = list(walk_bundle(dist, MANIFEST_NAME))
    if len(found) > MANIFEST_MAX_FILES:
        raise _too_big(dist, len(found))
    options = Options(
        "output",
        needle=needle if canary else b"",
        search_in=CANARY_EXTENSIONS if canary else (),
        media_types=True,
        facts=True,
    )
    scanned = scan(dist, found, options)
    del found

    canary_files: list[str] = []
    old: list[str] = []
    future: list[str] = []
    for fact in scanned.facts:
        if fact.found:
            canary_files.append(fact.name)
        copied = fact.type == "file" and fact.sha256 in exempt
        mtime = from_epoch(fact.mtime)
        if mtime < started - CLOCK_SLACK and not copied:
            age = human_duration(started - mtime)
            old.append(f"{fact.name}: modified {rfc3339(mtime)}, {age} before this build started")
        elif mtime > now + CLOCK_SLACK and not copied:
            ahead = human_duration(mtime - now)
            future.append(f"{fact.name}: dated {rfc3339(mtime)}, {ahead} in the future")

    if not scanned.entries:
        raise no_output(dist, "is empty", _suggestion(record))
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
            f"refusing to seal {as_text(dist)}: {len(problems)} problem(s); no manifest written",
            problems,
            hint="; ".join(hints),
        )

    header = BundleManifest(
        build_id=rec.build_id,
        commit=rec.commit,
        source_digest=rec.source_digest,
        record_started_at=rec.started_at,
        sealed_at=now,
        freshness="canary" if canary else "timestamps",
        canary_files=tuple(canary_files),
        files=(),
    )
    text = b"".join(document(header, "files", scanned.parts))
    if len(text) > MANIFEST_MAX_BYTES:
        raise _too_big(dist, scanned.entries, len(text))
    atomic_write(dist / MANIFEST_NAME, text)
    return BundleManifest.model_validate_json(text)
