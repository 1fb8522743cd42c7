"""The image abstraction: resolve an image's manifest and config, read its layers once,
verify every digest, and flatten.

Two kinds of image sit behind :class:`Image`:

- :class:`SourceImage` wraps an :class:`~buildguard._image.source.ImageSource` (registry,
  ``oci-layout:``): metadata first (index → platform → manifest → config, each verified
  against the digest that named it), then every layer in order.
- ``docker save`` streams (``docker-archive:``, ``docker-daemon:``) are read front to back in
  one pass by :class:`buildguard._image.archive.StreamImage`, because the legacy format puts
  ``manifest.json`` last: each layer is indexed as it arrives, and the indexes are verified
  and flattened once the order is known.

Either way :meth:`Image.read` raises before returning anything when a single digest fails.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import replace
from types import TracebackType
from typing import cast

from buildguard._image.decompress import Compression
from buildguard._image.flatten import FileTree, make_want, wanted
from buildguard._image.imageinfo import (
    FlatImage,
    ImageMeta,
    LayerMeta,
    Progress,
)
from buildguard._image.indexcodec import CachedLayer
from buildguard._image.layercache import LayerCache
from buildguard._image.layers import LayerResult, read_layer
from buildguard._image.manifest import (
    Platform,
    document_kind,
    parse_index,
)
from buildguard._image.platforms import (
    platform_entries,
)
from buildguard._image.readahead import LayerReads, OpenLayer
from buildguard._image.readingrules import reading_rules
from buildguard._image.resolve import info_of, resolve
from buildguard._image.source import ImageSource
from buildguard._image.tarwalk import Want
from buildguard._image.verified import sha256_digest, verify_bytes
from buildguard.errors import DigestMismatch, HostileImage


def layer_label(index: int, digest: str) -> str:
    return f"layer {index} ({digest})"


def check_layer(result: LayerResult, index: int, *, diff_id: str) -> None:
    """Raise unless ``result`` matches its descriptor (checked by the blob's verifying
    reader) and the config's DiffID.

    Digest problems win over content problems: a tampered blob is reported as tampered, not
    as whatever its corrupt bytes made the tar reader say.
    """
    result.blob.check(f"layer {index}")
    name = result.blob.digest or result.digest
    label = layer_label(index, name)
    if result.diff_id != diff_id:
        content = (
            "is not compressed: its digest"
            if result.diff_id == name
            else f"uncompresses to content with digest {result.diff_id}"
        )
        failed = ""
        if result.error is not None:
            failed = f" (reading it also failed: {_unlabelled(result.error.message, label)})"
        raise DigestMismatch(
            f"layer {index}: blob {name} {content}, but the image config says its DiffID is "
            f"{diff_id}{failed}",
            hint="the layer or the config was tampered with; do not trust this image",
        )
    if result.error is not None:
        err = result.error
        if err.message.startswith(label + ": "):  # labelled by its reader already
            raise err
        raise type(err)(f"{label}: {err.message}", hint=err.hint) from err


def _unlabelled(message: str, label: str) -> str:
    return message[len(label) + 2 :] if message.startswith(label + ": ") else message


OCI_PLAIN_LAYER_TYPES = frozenset(
    {
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
    }
)
"""OCI layer types that say "not compressed". containerd takes them at their word and feeds
the bytes to its tar reader as they are (``images.DiffCompression`` answers ``""``); dockerd
sniffs the compression, as buildguard does. For Docker's ``rootfs.diff.tar`` both sniff."""


def check_compression(layer: LayerMeta, compression: str) -> None:
    """Refuse a layer whose bytes are compressed while its OCI media type says they are not:
    dockerd would extract it and containerd would fail on it."""
    if compression != "none" and layer.media_type in OCI_PLAIN_LAYER_TYPES:
        raise HostileImage(
            f"layer {layer.index} ({layer.digest}) is {compression}-compressed but its media "
            f"type {layer.media_type} says it is a plain tar: dockerd would unpack it and "
            "containerd would not",
            hint="fix the manifest's media type (…tar+gzip, …tar+zstd) with the tool that "
            "built the image, and push it again",
        )


