"""The images of an index, one per platform, for ``verify --platform all``.

Every image manifest the index offers is listed, through nested indexes that carry no
platform (Docker 25's ``docker save``, ``skopeo copy --all``): an image skipped here would
be served by a runtime on its platform unverified. Where the runtimes' choice cannot be
told — an entry without a platform (containerd matches it by its config), a platform listed
twice — the index is refused.
"""

from __future__ import annotations

from buildguard._image.manifest import (
    INDEX_TYPES,
    Descriptor,
    Index,
    document_kind,
    parse_index,
    selectable,
)
from buildguard._image.source import ImageSource
from buildguard._image.verified import verify_bytes
from buildguard.errors import ImageReadError

MAX_INDEX_DEPTH = 4


def image_entries(source: ImageSource, index: Index, depth: int = 1) -> list[Descriptor]:
    """The image manifests ``index`` offers (attestations left out), through nested indexes
    without a platform, each verified against its descriptor."""
    out: list[Descriptor] = []
    for desc in index.manifests:
        if not selectable(desc):
            continue
        if desc.media_type not in INDEX_TYPES or desc.platform is not None:
            out.append(desc)
            continue
        if depth >= MAX_INDEX_DEPTH:
            raise ImageReadError(f"{source.reference}: indexes nested more than "
                                 f"{MAX_INDEX_DEPTH} deep")
        raw = source.manifest(desc.digest)
        what = f"index {desc.digest} of {source.reference}"
        verify_bytes(raw.data, desc.digest, desc.size, what)
        kind, doc = document_kind(raw.data, desc.media_type, what)
        if kind != "index":
            raise ImageReadError(f"{what} is listed as an index but is not one")
        out += image_entries(source, parse_index(doc, what), depth + 1)
    return out


def platform_entries(source: ImageSource, index: Index) -> dict[str, Descriptor] | None:
    """Platform label → the entry serving it; ``None`` for an index of one image without a
    platform (read as a single image)."""
    entries = image_entries(source, index)
    if not entries or (len(entries) == 1 and entries[0].platform is None):
        return None
    found: dict[str, Descriptor] = {}
    for desc in entries:
        if desc.platform is None:
            raise ImageReadError(
                f"{source.reference}: index entry {desc.digest} has no platform; the "
                "runtimes match it by its config's platform, so --platform all cannot tell "
                "which platform it serves",
                hint="give every entry of the index its platform, or verify one platform "
                "with --platform OS/ARCH",
            )
        label = str(desc.platform)
        if label in found:
            raise ImageReadError(
                f"{source.reference}: the index lists more than one image for {label} "
                f"({found[label].digest}, {desc.digest})",
                hint="list each platform once in the index",
            )
        found[label] = desc
    return found
