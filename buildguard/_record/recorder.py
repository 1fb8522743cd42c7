"""``record``: hash the source tree before the build and hand the build id to the bundler."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from buildguard._internal.files import atomic_write
from buildguard._internal.git import git_head
from buildguard._internal.jsondoc import document
from buildguard._internal.pathescape import decode_name, escape, unescape
from buildguard._internal.scan import Options, Scan, digest_line, digest_of_lines, scan
from buildguard._internal.walk import as_text, walk_sources
from buildguard._record.options import DEFAULT_ENV_FILE, RecordOptions
from buildguard._record.recordfile import DEFAULT_RECORD, load_record, read_record_head
from buildguard._record.sealer import MIN_CANARY_LENGTH
from buildguard.errors import RecordConflict, UsageError
from buildguard.models import FileEntry, Record

__all__ = ["DEFAULT_ENV_FILE", "DEFAULT_RECORD", "RecordOptions", "load_record", "record"]

DEFAULT_EXCLUDES = (".git/", "node_modules/", ".buildguard/")
ENV_NAMES = (
    "BUILDGUARD_BUILD_ID",
    "VITE_BUILDGUARD_BUILD_ID",
    "REACT_APP_BUILDGUARD_BUILD_ID",
    "NEXT_PUBLIC_BUILDGUARD_BUILD_ID",
)
_DIGEST_DOMAIN = b"buildguard-source-digest-v1\n"
_ENV_VALUE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""A build id or commit: safe bare in ``KEY=VALUE`` for ``. FILE``, ``docker run --env-file``,
``export $(cat FILE)`` and ``$GITHUB_ENV`` alike (no quoting that one of them would keep)."""


def source_digest(files: Iterable[FileEntry]) -> str:
    """The digest of a tree: paths, types, exec bits and contents; never mtimes or order.

    One line per entry, ``type NUL name NUL x-or-dash NUL content-sha256``, sorted by the
    name's real bytes (``FileEntry.path`` holds the escaped form, see
    :mod:`buildguard._internal.pathescape`).
    """
    lines = [digest_line(e.type, unescape(e.path), e.mode, e.sha256) for e in files]
    return digest_of_lines(_DIGEST_DOMAIN, lines)


def _check_build_id(build_id: str) -> str:
    if not build_id:
        raise UsageError(
            "no build id: pass --build-id or set $BUILD_ID",
            hint="in Cloud Build pass it to the step (env: [BUILD_ID=$BUILD_ID], or options: "
            "automapSubstitutions: true); elsewhere use your CI's run id",
        )
    if not _ENV_VALUE.fullmatch(build_id):
        raise UsageError(
            f"build id {build_id[:40]!r} is not usable: it must be 1 to 128 of the characters "
            "A-Z a-z 0-9 . _ : - (it goes unquoted into the build env file)",
            hint="use the CI's build or run id as it is",
        )
    return build_id


def _clean(targets: Sequence[Path], source: Path) -> list[str]:
    cwd = Path.cwd().resolve()
    protected = {Path("/"), Path.home().resolve()}
    cleaned = []
    for target in targets:
        resolved = target.resolve()
        if (
            resolved in protected
            or resolved == source
            or source.is_relative_to(resolved)
            or cwd.is_relative_to(resolved)
        ):
            raise UsageError(
                f"refusing to clean {target}: it is or contains the source tree or the "
                "current folder",
                hint="name the build output folder, e.g. --clean dist",
            )
        if target.is_symlink():
            raise UsageError(
                f"refusing to clean {target}: it is a symlink",
                hint="name the real output folder",
            )
        if target.exists() and not target.is_dir():
            raise UsageError(
                f"refusing to clean {target}: it is not a folder",
                hint="--clean takes the build output folder, e.g. dist",
            )
        if target.exists():
            try:
                shutil.rmtree(target)
            except OSError as exc:
                raise UsageError(
                    f"could not clean {target}: {exc.strerror}",
                    hint="check the folder's permissions",
                ) from exc
        cleaned.append(as_text(resolved))
    return cleaned


def _keep_other_apps_record(out: str | os.PathLike[str], build_id: str, source: str) -> None:
    """Refuse to overwrite a record of this same build made for another source folder (the
    other app of a monorepo); a record of another build is an earlier build's, replaced."""
    head = read_record_head(out)
    if head is None or head.build_id != build_id or head.source_root == source:
        return
    raise RecordConflict(
        f"refusing to overwrite {os.fspath(out)}: it is this build's ({build_id}) record of "
        f"another source folder, {head.source_root} (this one is {source})",
        hint="give each app its own record: `buildguard record APP_DIR --out "
        ".buildguard/APP.json`, then `seal DIST --record` and `verify --record` with that file "
        "(`buildguard run` writes .buildguard/ in the current folder: run it in each app's)",
    )


@dataclass(frozen=True)
class RecordSummary:
    """What :func:`write_record` wrote, without the per-file list (which is in the file)."""

    build_id: str
    commit: str | None
    source_root: str
    source_digest: str
    cleaned: tuple[str, ...]
    warnings: tuple[str, ...]
    file_count: int