def read_resolved(
    info: ImageMeta,
    open_layer: OpenLayer,
    want: Want,
    progress: Progress | None = None,
    cache: LayerCache | None = None,
) -> FlatImage:
    """Read, verify and apply each layer in order; shared by every source kind.

    With a ``cache``, a layer whose index is cached (and holds every hash ``want`` asks for)
    is not read; a layer that is read hashes every file and is cached once verified. The
    layers that are read are read a few at a time, ahead of the one applied (:class:`LayerReads`);
    each is verified before it is applied, in order, and nothing is returned unless every
    one of them was. Each layer returned says where its index came from (``read_from``).
    """
    layers = info.layers
    fill = make_want(()) if cache is not None else want
    hits = [
        None if cache is None else cache.load(layer.digest, layer.diff_id, layer.size, want)
        for layer in layers
    ]
    misses = [layer for layer, hit in zip(layers, hits, strict=True) if hit is None]
    tree = FileTree()
    infos = []
    with LayerReads(open_layer, misses, fill, total=len(layers), progress=progress) as reads:
        for layer, hit in zip(layers, hits, strict=True):
            if hit is not None:
                index, compression = hit.index, hit.compression
            else:
                result = reads.result(layer)
                check_layer(result, layer.index, diff_id=layer.diff_id)
                index, compression = result.index, result.compression
                if cache is not None:
                    cache.save(
                        CachedLayer(
                            layer.digest,
                            layer.diff_id,
                            compression,
                            index,
                            result.size,
                            reading_rules(),
                        )
                    )
            check_compression(layer, compression)
            tree.apply_layer(layer.index, index, layer_label(layer.index, layer.digest))
            infos.append(
                replace(
                    layer,
                    compression=cast(Compression, compression),
                    read_from="source" if hit is None else "cache",
                )
            )
    return FlatImage(replace(info, layers=tuple(infos)), tree)


class Image(abc.ABC):
    """An opened image reference. Use as a context manager; :meth:`read` it once."""

    @property
    @abc.abstractmethod
    def reference(self) -> str: ...

    @abc.abstractmethod
    def read(
        self,
        paths: Sequence[str] = (),
        progress: Progress | None = None,
        cache: LayerCache | None = None,
    ) -> FlatImage:
        """Stream every layer once, verify every digest, flatten.

        Files under ``paths`` (absolute paths in the image; none = all) are hashed, and so
        is every ``buildguard-manifest.json``, whose bytes are kept too. Every entry of every
        layer is indexed, whatever ``paths`` say. ``cache`` (registry and layout sources)
        answers layers read before.
        """

    def platforms(self) -> tuple[str | None, list[tuple[str | None, Image]]]:
        """The images ``--platform all`` reads: the index digest (``None`` for a single
        image) and each platform image, labelled by the index's word for its platform
        (``None`` for a single image: its config says)."""
        return None, [(None, self)]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the image holds."""

    def __enter__(self) -> Image:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SourceImage(Image):
    """An image behind an :class:`ImageSource` (registry, OCI layout)."""

    def __init__(
        self,
        source: ImageSource,
        platform: Platform | None = None,
        *,
        chain: tuple[str, ...] | None = None,
    ) -> None:
        self.source = source
        self.platform = platform
        self.chain = chain
        """The digests of the entries to take, top index first (one image of ``--platform
        all``, which chose them), instead of choosing by ``platform``."""
        self._info: ImageMeta | None = None

    @property
    def reference(self) -> str:
        return self.source.reference

    def info(self) -> ImageMeta:
        """Manifest and config, verified; no layer is read."""
        if self._info is None:
            resolved = resolve(self.source, self.platform, self.chain)
            self._info = info_of(self.reference, resolved)
        return self._info

    def platforms(self) -> tuple[str | None, list[tuple[str | None, Image]]]:
        top = self.source.top_manifest()
        what = f"manifest of {self.reference}"
        if top.digest is not None:
            verify_bytes(top.data, top.digest, None, what)
        kind, doc = document_kind(top.data, top.media_type, what)
        if kind != "index":
            return None, [(None, self)]
        found = platform_entries(self.source, parse_index(doc, f"index of {self.reference}"))
        if found is None:
            return None, [(None, self)]
        images: list[tuple[str | None, Image]] = [
            (label, SourceImage(self.source, request, chain=chain))
            for label, (request, chain) in found.items()
        ]
        return top.digest or sha256_digest(top.data), images

    def read(
        self,
        paths: Sequence[str] = (),
        progress: Progress | None = None,
        cache: LayerCache | None = None,
    ) -> FlatImage:
        want = make_want(wanted(paths))

        def open_layer(layer: LayerMeta, want: Want) -> LayerResult:
            stream = self.source.open_blob(layer.digest, layer.size)
            try:
                return read_layer(
                    stream,
                    label=layer_label(layer.index, layer.digest),
                    want=want,
                    expected_size=layer.size,
                    expected_digest=layer.digest,
                )
            finally:
                stream.close()

        return read_resolved(self.info(), open_layer, want, progress, cache)

    def close(self) -> None:
        self.source.close()
