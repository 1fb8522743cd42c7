"""The one small protocol every image source implements.

A source knows how to hand out raw bytes: the top-level manifest (which may be an index),
a manifest by digest, and blobs by digest. It verifies nothing and parses nothing beyond what
it needs to find bytes; shared code (``buildguard._image.manifest`` and
``buildguard._image.layers``) parses manifests, selects the platform, and verifies every
digest (compressed digest, size, DiffID) as the bytes stream past.

Sources: ``docker-archive:`` (archive.py), ``oci-layout:`` (layout.py), ``docker-daemon:``
(daemon.py) and a registry reference (registry.py). Adding a source is adding one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Protocol


@dataclass(frozen=True)
class RawManifest:
    """A manifest or index exactly as stored, with what the source knows of it."""

    data: bytes
    media_type: str | None
    """The media type the source reported (Content-Type, descriptor), if any."""
    digest: str | None = None
    """``sha256:...`` when the source addressed it by digest; callers verify it."""


class ImageSource(Protocol):
    """Raw access to one image reference. Implementations live in one file each."""

    @property
    def reference(self) -> str:
        """The reference as the user wrote it (for messages and reports)."""
        ...

    def top_manifest(self) -> RawManifest:
        """The manifest or index the reference names (a tag is resolved once, here)."""
        ...

    def manifest(self, digest: str) -> RawManifest:
        """A child manifest of an index, by digest."""
        ...

    def open_blob(self, digest: str, size: int | None) -> IO[bytes]:
        """A stream of the blob's raw (possibly compressed) bytes. Not verified here."""
        ...

    def close(self) -> None:
        """Release files, connections or subprocesses held by the source."""
        ...
