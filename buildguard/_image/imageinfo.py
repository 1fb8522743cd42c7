"""What an image is once its manifest and config are read: its layers and, once every blob
was read and verified, its flattened tree."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from buildguard._image.decompress import Compression
from buildguard._image.flatten import FileTree
from buildguard._image.manifest import Descriptor, ImageConfig
from buildguard._image.platformmatch import Platform
from buildguard._image.platforms import EntryKind
from buildguard._internal.modeltypes import ReadFrom

Progress = Callable[[int, "int | None", str, int], None]
"""Called as each layer starts streaming: ``(layer number from 1, total or None, digest or
name, size in bytes)``. For display only; it must not raise."""


@dataclass(frozen=True)
class LayerMeta:
    index: int
    digest: str
    size: int
    media_type: str
    diff_id: str
    created_by: str | None
    created: datetime | None
    comment: str | None
    compression: Compression | None = None
    """Sniffed from the blob's first bytes; ``None`` until the layer has been read."""
    read_from: ReadFrom | None = None
    """``source`` (its blob read in this run) or ``cache`` (its index answered by the
    layer-index cache); ``None`` until the layer has been read."""


@dataclass(frozen=True)
class IndexEntry:
    """An entry of an index read on the way to the image (``inspect`` reports them all)."""

    index_digest: str
    position: int
    digest: str
    media_type: str
    platform: str | None
    kind: EntryKind
    """``image``, ``index``, ``attestation`` or ``artifact``."""
    chosen: bool
    """The entry the runtimes pull for the platform asked (the one read)."""


@dataclass(frozen=True)
class ImageMeta:
    reference: str
    manifest_digest: str | None
    """Digest of the image manifest (``None`` for a legacy ``docker save`` archive, which
    has no manifest; ``config_digest`` then identifies the image)."""
    media_type: str
    config_digest: str
    platform: Platform
    created: datetime | None
    layers: tuple[LayerMeta, ...]
    config: ImageConfig
    index_entries: tuple[IndexEntry, ...] = ()
    """Every entry of the index(es) the image was chosen from, top first."""


@dataclass(frozen=True)
class FlatImage:
    """An image whose every blob was read and verified, flattened to one tree."""

    info: ImageMeta
    tree: FileTree


def layer_infos(
    manifest_layers: Sequence[Descriptor], config: ImageConfig
) -> tuple[LayerMeta, ...]:
    history = config.layer_history()
    out = []
    for i, desc in enumerate(manifest_layers):
        h = history[i]
        out.append(
            LayerMeta(
                index=i,
                digest=desc.digest,
                size=desc.size,
                media_type=desc.media_type,
                diff_id=config.diff_ids[i],
                created_by=h.created_by if h else None,
                created=h.created if h else None,
                comment=h.comment if h else None,
            )
        )
    return tuple(out)
