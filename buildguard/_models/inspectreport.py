"""The ``inspect`` report: what an image holds, without judging it.

Defined here (not in ``buildguard.models``) so that the image package never imports the
models module; ``buildguard.models`` re-exports these. The conventions are the same: frozen,
``extra="forbid"``, a ``schema_version``, times as RFC 3339 UTC strings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from buildguard._internal.modeltypes import (
    READ_FROM_DESCRIPTION,
    Digest,
    FrozenModel,
    ReadFrom,
    Sha256Hex,
    UtcTime,
)


class ImageRef(FrozenModel):
    """Which image was read."""

    reference: str = Field(description="The reference as given.")
    digest: Digest | None = Field(
        description="Digest of the image manifest read (None for a legacy docker save "
        "archive, which has none; config_digest then identifies the image)."
    )
    media_type: str
    config_digest: Digest
    platform: str = Field(description="OS/ARCH[/VARIANT] from the image config.")
    created: UtcTime | None = None


class IndexEntryReport(FrozenModel):
    """An entry of the index (or nested index) the image was chosen from."""

    index: Digest = Field(description="Digest of the index listing the entry.")
    position: int = Field(ge=0, description="0-based position in that index's manifests.")
    digest: Digest
    media_type: str
    platform: str | None = Field(
        description="OS/ARCH[/VARIANT] as the entry gives it; None when it gives none."
    )
    kind: Literal["image", "index", "attestation", "artifact"] = Field(
        description="attestation: BuildKit's unknown/unknown or the vnd.docker.reference.type "
        "annotation; artifact: any other media type. Neither ever makes an image pass."
    )
    chosen: bool = Field(
        description="The entry the runtimes pull for the platform asked, which was read."
    )


class LayerReport(FrozenModel):
    index: int = Field(ge=0, description="0-based, from the bottom layer.")
    digest: Digest = Field(description="Digest of the blob as stored (compressed).")
    diff_id: Digest = Field(description="Digest of the uncompressed tar (from the config).")
    size: int = Field(ge=0, description="Blob size in bytes.")
    media_type: str
    compression: Literal["gzip", "zstd", "none"] = Field(
        description="Sniffed from the blob's first bytes, not taken from the media type."
    )
    created_by: str | None = Field(description="The history entry's created_by.")
    created: UtcTime | None = None
    comment: str | None = None
    read_from: ReadFrom = Field(default="source", description=READ_FROM_DESCRIPTION)


class ManifestReport(FrozenModel):
    """A buildguard-manifest.json found in the image, with the fields read from it."""

    path: str
    layer: int = Field(ge=0)
    sha256: Sha256Hex
    size: int = Field(ge=0)
    build_id: str | None = None
    commit: str | None = None
    sealed_at: str | None = Field(default=None, description="As written in the manifest.")
    record_started_at: str | None = Field(
        default=None, description="When that build's record was taken, as written."
    )
    error: str | None = Field(
        default=None, description="Why the manifest could not be parsed, if it could not."
    )


class FileReport(FrozenModel):
    path: str = Field(description="Absolute POSIX path in the image.")
    type: Literal["file", "dir", "symlink", "hardlink", "other"]
    size: int = Field(ge=0)
    sha256: Sha256Hex | None = Field(
        description="Content digest (files and hard links under the paths asked)."
    )
    mtime: UtcTime
    layer: int = Field(ge=0, description="Index of the layer that wrote this entry.")
    link_target: str | None = None
    mode: int = Field(ge=0, description="Permission bits (& 0o7777).")
    uid: int
    gid: int
    bundle: str | None = Field(
        default=None, description="Root of the sealed bundle this file lies in, if any."
    )
    seconds_after_record: float | None = Field(
        default=None,
        description="mtime minus that bundle's record_started_at (negative: older than the "
        "build that sealed the bundle).",
    )


class InspectReport(FrozenModel):
    schema_version: Literal[1] = 1
    image: ImageRef
    index_entries: tuple[IndexEntryReport, ...] = Field(
        default=(),
        description="Every entry of the index(es) read on the way to the image "
        "(none for a single image).",
    )
    layers: tuple[LayerReport, ...]
    manifests: tuple[ManifestReport, ...]
    files: tuple[FileReport, ...]
