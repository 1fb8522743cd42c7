"""``oci-layout:DIR[:TAG]`` — an OCI image layout directory (``index.json`` + ``blobs/``).

The tag is matched against each ``index.json`` entry's ``org.opencontainers.image.ref.name``
annotation (``io.containerd.image.name`` ``…:TAG`` too). The same index logic serves the OCI
layout that newer Dockers write inside ``docker save`` tarballs (``archive.py``).
"""

from __future__ import annotations

import abc
import io
import os
from pathlib import Path
from typing import IO, Any

from buildguard._image.manifest import DOCUMENT_LIMIT, check_digest, decode_manifest_or_index
from buildguard._image.source import RawManifest
from buildguard.errors import ImageReadError, UsageError

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


class IndexedSource(abc.ABC):
    """An :class:`~buildguard._image.source.ImageSource` whose top is an OCI ``index.json``."""

    def __init__(self, reference: str, tag: str | None) -> None:
        self._reference = reference
        self.tag = tag

    @property
    def reference(self) -> str:
        return self._reference

    @abc.abstractmethod
    def _index_bytes(self) -> bytes: ...

    @abc.abstractmethod
    def _blob_bytes(self, digest: str, limit: int) -> bytes: ...

    @abc.abstractmethod
    def open_blob(self, digest: str, size: int | None) -> IO[bytes]: ...

    def top_manifest(self) -> RawManifest:
        data = self._index_bytes()
        entries: list[dict[str, Any]] | None = decode_manifest_or_index(
            data, f"{self._reference}: index.json"
        ).get("manifests")
        if entries is None:
            raise ImageReadError(
                f"{self._reference}: index.json is not an OCI index (it has no manifests)",
                hint="the layout is corrupt; copy the image into it again",
            )
        names = [self._names(e) for e in entries]
        if self.tag is not None:
            return self._entry(self._pick(entries, names, self.tag))
        tagged = {t for n in names for t in n[0]}
        if len(entries) == 1:
            return self._entry(entries[0])
        if len(tagged) > 1:
            raise ImageReadError(
                f"{self._reference}: index.json holds several images ({', '.join(sorted(tagged))})",
                hint="add :TAG to the reference to pick one",
            )
        return RawManifest(data, None, None)

    def _pick(
        self, entries: list[dict[str, Any]], names: list[tuple[set[str], set[str]]], tag: str
    ) -> dict[str, Any]:
        """The one entry named ``tag``: a full name (``localhost/app:fresh``) wins; a short
        tag (``fresh``) must name exactly one image, else the choice would depend on the
        order of ``index.json`` (podman and skopeo write full names)."""
        full = [e for e, (f, _) in zip(entries, names, strict=True) if tag in f]
        short = [e for e, (_, s) in zip(entries, names, strict=True) if tag in s]
        for picked in (full, short):
            digests = {self._digest_of(e) for e in picked}
            if len(digests) == 1:
                return picked[0]
            if len(digests) > 1:
                matching = sorted(
                    {n for e, (f, _) in zip(entries, names, strict=True) if e in picked for n in f}
                )
                raise ImageReadError(
                    f"{self._reference}: the tag {tag!r} is ambiguous: it names "
                    f"{len(digests)} different images in index.json ({', '.join(matching)})",
                    hint="name the image by its full name, e.g. oci-layout:DIR:" + matching[0],
                )
        known = sorted({t for f, s in names for t in f | s}) or ["none"]
        raise ImageReadError(
            f"{self._reference}: no image tagged {tag!r} in index.json (tags: {', '.join(known)})",
            hint="name one of the tags, or leave the tag out for a single image",
        )

    @staticmethod
    def _digest_of(entry: dict[str, Any]) -> object:
        return entry.get("digest")

    @staticmethod
    def _names(entry: dict[str, Any]) -> tuple[set[str], set[str]]:
        """(full names, short tags) an index.json entry answers to (Go-decoded: the
        annotation map holds each key once, see ``gojson``)."""
        ann: dict[str, str] = entry.get("annotations") or {}
        full: set[str] = set()
        short: set[str] = set()
        for key in (REF_NAME, CONTAINERD_NAME):
            value = ann.get(key)
            if not value:
                continue
            full.add(value)
            last = value.rsplit("/", 1)[-1]
            if ":" in last:
                short.add(last.rsplit(":", 1)[-1])
        return full, short

    def _entry(self, entry: dict[str, Any]) -> RawManifest:
        digest = check_digest(entry.get("digest"), f"{self._reference} index.json entry")
        return RawManifest(
            self._blob_bytes(digest, DOCUMENT_LIMIT), entry.get("mediaType") or None, digest
        )

    def manifest(self, digest: str) -> RawManifest:
        check_digest(digest, self._reference)
        return RawManifest(self._blob_bytes(digest, DOCUMENT_LIMIT), None, digest)

    def close(self) -> None:
        return None