def _scan(
    source_dir: str | os.PathLike[str], options: RecordOptions, environ: Mapping[str, str] | None
) -> tuple[Record, Scan]:
    """Check the inputs, clean, hash: the record without its files, and its file list."""
    out, build_id, commit = options.out, options.build_id, options.commit
    clean, excludes, env_file = options.clean, options.excludes, options.env_file
    env = os.environ if environ is None else environ
    started_at = datetime.now(UTC)
    build_id = _check_build_id(build_id or env.get("BUILD_ID", ""))
    source = Path(source_dir).resolve()
    if not source.is_dir():
        raise UsageError(
            f"source folder {source_dir} does not exist or is not a folder",
            hint="run record from the app's folder or pass it as SOURCE_DIR",
        )
    if out is not None:
        _keep_other_apps_record(out, build_id, as_text(source))
    warnings: list[str] = []
    if len(build_id) < MIN_CANARY_LENGTH:
        warnings.append(
            f"build id {build_id!r} is shorter than {MIN_CANARY_LENGTH} characters: seal "
            "cannot use it as a canary (it will refuse unless --no-canary); use the CI's "
            "build or run id"
        )
    commit = commit or env.get("COMMIT_SHA") or git_head(source)
    if commit and not _ENV_VALUE.fullmatch(commit):
        raise UsageError(
            f"commit {commit[:40]!r} is not usable: it must be 1 to 128 of the characters "
            "A-Z a-z 0-9 . _ : - (it goes unquoted into the build env file)",
            hint="pass the commit's SHA (--commit or $COMMIT_SHA)",
        )
    if not commit:
        warnings.append(
            "no commit known: pass --commit or set $COMMIT_SHA (Cloud Build leaves it empty "
            "in manually submitted builds); verify cannot check the commit of this build"
        )

    clean_paths = [Path(c) for c in clean]
    cleaned = _clean(clean_paths, source)
    all_excludes = list(DEFAULT_EXCLUDES)
    for extra in (*clean_paths, *(p for p in (out, env_file) if p is not None)):
        resolved = Path(extra).resolve()
        if resolved.is_relative_to(source) and resolved != source:
            # anchored, so only this exact path is excluded
            relative = decode_name(os.fsencode(resolved.relative_to(source).as_posix()))
            all_excludes.append("/" + relative)
    all_excludes.extend(excludes)

    scanned = scan(source, walk_sources(source, all_excludes), Options("source", digest_lines=True))
    header = Record(
        build_id=build_id,
        commit=commit,
        started_at=started_at,
        source_root=as_text(source),
        source_digest=digest_of_lines(_DIGEST_DOMAIN, scanned.lines),
        cleaned=tuple(cleaned),
        excludes=tuple(escape(pattern) for pattern in all_excludes),
        files=(),
        warnings=tuple(warnings),
    )
    return header, scanned


def _write(
    header: Record,
    scanned: Scan,
    out: str | os.PathLike[str] | None,
    env_file: str | os.PathLike[str] | None,
) -> None:
    if out is not None:
        atomic_write(out, document(header, "files", scanned.parts))
    if env_file is not None:
        atomic_write(env_file, render_env_file(header).encode("utf-8"))


def record(
    source_dir: str | os.PathLike[str] = ".",
    options: RecordOptions | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Record:
    """Hash ``source_dir`` and capture the build id, commit and start time.

    Paths are relative to the current directory. ``options.clean`` folders are removed first
    and are never hashed. Writes the record to ``options.out`` and the build env file to
    ``options.env_file`` (either may be ``None`` to skip writing). Raises
    :class:`UsageError` for bad input.
    """
    options = options or RecordOptions()
    header, scanned = _scan(source_dir, options, environ)
    _write(header, scanned, options.out, options.env_file)
    # the model of exactly the bytes written (or that would have been)
    return Record.model_validate_json(b"".join(document(header, "files", scanned.parts)))


def write_record(
    source_dir: str | os.PathLike[str] = ".",
    options: RecordOptions | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> RecordSummary:
    """:func:`record` without building a model per file: the same files written, a summary
    returned (the command line's way; a 50,000-file record as models would take ~45 MB)."""
    options = options or RecordOptions()
    header, scanned = _scan(source_dir, options, environ)
    _write(header, scanned, options.out, options.env_file)
    return RecordSummary(
        build_id=header.build_id,
        commit=header.commit,
        source_root=header.source_root,
        source_digest=header.source_digest,
        cleaned=header.cleaned,
        warnings=header.warnings,
        file_count=scanned.entries,
    )


def build_env(rec: Record) -> dict[str, str]:
    """The variables that carry the build id (the canary) into the bundler."""
    values = dict.fromkeys(ENV_NAMES, rec.build_id)
    values["BUILDGUARD_COMMIT"] = rec.commit or ""
    return values


def render_env_file(rec: Record) -> str:
    """One bare ``KEY=VALUE`` a line: no quotes, no comments, no ``export``, so the same file
    works with ``. FILE``, ``docker run --env-file``, ``export $(cat FILE)`` under ``set -e``
    and GitHub's ``$GITHUB_ENV`` (which would keep quotes or choke on a comment). The values
    are limited to ``[A-Za-z0-9._:-]`` when recorded, and checked again here."""
    values = build_env(rec)
    for key, value in values.items():
        if value and not _ENV_VALUE.fullmatch(value):
            raise UsageError(
                f"{key} value {value[:40]!r} cannot be written bare into the build env file",
                hint="use a build id and commit of the characters A-Z a-z 0-9 . _ : -",
            )
    return "".join(f"{key}={value}\n" for key, value in values.items())
