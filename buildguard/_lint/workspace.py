"""The files lint reads: found under the folders given, or named on the command line.

The lint root stands for the repository root (Cloud Build's ``/workspace``): every path a
finding names, and every path a pipeline names (``dir:``, ``-f``, the build context), is
relative to it. Files are decoded as UTF-8 with replacement, never refused for their bytes.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar

from buildguard._lint.errors import ParseFailure
from buildguard._models.lintreport import LintFileKind
from buildguard.errors import UsageError

T = TypeVar("T")

MAX_FILE_BYTES = 8 << 20
"""Files larger than this are not read (a bundle's source map, a vendored blob)."""

SKIPPED_FOLDERS = frozenset({"node_modules", ".git", ".hg", ".svn", ".venv", "__pycache__"})
OUTPUT_FOLDERS = ("dist", "build", "out")
"""Folders read as a built bundle when found at the root or beside a ``package.json``."""

_SOURCE_SUFFIXES = (".js", ".jsx", ".ts", ".tsx", ".mjs")
_BUNDLE_SUFFIXES = (".js", ".mjs", ".cjs", ".html")
_YAML = re.compile(r"\.ya?ml$", re.IGNORECASE)
_K8S = re.compile(r"^apiVersion\s*:", re.MULTILINE)
_K8S_KIND = re.compile(r"^kind\s*:", re.MULTILINE)
_CLOUDBUILD = re.compile(r"^steps\s*:", re.MULTILINE)
_ACTIONS = re.compile(r"^jobs\s*:", re.MULTILINE)


@dataclass(frozen=True)
class WorkspaceFile:
    """One file lint read."""

    path: str
    """posix, relative to the lint root"""
    kind: LintFileKind
    text: str
    """decoded UTF-8 (``errors="replace"``)"""

    @functools.cached_property
    def lines(self) -> list[str]:
        """The text's lines (split once: the linter reads them for every finding's
        suppression comment)."""
        return self.text.splitlines()


def kind_by_name(relative: str) -> LintFileKind | None:
    """The kind a file's name and place give it, or None for a file lint does not read."""
    pure = PurePosixPath(relative)
    name = pure.name
    lower = name.lower()
    parts = pure.parts[:-1]
    if lower == ".dockerignore" or lower.endswith(".dockerignore"):
        return "dockerignore"
    if lower == ".gcloudignore":
        return "gcloudignore"
    if lower == ".gitignore":
        return "gitignore"
    if lower.startswith("dockerfile") or lower.endswith(".dockerfile"):
        return "dockerfile"
    if _YAML.search(name):
        if len(parts) >= 2 and parts[-2:] == (".github", "workflows"):
            return "github-actions"
        if lower.startswith("cloudbuild"):
            return "cloudbuild"
        return None  # other YAML: Kubernetes when its text says so (see _kind_by_text)
    if lower.endswith((".conf", ".conf.template", ".conf.tpl")) or (
        lower.startswith("nginx") and ".conf" in lower
    ):
        return "nginx"
    if lower == "package.json":
        return "package-json"
    if re.fullmatch(r"vite\.config\.(js|mjs|cjs|ts|mts|cts)", lower):
        return "vite-config"
    if lower == "angular.json":
        return "angular-json"
    if lower == ".env" or lower.startswith(".env."):
        return "env-file"
    if "src" in parts and lower.endswith(_SOURCE_SUFFIXES):
        return "source"
    return None


def _kind_by_text(relative: str, text: str) -> LintFileKind | None:
    if not _YAML.search(relative):
        return None
    if _K8S.search(text) and _K8S_KIND.search(text):
        return "kubernetes"
    return None


def _sniff(relative: str, text: str) -> LintFileKind | None:
    """For a file named on the command line whose name says nothing."""
    by_text = _kind_by_text(relative, text)
    if by_text is not None:
        return by_text
    if _YAML.search(relative):
        if _CLOUDBUILD.search(text):
            return "cloudbuild"
        if _ACTIONS.search(text):
            return "github-actions"
    if re.search(r"^\s*FROM\s+\S", text, re.MULTILINE | re.IGNORECASE):
        return "dockerfile"
    return None


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None


class Workspace:
    """Every file lint read, by kind; any other file under the root on demand."""

    def __init__(self, root: Path, files: Sequence[WorkspaceFile]) -> None:
        self.root = root
        self.files: tuple[WorkspaceFile, ...] = tuple(files)
        self._by_path = {f.path: f for f in self.files}
        self._on_demand: dict[str, WorkspaceFile | None] = {}
        self._kindless: set[str] = set()
        self._parsed: dict[tuple[str, object], object] = {}
        self._failures: dict[tuple[str, object], ParseFailure] = {}
        self._derived: dict[Hashable, object] = {}

    def of_kind(self, *kinds: LintFileKind) -> list[WorkspaceFile]:
        return [f for f in self.files if f.kind in kinds]

    def get(self, path: str, kind: LintFileKind | None = None) -> WorkspaceFile | None:
        """The file at ``path`` (relative to the root), found or read now; None when it does
        not exist, is not a regular file, lies outside the root or is too large. A file read
        now takes ``kind``, else the kind its name gives (``source`` when none, and then
        it is not listed in :meth:`read_files`)."""
        relative = normalise(path)
        if relative is None:
            return None
        found = self._by_path.get(relative)
        if found is not None:
            return found
        if relative not in self._on_demand:
            self._on_demand[relative] = self._read_on_demand(relative, kind)
            if kind is None and kind_by_name(relative) is None:
                self._kindless.add(relative)  # a shell script a step runs, say
        return self._on_demand[relative]

    def _read_on_demand(self, relative: str, kind: LintFileKind | None) -> WorkspaceFile | None:
        target = self.root / relative
        try:
            if not target.is_file() or not target.resolve().is_relative_to(self.root.resolve()):
                return None
        except OSError:
            return None
        text = _read(target)
        if text is None:
            return None
        return WorkspaceFile(relative, kind or kind_by_name(relative) or "source", text)

    def exists(self, path: str) -> bool:
        """Whether ``path`` (a file or folder, relative to the root) exists under the root."""
        relative = normalise(path)
        return relative is not None and (self.root / relative).exists()

    def read_files(self) -> list[WorkspaceFile]:
        """The files found, then those read on demand (in the order they were asked for);
        not those read as no kind of file lint knows."""
        extra = [
            f for f in self._on_demand.values() if f is not None and f.path not in self._kindless
        ]
        return [*self.files, *extra]

    def parsed(self, file: WorkspaceFile, parser: Callable[[WorkspaceFile], T]) -> T | None:
        """``parser(file)``, once per file and parser; None when it raised
        :class:`ParseFailure` (kept for the linter's BG-PARSE warning)."""
        key = (file.path, parser)
        if key in self._failures:
            return None
        if key not in self._parsed:
            try:
                self._parsed[key] = parser(file)
            except ParseFailure as failure:
                self._failures[key] = failure
                return None
        return self._parsed[key]  # type: ignore[return-value]

    def derived(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, once per workspace and ``key``: what several rules derive from the
        same parsed files (the pipelines with their effects, the cluster, a script's URL
        literals). Rules only read what it returns."""
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]  # type: ignore[return-value]

    def record_failure(self, rule_id: str, failure: ParseFailure) -> None:
        """A ParseFailure a rule let escape (the linter's BG-PARSE warning names it)."""
        self._failures[(failure.path, rule_id)] = failure

    @property
    def parse_failures(self) -> list[ParseFailure]:
        return list(self._failures.values())


def normalise(path: str) -> str | None:
    """``path`` as a posix path relative to the root, or None when it leaves the root."""
    parts: list[str] = []
    for part in PurePosixPath(path.replace("\\", "/")).parts:
        if part in ("/", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts) if parts else "."


def _walk(root: Path, start: Path) -> Iterator[tuple[str, Path]]:
    """Every regular file under ``start`` as (path relative to root, absolute path); a
    symbolic link is followed only to a file under the root (folders' links never)."""
    inside = root.resolve()
    for folder, dirnames, filenames in os.walk(start):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_FOLDERS)
        for name in sorted(filenames):
            full = Path(folder) / name
            try:
                if full.is_symlink() and not full.resolve().is_relative_to(inside):
                    continue
            except (OSError, RuntimeError):  # a loop of links
                continue
            if full.is_file():
                yield full.relative_to(root).as_posix(), full


def _is_bundle_file(relative: str, bundle_roots: set[str]) -> bool:
    if not relative.lower().endswith(_BUNDLE_SUFFIXES):
        return False
    return any(relative.startswith(f"{b}/") or b == "." for b in bundle_roots)


def _find_bundle_roots(root: Path, start: Path) -> set[str]:
    roots: set[str] = set()
    for folder, dirnames, filenames in os.walk(start):
        dirnames[:] = [d for d in dirnames if d not in SKIPPED_FOLDERS]
        here = Path(folder)
        relative = here.relative_to(root).as_posix()
        if "buildguard-manifest.json" in filenames:
            roots.add(relative)
        if "package.json" in filenames or here == root:
            for name in OUTPUT_FOLDERS:
                if name in dirnames:
                    roots.add(normalise(f"{relative}/{name}") or name)
    return roots


def _root_for(paths: Sequence[Path]) -> Path:
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0]
    cwd = Path.cwd()
    resolved = [p.resolve() for p in paths]
    if all(p.is_relative_to(cwd.resolve()) for p in resolved):
        return cwd
    return Path(os.path.commonpath([p if p.is_dir() else p.parent for p in resolved]))


def discover(paths: Sequence[Path]) -> Workspace:
    """Find the files lint reads under ``paths`` (folders, or files named directly).

    The root is the one folder given, else the current folder (or, for paths outside it,
    their common parent). A named file of a kind lint cannot tell is a usage error.
    """
    paths = list(paths) or [Path(".")]
    for path in paths:
        if not path.exists():
            raise UsageError(
                f"lint: {path} does not exist",
                hint="give lint the repository's root folder, or files in it",
            )
    root = _root_for(paths)
    found: dict[str, WorkspaceFile] = {}
    for path in paths:
        if path.is_dir():
            # both absolute: a relative folder under an absolute root (`lint x.yaml app/`)
            # is not relative_to it
            bundles = _find_bundle_roots(root.absolute(), path.absolute())
            for relative, full in _walk(root.absolute(), path.absolute()):
                kind = kind_by_name(relative)
                if kind is None and _is_bundle_file(relative, bundles):
                    kind = "bundle"
                text = _read(full) if kind is not None or _YAML.search(relative) else None
                if text is None:
                    continue
                kind = kind or _kind_by_text(relative, text)
                if kind is not None:
                    found[relative] = WorkspaceFile(relative, kind, text)
            continue
        relative = Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()
        text = _read(path)
        if text is None:
            raise UsageError(f"lint: cannot read {path}", hint="is it a readable text file?")
        kind = kind_by_name(relative)
        kind = _kind_by_text(relative, text) if kind is None else kind
        kind = kind or _sniff(relative, text)
        if kind is None:
            raise UsageError(
                f"lint: {path} is not a kind of file lint reads",
                hint="lint reads cloudbuild*.yaml, .github/workflows/*.yml, Dockerfiles, "
                "ignore files, nginx configs, Kubernetes YAML and sources; or give a folder",
            )
        found[relative] = WorkspaceFile(relative, kind, text)
    return Workspace(root, [found[k] for k in sorted(found)])
