"""The Go structs the runtimes decode image documents into, and decoders for each document.

Each :class:`~buildguard.image.gojson.Struct` below is the *union* of the structs that
dockerd 20.10, containerd, skopeo and umoci decode one document into (same JSON names, same
types), so a key that binds to a field in any of them is bound, checked or refused here:

- manifest / index: image-spec ``specs-go/v1`` ``Manifest`` and ``Index`` (with
  ``specs.Versioned``), distribution ``manifest/schema2.Manifest`` and
  ``manifest/manifestlist.ManifestList`` (with ``manifest.Versioned``);
- descriptor: image-spec ``Descriptor``, distribution ``Descriptor`` and
  ``manifestlist.ManifestDescriptor``; platform: image-spec ``Platform`` and
  ``manifestlist.PlatformSpec``;
- image config: image-spec ``Image`` / ``RootFS`` / ``History`` and moby ``image.Image``
  (``V1Image``, ``RootFS``, ``History``); ``config`` and ``container_config`` are bound as
  objects only (their contents are not acted on);
- ``docker save``'s ``manifest.json``: moby ``image/tarexport`` ``manifestItem`` (the same
  names as containers/image's ``ManifestItem``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from buildguard.image.gojson import (
    BOOL,
    BYTES,
    INT64,
    OBJECT,
    STRING,
    TIME,
    ListOf,
    MapOf,
    Spec,
    Struct,
    decode,
)

_STRINGS = ListOf(STRING)
_ANNOTATIONS = MapOf(STRING)

PLATFORM = Struct(
    "platform",
    {
        "architecture": STRING,
        "os": STRING,
        "os.version": STRING,
        "os.features": _STRINGS,
        "variant": STRING,
        "features": _STRINGS,
    },
    pointer=True,
)

_DESCRIPTOR_FIELDS: dict[str, Spec] = {
    "mediaType": STRING,
    "digest": STRING,
    "size": INT64,
    "urls": _STRINGS,
    "annotations": _ANNOTATIONS,
    "data": BYTES,
    "platform": PLATFORM,
    "artifactType": STRING,
}
DESCRIPTOR = Struct("descriptor", _DESCRIPTOR_FIELDS)
SUBJECT = Struct("descriptor", _DESCRIPTOR_FIELDS, pointer=True)

MANIFEST_OR_INDEX = Struct(
    "manifest or index",
    {
        "schemaVersion": INT64,
        "mediaType": STRING,
        "artifactType": STRING,
        "config": DESCRIPTOR,
        "layers": ListOf(DESCRIPTOR),
        "manifests": ListOf(DESCRIPTOR),
        "subject": SUBJECT,
        "annotations": _ANNOTATIONS,
    },
)
"""Image manifests, indexes and an OCI layout's ``index.json`` (the kind is told later)."""

ROOTFS = Struct("rootfs", {"type": STRING, "diff_ids": _STRINGS})
HISTORY = Struct(
    "history",
    {
        "created": TIME,
        "author": STRING,
        "created_by": STRING,
        "comment": STRING,
        "empty_layer": BOOL,
    },
)
CONFIG = Struct(
    "image config",
    {
        "created": TIME,
        "author": STRING,
        "architecture": STRING,
        "variant": STRING,
        "os": STRING,
        "os.version": STRING,
        "os.features": _STRINGS,
        "config": OBJECT,
        "rootfs": ROOTFS,
        "history": ListOf(HISTORY),
        # moby image.V1Image / image.Image only
        "id": STRING,
        "parent": STRING,
        "comment": STRING,
        "container": STRING,
        "container_config": OBJECT,
        "docker_version": STRING,
        "size": INT64,
    },
)

SAVE_ITEM = Struct(
    "manifest.json entry",
    {
        "Config": STRING,
        "RepoTags": _STRINGS,
        "Layers": _STRINGS,
        "Parent": STRING,
        "LayerSources": MapOf(DESCRIPTOR),
    },
)
SAVE_MANIFEST = ListOf(SAVE_ITEM)


def decode_document(data: bytes, what: str) -> dict[str, Any]:
    """A manifest, index or ``index.json``: the fields Go fills, by JSON name (absent and
    ``null`` fields left out), or a refusal."""
    doc: dict[str, Any] = decode(data, MANIFEST_OR_INDEX, what)
    return doc


def decode_config(data: bytes, what: str) -> dict[str, Any]:
    """An image config: the fields Go fills, by JSON name, or a refusal."""
    doc: dict[str, Any] = decode(data, CONFIG, what)
    return doc


@dataclass(frozen=True)
class LayerSource:
    """A ``LayerSources`` value of ``manifest.json`` (a distribution ``Descriptor``)."""

    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...]


@dataclass(frozen=True)
class SaveManifestEntry:
    """One entry of ``docker save``'s ``manifest.json`` as moby's ``manifestItem`` holds
    it: an absent or ``null`` field is Go's zero value (``""``, ``()``)."""

    config: str
    repo_tags: tuple[str, ...]
    layers: tuple[str, ...]
    parent: str
    layer_sources: tuple[tuple[str, LayerSource], ...]


def decode_save_manifest(data: bytes, what: str) -> tuple[SaveManifestEntry, ...]:
    """``manifest.json`` of a ``docker save`` archive, entry by entry, as docker load's
    ``[]manifestItem`` holds it; raises ``ImageReadError`` where Go would fail and
    ``DocumentRefused`` where our reading could differ (see :mod:`gojson`)."""
    items: list[dict[str, Any]] = decode(data, SAVE_MANIFEST, what)
    return tuple(
        SaveManifestEntry(
            config=item.get("Config", ""),
            repo_tags=tuple(item.get("RepoTags") or ()),
            layers=tuple(item.get("Layers") or ()),
            parent=item.get("Parent", ""),
            layer_sources=tuple(
                (
                    diff_id,
                    LayerSource(
                        src.get("mediaType", ""),
                        src.get("digest", ""),
                        src.get("size", 0),
                        tuple(src.get("urls") or ()),
                    ),
                )
                for diff_id, src in (item.get("LayerSources") or {}).items()
            ),
        )
        for item in items
    )