class LayoutSource(IndexedSource):
    """An OCI image layout directory on disk."""

    def __init__(self, directory: Path, tag: str | None, reference: str) -> None:
        super().__init__(reference, tag)
        self.directory = directory
        if not (directory / "index.json").is_file():
            raise ImageReadError(
                f"{reference}: {directory} is not an OCI image layout (no index.json)",
                hint="check the path, or create the layout with `skopeo copy ... oci:DIR:TAG`",
            )

    def _index_bytes(self) -> bytes:
        try:
            return (self.directory / "index.json").read_bytes()
        except OSError as exc:
            raise ImageReadError(f"{self._reference}: cannot read index.json: {exc}") from None

    def _blob_path(self, digest: str) -> Path:
        check_digest(digest, self._reference)
        return self.directory / "blobs" / "sha256" / digest.split(":", 1)[1]

    def _blob_bytes(self, digest: str, limit: int) -> bytes:
        with self.open_blob(digest, None) as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise ImageReadError(f"{self._reference}: blob {digest} is too large for a manifest")
        return data

    def open_blob(self, digest: str, size: int | None) -> IO[bytes]:
        path = self._blob_path(digest)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise ImageReadError(
                f"{self._reference}: blob {digest} is missing from the layout ({path})",
                hint="the layout is incomplete; copy the image into it again",
            ) from None
        except OSError as exc:
            raise ImageReadError(f"{self._reference}: cannot open blob {digest}: {exc}") from None


class MemorySource(IndexedSource):
    """An OCI layout whose small blobs were kept in memory (inside a ``docker save`` tar)."""

    def __init__(self, reference: str, tag: str | None, index: bytes, blobs: dict[str, bytes]):
        super().__init__(reference, tag)
        self._index = index
        self._blobs = blobs

    def _index_bytes(self) -> bytes:
        return self._index

    def _blob_bytes(self, digest: str, limit: int) -> bytes:
        data = self._blobs.get(digest)
        if data is None:
            raise ImageReadError(
                f"{self._reference}: blob {digest} is missing from the archive",
                hint="the archive is incomplete; save the image again",
            )
        return data

    def open_blob(self, digest: str, size: int | None) -> IO[bytes]:
        return io.BytesIO(self._blob_bytes(digest, DOCUMENT_LIMIT))


def parse_layout_ref(rest: str) -> tuple[Path, str | None]:
    """``DIR[:TAG]`` → (directory, tag). The tag may itself hold colons and slashes
    (``localhost/app:fresh``): the directory is the longest prefix before a colon that is an
    existing directory; a path that exists as a directory whole wins."""
    if not rest:
        raise UsageError("oci-layout: needs a directory, e.g. oci-layout:./image:latest")
    if os.path.isdir(rest) or ":" not in rest:
        return Path(rest), None
    cuts = [i for i, char in enumerate(rest) if char == ":"]
    for cut in reversed(cuts):
        directory, tag = rest[:cut], rest[cut + 1 :]
        if directory and tag and os.path.isdir(directory):
            return Path(directory), tag
    directory, tag = rest.split(":", 1)
    if not tag:
        return Path(rest), None
    return Path(directory), tag
