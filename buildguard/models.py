"""The files and reports buildguard writes, as frozen pydantic models.

Every model here is ``frozen`` and ``extra="forbid"``; every top-level document carries a
``schema_version``. Their JSON Schemas are exported to ``schemas/`` by
``python -m buildguard.models`` and a test fails when the committed copies drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from buildguard._internal.files import atomic_write
from buildguard._internal.modeltypes import Digest, FrozenModel, Sha256Hex, UtcTime
from buildguard.image.report import (
    FileReport,
    ImageRef,
    IndexEntryReport,
    InspectReport,
    LayerReport,
    ManifestReport,
)
from buildguard.live.report import LiveReport

__all__ = [
    "MANIFEST_MAX_BYTES",
    "MANIFEST_MAX_FILES",
    "MANIFEST_NAME",
    "BundleManifest",
    "BundleResult",
    "Expected",
    "FileEntry",
    "FileReport",
    "Finding",
    "ImageInfo",
    "ImageRef",
    "IndexEntryReport",
    "InspectReport",
    "LayerInfo",
    "LayerReport",
    "ManifestReport",
    "Record",
    "VerifyReport",
    "VerifyStats",
]

MANIFEST_NAME = "buildguard-manifest.json"
MANIFEST_MAX_FILES = 100_000
"""seal refuses a bundle of more files; verify refuses a manifest that lists more."""
MANIFEST_MAX_BYTES = 32 << 20
"""seal refuses a bundle whose manifest would be larger; verify refuses a larger one."""


class FileEntry(FrozenModel):
    """One file of a source tree or a bundle, as found on disk."""

    path: str = Field(
        description="POSIX path relative to the tree root; bytes that are not UTF-8 are "
        "written \\xNN and a backslash is doubled."
    )
    type: Literal["file", "symlink"] = "file"
    sha256: Sha256Hex = Field(
        description="Digest of the content (of the link target string for a symlink)."
    )
    size: int = Field(ge=0)
    mode: int = Field(ge=0, description="Permission bits (st_mode & 0o7777).")
    mtime: UtcTime
    media_type: str | None = Field(
        default=None,
        description="In a bundle manifest, from the file's extension, else sniffed by "
        "libmagic; informational only. Records leave it null.",
    )
    link_target: str | None = None


class Record(FrozenModel):
    """What ``buildguard record`` captured before the build ran."""

    schema_version: Literal[1] = 1
    build_id: str = Field(min_length=1)
    commit: str | None
    started_at: UtcTime
    source_root: str = Field(description="Absolute path of the hashed source tree.")
    source_digest: Digest
    cleaned: tuple[str, ...] = Field(
        default=(), description="Output folders removed before the build (absolute paths)."
    )
    excludes: tuple[str, ...] = Field(
        default=(), description="Exclude patterns applied on top of .gitignore files."
    )
    files: tuple[FileEntry, ...]
    warnings: tuple[str, ...] = ()


class BundleManifest(FrozenModel):
    """``buildguard-manifest.json``: binds a bundle's files to the build that made them."""

    schema_version: Literal[1] = 1
    build_id: str = Field(min_length=1)
    commit: str | None
    source_digest: Digest
    record_started_at: UtcTime
    sealed_at: UtcTime
    freshness: Literal["canary", "timestamps"] = Field(
        description="Evidence that held at seal time: the canary plus timestamps, "
        "or timestamps only (--no-canary)."
    )
    canary_files: tuple[str, ...] = Field(
        default=(), description="Bundle files found to contain the build id."
    )
    files: tuple[FileEntry, ...]


FindingCode = Literal[
    "BUILD_ID_MISMATCH",
    "COMMIT_MISMATCH",
    "COMMIT_UNCHECKED",
    "SOURCE_MISMATCH",
    "SOURCE_UNCHECKED",
    "FILE_MISSING",
    "FILE_CHANGED",
    "FILE_EXTRA",
    "FILE_STALE",
    "FILE_MODE",
    "FILE_LINK_OUTSIDE",
    "TIMESTAMPS_CLAMPED",
    "NO_MANIFEST",
    "MANIFEST_INVALID",
    "NOTHING_CHECKED",
]
Severity = Literal["error", "warning", "info"]


class LayerInfo(FrozenModel):
    """One layer of a verified image, bottom layer first."""

    index: int = Field(ge=0)
    digest: Digest
    size: int = Field(ge=0)
    created_by: str | None = Field(
        default=None, description="The image history step (Dockerfile instruction)."
    )


class Finding(FrozenModel):
    """One thing verify found. Only ``error`` findings fail the verdict."""

    code: FindingCode
    severity: Severity
    message: str
    bundle: str | None = Field(default=None, description="Bundle root in the image.")
    path: str | None = Field(default=None, description="Path in the image.")
    layer: int | None = Field(
        default=None, description="0-based index (from the bottom) of the layer that wrote it."
    )
    layer_digest: Digest | None = None
    created_by: str | None = None
    platform: str | None = None


class ImageInfo(FrozenModel):
    reference: str
    digest: Digest | None = Field(description="Digest of the manifest (or index) verified.")
    platforms: tuple[str, ...] = ()


class Expected(FrozenModel):
    build_id: str
    commit: str | None
    source_digest: Digest | None
    record: str | None = Field(default=None, description="The record file used, if any.")
    record_started_at: UtcTime | None = None


class BundleResult(FrozenModel):
    root: str
    platform: str | None = None
    build_id: str | None
    commit: str | None
    source_digest: str | None = None
    sealed_at: UtcTime | None = None
    files_compared: int = 0
    ok: bool


class VerifyStats(FrozenModel):
    layers_read: int
    bytes_read: int
    files_compared: int
    seconds: float


class VerifyReport(FrozenModel):
    """What ``verify`` found; ``ok`` is false when any finding is an error."""

    schema_version: Literal[1] = 1
    ok: bool
    image: ImageInfo
    expected: Expected
    bundles: tuple[BundleResult, ...]
    findings: tuple[Finding, ...]
    layers: tuple[LayerInfo, ...] = ()
    stats: VerifyStats


SCHEMAS: dict[str, type[BaseModel]] = {
    "record.schema.json": Record,
    "bundle-manifest.schema.json": BundleManifest,
    "verify-report.schema.json": VerifyReport,
    "inspect-report.schema.json": InspectReport,
    "verify-live-report.schema.json": LiveReport,
}


def all_schemas() -> dict[str, type[BaseModel]]:
    """:data:`SCHEMAS` and the ``verify --from-build`` report (it nests VerifyReport, so its
    module imports this one and is imported late here)."""
    from buildguard.buildreport import BuildVerifyReport

    return {**SCHEMAS, "build-verify-report.schema.json": BuildVerifyReport}


def schema_documents() -> dict[str, str]:
    """Return each exported JSON Schema as the exact text committed under ``schemas/``."""
    return {
        name: json.dumps(model.model_json_schema(mode="serialization"), indent=2) + "\n"
        for name, model in all_schemas().items()
    }


def write_schemas(directory: Path) -> list[Path]:
    """Write every JSON Schema into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_documents().items():
        target = directory / name
        atomic_write(target, text.encode("utf-8"))
        written.append(target)
    return written


if __name__ == "__main__":  # pragma: no cover - developer tool
    import sys

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("schemas")
    for written_path in write_schemas(out):
        sys.stdout.write(f"wrote {written_path}\n")
