"""``record``: hash the source tree before the build and hand the build id to the bundler."""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pathspec

from buildguard._internal.files import atomic_write, read_entry
from buildguard.errors import UsageError
from buildguard.models import FileEntry, Record
from buildguard.recordfile import DEFAULT_RECORD, load_record

__all__ = ["DEFAULT_RECORD", "load_record", "record"]

DEFAULT_ENV_FILE = Path(".buildguard/build.env")
DEFAULT_EXCLUDES = (".git/", "node_modules/", ".buildguard/")
ENV_NAMES = (
    "BUILDGUARD_BUILD_ID",
    "VITE_BUILDGUARD_BUILD_ID",
    "REACT_APP_BUILDGUARD_BUILD_ID",
    "NEXT_PUBLIC_BUILDGUARD_BUILD_ID",
)
_DIGEST_DOMAIN = b"buildguard-source-digest-v1\n"

_Spec = tuple[str, pathspec.GitIgnoreSpec]


def source_digest(files: Iterable[FileEntry]) -> str:
    """The digest of a tree: paths, types, exec bits and contents; never mtimes or order."""
    digest = hashlib.sha256(_DIGEST_DOMAIN)
    for entry in sorted(files, key=lambda e: e.path.encode("utf-8")):
        executable = entry.type == "file" and bool(entry.mode & 0o111)
        line = f"{entry.type}\0{entry.path}\0{'x' if executable else '-'}\0{entry.sha256}\n"
        digest.update(line.encode("utf-8"))
    return f"sha256:{digest.hexdigest()}"


def _ignored(rel: str, is_dir: bool, specs: Sequence[_Spec]) -> bool:
    """Git's rule: the deepest .gitignore with a matching pattern decides; the last wins."""
    verdict: bool | None = None
    for base, spec in specs:
        if base and not rel.startswith(base):
            continue
        sub = rel[len(base) :] + ("/" if is_dir else "")
        result = spec.check_file(sub)
        if result.include is not None:
            verdict = result.include
    return bool(verdict)


def _read_gitignore(path: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        if path.is_symlink() or not path.is_file():
            return None
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def walk_sources(
    root: Path, excludes: Sequence[str]
) -> Iterator[tuple[str, Path, os.stat_result]]:
    """Yield ``(relative posix path, path, lstat)`` of every regular file and symlink kept.

    ``.gitignore`` files apply as git applies them; ``excludes`` (gitignore patterns relative
    to ``root``) apply last. Symlinks are yielded as links and never followed.
    """
    exclude_spec: _Spec = ("", pathspec.GitIgnoreSpec.from_lines(list(excludes)))
    stack: list[tuple[str, Path, tuple[_Spec, ...]]] = [("", root, ())]
    while stack:
        rel_dir, directory, specs = stack.pop()
        own = _read_gitignore(directory / ".gitignore")
        if own is not None:
            specs = (*specs, (rel_dir, own))
        active = (*specs, exclude_spec)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise UsageError(
                f"cannot list source folder {directory}: {exc.strerror}",
                hint="check the permissions of the source tree",
            ) from exc
        for item in entries:
            rel = f"{rel_dir}{item.name}"
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise UsageError(
                    f"source file name is not valid UTF-8: {item.path!r}",
                    hint="rename the file, or exclude it with --exclude",
                ) from exc
            is_dir = item.is_dir(follow_symlinks=False)
            if _ignored(rel, is_dir, active):
                continue
            if is_dir:
                stack.append((f"{rel}/", Path(item.path), specs))
            elif item.is_file(follow_symlinks=False) or item.is_symlink():
                yield rel, Path(item.path), item.stat(follow_symlinks=False)


def _check_build_id(build_id: str) -> str:
    if not build_id:
        raise UsageError(
            "no build id: pass --build-id or set $BUILD_ID",
            hint="Cloud Build sets $BUILD_ID for every step; elsewhere use your CI's run id",
        )
    if len(build_id) > 256 or any(c.isspace() or not c.isprintable() for c in build_id):
        raise UsageError(
            f"build id {build_id[:40]!r} is not usable: it must be 1-256 printable "
            "characters without spaces",
            hint="use the CI's build or run id as it is",
        )
    return build_id


def _git_head(source: Path) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            [git, "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    head = done.stdout.strip()
    return head if done.returncode == 0 and head else None


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
        cleaned.append(str(resolved))
    return cleaned


def record(
    source_dir: str | os.PathLike[str] = ".",
    *,
    out: str | os.PathLike[str] | None = DEFAULT_RECORD,
    build_id: str | None = None,
    commit: str | None = None,
    clean: Sequence[str | os.PathLike[str]] = (),
    excludes: Sequence[str] = (),
    env_file: str | os.PathLike[str] | None = DEFAULT_ENV_FILE,
    environ: Mapping[str, str] | None = None,
) -> Record:
    """Hash ``source_dir`` and capture the build id, commit and start time.

    Paths are relative to the current directory. ``clean`` folders are removed first and are
    never hashed. Writes the record to ``out`` and the build env file to ``env_file`` (either
    may be ``None`` to skip writing). Raises :class:`UsageError` for bad input.
    """
    env = os.environ if environ is None else environ
    started_at = datetime.now(UTC)
    build_id = _check_build_id(build_id or env.get("BUILD_ID", ""))
    source = Path(source_dir).resolve()
    if not source.is_dir():
        raise UsageError(
            f"source folder {source_dir} does not exist or is not a folder",
            hint="run record from the app's folder or pass it as SOURCE_DIR",
        )
    warnings: list[str] = []
    commit = commit or env.get("COMMIT_SHA") or _git_head(source)
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
            all_excludes.append("/" + resolved.relative_to(source).as_posix())
    all_excludes.extend(excludes)

    files = tuple(
        read_entry(path, rel, st).entry for rel, path, st in walk_sources(source, all_excludes)
    )
    result = Record(
        build_id=build_id,
        commit=commit,
        started_at=started_at,
        source_root=str(source),
        source_digest=source_digest(files),
        cleaned=tuple(cleaned),
        excludes=tuple(all_excludes),
        files=files,
        warnings=tuple(warnings),
    )
    if out is not None:
        atomic_write(Path(out), (result.model_dump_json(indent=2) + "\n").encode("utf-8"))
    if env_file is not None:
        atomic_write(Path(env_file), render_env_file(result).encode("utf-8"))
    return result


def build_env(rec: Record) -> dict[str, str]:
    """The variables that carry the build id (the canary) into the bundler."""
    values = dict.fromkeys(ENV_NAMES, rec.build_id)
    values["BUILDGUARD_COMMIT"] = rec.commit or ""
    return values


def render_env_file(rec: Record) -> str:
    lines = [
        "# Written by `buildguard record`. Load it before the build so the bundler embeds",
        "# the build id:  set -a; . .buildguard/build.env; set +a",
    ]
    lines += [f"{key}={shlex.quote(value)}" for key, value in build_env(rec).items()]
    return "\n".join(lines) + "\n"
