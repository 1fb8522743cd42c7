"""From an image's top document to its manifest and config: the chain of indexes down to the
image manifest a platform selects, each document verified against the digest that named it
(``resolve``), and the image's metadata from that (``info_of``)."""

from __future__ import annotations

from dataclasses import dataclass

from buildguard._image.imageinfo import (
    ImageMeta,
    IndexEntry,
    layer_infos,
)
from buildguard._image.manifest import (
    DOCUMENT_LIMIT,
    Descriptor,
    ImageConfig,
    Index,
    Manifest,
    Platform,
    document_kind,
    parse_config,
    parse_index,
    parse_manifest,
)
from buildguard._image.platformmatch import DEFAULT_PLATFORM
from buildguard._image.platforms import (
    MAX_INDEX_DEPTH,
    entry_kind,
    has_platform,
    select_manifest,
)
from buildguard._image.source import ImageSource
from buildguard._image.verified import VerifyingReader, sha256_digest, verify_bytes
from buildguard.errors import ImageReadError


def read_document(source: ImageSource, desc: Descriptor, what: str) -> bytes:
    """A small blob (config) read fully and verified."""
    if desc.size > DOCUMENT_LIMIT:
        raise ImageReadError(f"{what} {desc.digest} is {desc.size} bytes; refusing to load it")
    stream = source.open_blob(desc.digest, desc.size)
    try:
        reader = VerifyingReader(stream, desc.digest, desc.size, f"{what} {desc.digest}")
        data = reader.read_all(DOCUMENT_LIMIT)
        reader.drain()
    finally:
        stream.close()
    reader.check()
    return data


@dataclass(frozen=True)
class Resolved:
    manifest_digest: str
    manifest: Manifest
    config_bytes: bytes
    config: ImageConfig
    index_entries: tuple[IndexEntry, ...] = ()


def _entry_named(index: Index, chain: tuple[str, ...], level: int, what: str) -> Descriptor:
    for desc in index.manifests:
        if level < len(chain) and desc.digest == chain[level]:
            return desc
    raise ImageReadError(
        f"{what} no longer lists the image it listed ({chain})",
        hint="the index changed while it was read; run again",
    )


def resolve(
    source: ImageSource, platform: Platform | None, chain: tuple[str, ...] | None = None
) -> Resolved:
    """Top manifest → (index → platform)* → image manifest → config, all verified.

    ``chain`` (``--platform all``) names the entry to take in each index instead."""
    ref = source.reference
    top = source.top_manifest()
    what = f"manifest of {ref}"
    if top.digest is not None:
        verify_bytes(top.data, top.digest, None, what)
    digest = top.digest or sha256_digest(top.data)
    kind, doc = document_kind(top.data, top.media_type, what)
    was_index = without_platform = False
    entries: list[IndexEntry] = []
    for level in range(MAX_INDEX_DEPTH):
        if kind != "index":
            break
        was_index = True
        index = parse_index(doc, what)
        desc = (
            select_manifest(index, platform, what)
            if chain is None
            else _entry_named(index, chain, level, what)
        )
        without_platform = not has_platform(desc)
        entries += [
            IndexEntry(
                digest,
                i,
                d.digest,
                d.media_type,
                str(d.platform) if d.platform is not None else None,
                entry_kind(d),
                d is desc,
            )
            for i, d in enumerate(index.manifests)
        ]
        raw = source.manifest(desc.digest)
        what = f"manifest {desc.digest} of {ref}"
        verify_bytes(raw.data, desc.digest, desc.size, what)
        digest = desc.digest
        kind, doc = document_kind(raw.data, desc.media_type, what)
    else:
        raise ImageReadError(f"{what}: indexes nested more than {MAX_INDEX_DEPTH} deep")
    if kind != "manifest":
        raise ImageReadError(f"{what} is an index nested too deep")
    manifest = parse_manifest(doc, what)
    config_bytes = read_document(source, manifest.config, f"config of {ref}")
    config = parse_config(config_bytes, f"config {manifest.config.digest} of {ref}")
    if len(config.diff_ids) != len(manifest.layers):
        raise ImageReadError(
            f"{what} lists {len(manifest.layers)} layers but its config lists "
            f"{len(config.diff_ids)} DiffIDs",
            hint="the image is malformed; rebuild and push it again",
        )
    if platform is not None and not was_index and not platform.matches(config.platform):
        raise ImageReadError(
            f"{ref} is a single-platform image for {config.platform}, not {platform}",
            hint="drop --platform or name the platform the image was built for",
        )
    wanted = platform or Platform.parse(DEFAULT_PLATFORM)
    if without_platform and not wanted.matches(config.platform):
        # containerd pulls an entry without a platform only if its config matches
        raise ImageReadError(
            f"{what} is listed without a platform and its config says {config.platform}, "
            f"not {wanted}",
            hint="name the platform the image was built for with --platform OS/ARCH",
        )
    return Resolved(digest, manifest, config_bytes, config, tuple(entries))


def info_of(reference: str, resolved: Resolved) -> ImageMeta:
    return ImageMeta(
        reference=reference,
        manifest_digest=resolved.manifest_digest,
        media_type=resolved.manifest.media_type,
        config_digest=resolved.manifest.config.digest,
        platform=resolved.config.platform,
        created=resolved.config.created,
        layers=layer_infos(resolved.manifest.layers, resolved.config),
        config=resolved.config,
        index_entries=resolved.index_entries,
    )
