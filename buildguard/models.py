"""The files and reports buildguard writes, as frozen pydantic models.

Every model here is ``frozen`` and ``extra="forbid"``; every top-level document carries a
``schema_version``. Their JSON Schemas are exported to ``schemas/`` by
``python -m buildguard._schemas`` and a test fails when the committed copies drift.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from buildguard._internal.modeltypes import (
    MANIFEST_NAME,
    READ_FROM_DESCRIPTION,
    Digest,
    FrozenModel,
    ReadFrom,
    Severity,
    Sha256Hex,
    UtcTime,
)
from buildguard._models.attestreport import (
    AttestationReport,
    AttestationResult,
)
from buildguard._models.errorreport import ErrorInfo, ErrorKind, ErrorReport
from buildguard._models.inspectreport import (
    FileReport,
    ImageRef,
    IndexEntryReport,
    InspectReport,
    LayerReport,
    ManifestReport,
)
from buildguard._models.lintreport import (
    LintFile,
    LintFileKind,
    LintFinding,
    LintReport,
    LintSeverity,
)
from buildguard._models.livereport import LiveReport

__all__ = [
    "MANIFEST_MAX_BYTES",
    "MANIFEST_MAX_FILES",
    "MANIFEST_NAME",
    "AttestationReport",
    "AttestationResult",
    "BuildImageResult",
    "BuildSummary",
    "BuildVerifyReport",
    "BundleManifest",
    "BundleResult",
    "ErrorInfo",
    "ErrorKind",
    "ErrorReport",
    "Expected",
    "ExpectedRecord",
    "FileEntry",
    "FileReport",
    "Finding",
    "ImageInfo",
    "ImageRef",
    "IndexEntryReport",
    "InspectReport",
    "LayerInfo",
    "LayerReport",
    "LintFile",
    "LintFileKind",
    "LintFinding",
    "LintReport",
    "LintSeverity",
    "LiveReport",
    "ManifestReport",
    "Mark",
    "Record",
    "Severity",
    "Verdict",
    "VerifyReport",
    "VerifyStats",
]

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


class LayerInfo(FrozenModel):
    """One layer of a verified image, bottom layer first."""

    index: int = Field(ge=0)
    digest: Digest
    size: int = Field(ge=0)
    created_by: str | None = Field(
        default=None, description="The image history step (Dockerfile instruction)."
    )
    read_from: ReadFrom = Field(default="source", description=READ_FROM_DESCRIPTION)


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
    hint: str | None = Field(
        default=None, description="The fix, in one sentence, where there is one to name."
    )


class ImageInfo(FrozenModel):
    reference: str
    digest: Digest | None = Field(description="Digest of the manifest (or index) verified.")
    platforms: tuple[str, ...] = ()
    platform_digests: tuple[Digest, ...] = Field(
        default=(),
        description="With --platform all: the manifest digest of each platform verified, in "
        "the order of platforms (what an attestation of the index also covers).",
    )


class ExpectedRecord(FrozenModel):
    """One record verify was given (``--record``, repeatable) or found (the default)."""

    name: str = Field(
        description="The record file as given, or `record of SOURCE_ROOT` for a record "
        "passed to the Python API as a model."
    )
    file: str | None = Field(default=None, description="The record file, if read from one.")
    build_id: str
    commit: str | None
    source_root: str = Field(description="The source folder the record hashed.")
    source_digest: Digest
    started_at: UtcTime


class Expected(FrozenModel):
    build_id: str
    commit: str | None
    source_digest: Digest | None = Field(
        description="The record's source digest with one record; with several, null (each "
        "bundle is judged against the record in `records` whose digest it carries)."
    )
    record: str | None = Field(
        default=None,
        description="The record file used, with one record; with several, null (see `records`).",
    )
    record_started_at: UtcTime | None = Field(
        default=None, description="When the record's build started (with several, the earliest)."
    )
    records: tuple[ExpectedRecord, ...] = Field(
        default=(), description="Every record used (one per app in a monorepo)."
    )


class BundleResult(FrozenModel):
    root: str
    platform: str | None = None
    build_id: str | None
    commit: str | None
    source_digest: str | None = None
    sealed_at: UtcTime | None = None
    files_compared: int = 0
    record: str | None = Field(
        default=None,
        description="The name (see `expected.records`) of the record the bundle was judged "
        "against; null when no record matched or none was given.",
    )
    ok: bool
    manifest_sha256: Sha256Hex | None = Field(
        default=None,
        description="sha256 of the bundle's buildguard-manifest.json bytes (what an "
        "attestation names).",
    )


class VerifyStats(FrozenModel):
    layers_read: int
    layers_from_cache: int = Field(
        default=0,
        ge=0,
        description="How many of layers_read the layer-index cache answered (their blobs "
        "were not read in this run).",
    )
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


Verdict = Literal["pass", "fail", "error"]
"""``pass`` (exit 0), ``fail`` (a check failed, exit 1), ``error`` (not verified: the
image could not be read, exit 3, or was named wrongly, exit 2)."""


class Mark(FrozenModel):
    """A tag put on a verified digest by ``--mark-verified``."""

    tag: str
    digest: Digest
    via: Literal["artifact-registry", "registry-api"]
    target: str = Field(description="The Artifact Registry tag's resource name, or HOST/REPO:TAG.")


class BuildSummary(FrozenModel):
    id: str
    project: str
    region: str | None = Field(description="None for a global build.")
    status: str = Field(description="The build's status, e.g. SUCCESS.")
    commit: str | None
    commit_source: str | None = Field(
        description="Where the commit came from, e.g. sourceProvenance.resolvedRepoSource."
        "commitSha, or substitutions.COMMIT_SHA."
    )


class BuildImageResult(FrozenModel):
    name: str = Field(description="As the build lists it in results.images[].name.")
    digest: str
    reference: str = Field(description="What was verified: HOST/REPO@DIGEST.")
    verdict: Verdict
    exit_code: int
    error: str | None = Field(default=None, description="Why the image was not verified.")
    report: VerifyReport | None = None
    mark: Mark | None = None


class BuildVerifyReport(FrozenModel):
    """What ``verify --from-build`` found; ``ok`` only when every image passed."""

    schema_version: Literal[1] = 1
    ok: bool
    verdict: Verdict
    exit_code: int = Field(description="The worst exit code of the images (1 for none).")
    build: BuildSummary
    images: tuple[BuildImageResult, ...] = Field(description="In the build's order.")
    findings: tuple[Finding, ...] = Field(
        default=(), description="About the build as a whole (NOTHING_CHECKED)."
    )
