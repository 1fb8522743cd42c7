"""Parse manifests, indexes and image configs; verify raw digests.

Shared by every source: a source hands out raw bytes (``source.py``), this module turns them
into typed, verified values. Docker schema 2 and OCI are both read; ``mediaType`` may be
absent, in which case the document is recognised by its content (``manifests`` → index,
``config`` + ``layers`` → image manifest). Unknown media types are errors, never skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from buildguard.errors import ImageReadError
from buildguard.image.platformmatch import Platform as Platform  # re-exported
from buildguard.image.platformmatch import entry_platform

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
_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v1+prettyjws")

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


def _load_json(data: bytes, what: str) -> dict[str, Any]:
    if len(data) > DOCUMENT_LIMIT:
        raise ImageReadError(f"{what} is {len(data)} bytes, larger than any sane document")
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImageReadError(
            f"{what} is not valid JSON: {exc}", hint="the image metadata is corrupt"
        ) from None
    if not isinstance(doc, dict):
        raise ImageReadError(f"{what} is not a JSON object", hint="the image metadata is corrupt")
    return doc


def _platform(raw: Any) -> Platform | None:
    if not isinstance(raw, dict):
        return None
    os_ = raw.get("os")
    arch = raw.get("architecture")
    if not isinstance(os_, str) or not isinstance(arch, str):
        return None
    variant = raw.get("variant")
    return Platform(os_, arch, variant if isinstance(variant, str) and variant else None)


def _descriptor(raw: Any, what: str) -> Descriptor:
    if not isinstance(raw, dict):
        raise ImageReadError(f"{what} is not a descriptor object", hint="the manifest is corrupt")
    media_type = raw.get("mediaType")
    digest = raw.get("digest")
    size = raw.get("size")
    if not isinstance(media_type, str) or not isinstance(size, int) or size < 0:
        raise ImageReadError(
            f"{what} lacks a mediaType or a valid size", hint="the manifest is corrupt"
        )
    annotations = raw.get("annotations") or {}
    pairs = tuple(
        (str(k), str(v)) for k, v in annotations.items()
    ) if isinstance(annotations, dict) else ()
    return Descriptor(
        media_type, check_digest(digest, what), size, entry_platform(raw.get("platform"), what),
        pairs
    )


def document_kind(data: bytes, media_type: str | None, what: str) -> tuple[str, dict[str, Any]]:
    """Return (``"index"`` | ``"manifest"``, parsed JSON) for a top-level document."""
    doc = _load_json(data, what)
    declared = doc.get("mediaType")
    kind_type = declared if isinstance(declared, str) and declared else media_type
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
    media_type = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else OCI_INDEX
    return Index(
        str(media_type),
        tuple(_descriptor(d, f"{what} manifests[{i}]") for i, d in enumerate(raw)),
    )


def parse_manifest(doc: dict[str, Any], what: str) -> Manifest:
    media_type = doc.get("mediaType")
    if not isinstance(media_type, str) or not media_type:
        config_raw = doc.get("config")
        config_type = config_raw.get("mediaType") if isinstance(config_raw, dict) else None
        media_type = DOCKER_MANIFEST if config_type == DOCKER_CONFIG else OCI_MANIFEST
    config = _descriptor(doc.get("config"), f"{what} config")
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


def _time(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    text = raw.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Go writes nanoseconds; Python takes at most microseconds.
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match and match.group(2):
        text = match.group(1) + match.group(2)[:7] + match.group(3)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_config(data: bytes, what: str) -> ImageConfig:
    doc = _load_json(data, what)
    rootfs = doc.get("rootfs")
    diff_ids_raw = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids_raw, list):
        raise ImageReadError(f"{what} has no rootfs.diff_ids", hint="the image config is corrupt")
    diff_ids = tuple(check_digest(d, f"{what} diff_ids[{i}]") for i, d in enumerate(diff_ids_raw))
    history: list[HistoryEntry] = []
    raw_history = doc.get("history")
    if raw_history is not None and not isinstance(raw_history, list):
        raise ImageReadError(f"{what}: history is not a list (the runtimes cannot read it)",
                             hint="the image config is corrupt")
    for item in raw_history or ():
        if not isinstance(item, dict):
            raise ImageReadError(f"{what}: a history entry is not an object",
                                 hint="the image config is corrupt")
        created_by = item.get("created_by")
        comment = item.get("comment")
        history.append(
            HistoryEntry(
                _time(item.get("created")),
                created_by if isinstance(created_by, str) else None,
                comment if isinstance(comment, str) else None,
                bool(item.get("empty_layer", False)),
            )
        )
    platform = _platform(doc) or Platform("unknown", "unknown")
    return ImageConfig(platform, _time(doc.get("created")), diff_ids, tuple(history))
