"""Parse manifests, indexes and image configs; verify raw digests.

Shared by every source: a source hands out raw bytes (``source.py``), this module turns them
into typed, verified values. Docker schema 2 and OCI are both read; ``mediaType`` may be
absent, in which case the document is recognised by its content (``manifests`` → index,
``config`` + ``layers`` → image manifest). Unknown media types are errors, never skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from buildguard._image.godocs import decode_config, decode_document
from buildguard._image.platformmatch import Platform as Platform  # re-exported
from buildguard._image.platformmatch import entry_platform
from buildguard.errors import ImageReadError

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"

INDEX_TYPES = frozenset({DOCKER_LIST, OCI_INDEX})
MANIFEST_TYPES = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
CONFIG_TYPES = frozenset({DOCKER_CONFIG, OCI_CONFIG})
LAYER_TYPES = frozenset(
    {
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)
_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
DOCUMENT_LIMIT = 32 << 20
"""Largest manifest, index or config read into memory."""


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: tuple[tuple[str, str], ...] = ()

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)


@dataclass(frozen=True)
class Index:
    media_type: str
    manifests: tuple[Descriptor, ...]


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


@dataclass(frozen=True)
class HistoryEntry:
    created: datetime | None
    created_by: str | None
    comment: str | None
    empty_layer: bool


@dataclass(frozen=True)
class ImageConfig:
    platform: Platform
    created: datetime | None
    diff_ids: tuple[str, ...]
    history: tuple[HistoryEntry, ...]

    def layer_history(self) -> tuple[HistoryEntry | None, ...]:
        """One history entry per layer (``empty_layer`` entries skipped); ``None`` where the
        history is shorter than the layer list."""
        per_layer = [h for h in self.history if not h.empty_layer]
        return tuple(
            per_layer[i] if i < len(per_layer) else None for i in range(len(self.diff_ids))
        )


# -- helpers ------------------------------------------------------------------------------


def check_digest(digest: object, what: str) -> str:
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise ImageReadError(
            f"{what}: digest {digest!r} is not a sha256 digest",
            hint="only sha256 digests are supported; the manifest may be corrupt",
        )
    return digest


def _limit(data: bytes, what: str) -> bytes:
    if len(data) > DOCUMENT_LIMIT:
        raise ImageReadError(f"{what} is {len(data)} bytes, larger than any sane document")
    return data


def decode_manifest_or_index(data: bytes, what: str) -> dict[str, Any]:
    """The fields Go's ``encoding/json`` fills from a manifest, index or ``index.json``
    (``godocs.MANIFEST_OR_INDEX``), or a refusal (``gojson``)."""
    return decode_document(_limit(data, what), what)


def _platform(raw: dict[str, Any] | None) -> Platform | None:
    """An image config's platform (an index entry's is ``platformmatch.entry_platform``):
    Go's platform fields are decoded whole and type-checked; the config's platform is
    compared on os, architecture and variant."""
    if raw is None:
        return None
    os_ = raw.get("os")
    arch = raw.get("architecture")
    if not os_ or not arch:
        return None
    return Platform(os_, arch, raw.get("variant") or None)


def _descriptor(raw: dict[str, Any], what: str) -> Descriptor:
    media_type = raw.get("mediaType")
    size = raw.get("size")
    if not media_type or size is None or size < 0:
        raise ImageReadError(
            f"{what} lacks a mediaType or a valid size", hint="the manifest is corrupt"
        )
    annotations: dict[str, str] = raw.get("annotations") or {}
    return Descriptor(
        media_type,
        check_digest(raw.get("digest"), what),
        size,
        entry_platform(raw.get("platform"), what),
        tuple(annotations.items()),
    )


def document_kind(data: bytes, media_type: str | None, what: str) -> tuple[str, dict[str, Any]]:
    """Return (``"index"`` | ``"manifest"``, the fields Go fills by JSON name) for a
    top-level document (``decode_manifest_or_index``)."""
    doc = decode_manifest_or_index(data, what)
    kind_type = doc.get("mediaType") or media_type
    if kind_type in _SCHEMA1 or doc.get("schemaVersion") == 1:
        raise ImageReadError(
            f"{what} is a Docker schema 1 manifest, which buildguard does not read",
            hint="push the image with a current Docker or convert it with skopeo",
        )
    if kind_type in INDEX_TYPES or (kind_type not in MANIFEST_TYPES and "manifests" in doc):
        return "index", doc
    if kind_type in MANIFEST_TYPES or ("config" in doc and "layers" in doc):
        return "manifest", doc
    raise ImageReadError(
        f"{what} has media type {kind_type!r}, which is neither an image manifest nor an index",
        hint="the reference may name an artifact (signature, SBOM) instead of an image",
    )


def parse_index(doc: dict[str, Any], what: str) -> Index:
    raw = doc.get("manifests")
    if not isinstance(raw, list):
        raise ImageReadError(f"{what} has no manifests list", hint="the index is corrupt")
    return Index(
        doc.get("mediaType") or OCI_INDEX,
        tuple(_descriptor(d, f"{what} manifests[{i}]") for i, d in enumerate(raw)),
    )


def parse_manifest(doc: dict[str, Any], what: str) -> Manifest:
    config_raw: dict[str, Any] | None = doc.get("config")
    if config_raw is None:
        raise ImageReadError(f"{what} has no config", hint="the manifest is corrupt")
    media_type = doc.get("mediaType")
    if not media_type:
        config_type = config_raw.get("mediaType")
        media_type = DOCKER_MANIFEST if config_type == DOCKER_CONFIG else OCI_MANIFEST
    config = _descriptor(config_raw, f"{what} config")
    if config.media_type not in CONFIG_TYPES:
        raise ImageReadError(
            f"{what} has a config of media type {config.media_type!r}, not an image config",
            hint="the reference names an artifact (signature, SBOM, attestation), not an image",
        )
    layers_raw = doc.get("layers")
    if not isinstance(layers_raw, list):
        raise ImageReadError(f"{what} has no layers list", hint="the manifest is corrupt")
    layers = tuple(_descriptor(d, f"{what} layers[{i}]") for i, d in enumerate(layers_raw))
    for i, layer in enumerate(layers):
        if layer.media_type not in LAYER_TYPES:
            raise ImageReadError(
                f"{what}: layer {i} ({layer.digest}) has media type {layer.media_type!r}, "
                "which is not an image layer",
                hint="buildguard reads tar, tar+gzip and tar+zstd layers only",
            )
    return Manifest(media_type, config, layers)


def _time(raw: str | None) -> datetime | None:
    """An RFC 3339 time ``gojson`` has checked, to microseconds (Go keeps nanoseconds)."""
    if not raw:
        return None
    text = raw[:-1] + "+00:00" if raw.endswith("Z") else raw
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match and match.group(2):
        text = match.group(1) + match.group(2)[:7].ljust(7, "0") + match.group(3)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_config(data: bytes, what: str) -> ImageConfig:
    doc = decode_config(_limit(data, what), what)
    rootfs: dict[str, Any] = doc.get("rootfs") or {}
    diff_ids_raw: list[str] | None = rootfs.get("diff_ids")
    if diff_ids_raw is None:
        raise ImageReadError(f"{what} has no rootfs.diff_ids", hint="the image config is corrupt")
    diff_ids = tuple(check_digest(d, f"{what} diff_ids[{i}]") for i, d in enumerate(diff_ids_raw))
    history = tuple(
        HistoryEntry(
            _time(item.get("created")),
            item.get("created_by"),
            item.get("comment"),
            item.get("empty_layer", False),
        )
        for item in doc.get("history") or ()
    )
    platform = _platform(doc) or Platform("unknown", "unknown")
    return ImageConfig(platform, _time(doc.get("created")), diff_ids, history)
