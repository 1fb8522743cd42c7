"""What the checks share: expectations, the tree they read, and the finding reporter.

Kept apart from :mod:`buildguard._checks.checks` (bundles) and
:mod:`buildguard._checks.filechecks` (files) so that both can use it without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from buildguard._internal.pathescape import escape
from buildguard.models import Finding, FindingCode, LayerInfo, Severity


class CheckedEntry(Protocol):
    """What the checks need of one flattened image entry."""

    @property
    def type(self) -> str: ...  # file, dir, symlink, hardlink, other
    @property
    def size(self) -> int: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def mode(self) -> int: ...
    @property
    def mtime(self) -> int: ...  # seconds since the epoch, as layer tars store it
    @property
    def layer(self) -> int: ...
    @property
    def link_target(self) -> str | None: ...


class Tree(Protocol):
    """The flattened image, as the checks read it (``FileTree`` is one)."""

    def get(self, path: str) -> CheckedEntry | None: ...
    def under_paths(self, prefix: str) -> Iterable[str]: ...  # sorted, at or below prefix
    def deleted_by(self, path: str) -> int | None: ...
    def deleted_paths(self) -> Iterable[str]: ...  # non-directories a later layer removed


class MappingTree:
    """A :class:`Tree` over a plain mapping of absolute path → entry (hand-made trees)."""

    def __init__(
        self, entries: Mapping[str, CheckedEntry], deleted: Mapping[str, int] | None = None
    ) -> None:
        self._entries = entries
        self._deleted = deleted or {}
        self._sorted = sorted(entries)

    def get(self, path: str) -> CheckedEntry | None:
        return self._entries.get(path)

    def under_paths(self, prefix: str) -> Iterator[str]:
        root = prefix.rstrip("/") or "/"
        for path in self._sorted:
            if root == "/" or path == root or path.startswith(root + "/"):
                yield path

    def deleted_by(self, path: str) -> int | None:
        return self._deleted.get(path)

    def deleted_paths(self) -> Iterator[str]:
        return iter(self._deleted)


@dataclass(frozen=True)
class RecordFacts:
    """What the checks need of one record given to verify."""

    name: str
    """How messages name it: the file as given, or ``record of SOURCE_ROOT``."""
    source_digest: str
    started_at: datetime


@dataclass(frozen=True)
class ResolvedExpectations:
    build_id: str
    commit: str | None
    source_digest: str | None
    started_at: datetime
    """When this build started (the record), or when verify started without a record."""
    started_label: str = "this build started"
    image_created: datetime | None = None
    """The image config's ``created``: file times equal to it are clamps, not evidence."""
    commit_from: str | None = None
    """Where :attr:`commit` came from when it was not given (``$COMMIT_SHA``, the record,
    ``git rev-parse HEAD``), named in a ``COMMIT_MISMATCH``."""
    records: tuple[RecordFacts, ...] = ()
    """Every record given (one per app of a monorepo). With one, :attr:`source_digest` and
    :attr:`started_at` are its own; with several, each bundle is judged against the record
    whose source digest its manifest carries (:mod:`buildguard._checks.sourcecheck`)."""


class Reporter:
    """Collects findings for one platform image, filling in each finding's layer facts."""

    def __init__(self, layers: Sequence[LayerInfo], platform: str | None) -> None:
        self.layers = layers
        self.platform = platform
        self.findings: list[Finding] = []

    def add(
        self,
        code: FindingCode,
        message: str,
        *,
        severity: Severity = "error",
        bundle: str | None = None,
        path: str | None = None,
        layer: int | None = None,
        hint: str | None = None,
    ) -> None:
        info = self.layers[layer] if layer is not None and 0 <= layer < len(self.layers) else None
        self.findings.append(
            Finding(
                code=code,
                severity=severity,
                message=message,
                bundle=escape(bundle) if bundle is not None else None,
                path=escape(path) if path is not None else None,
                layer=layer,
                layer_digest=info.digest if info else None,
                created_by=info.created_by if info else None,
                platform=self.platform,
                hint=hint,
            )
        )

    def layer_text(self, index: int) -> str:
        if not 0 <= index < len(self.layers):
            return f"layer {index}"
        step = self.layers[index].created_by
        return f"layer {index} ({step.strip()})" if step else f"layer {index}"
