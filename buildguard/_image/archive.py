"""``docker save`` tarballs, read front to back in one pass (file or daemon stream).

Two formats are read:

- legacy (Docker ≤ 24): ``<id>/layer.tar`` (uncompressed), ``<hex>.json`` (the config) and
  ``manifest.json`` — which Docker 20.10 writes *last*;
- OCI (Docker ≥ 25): ``blobs/sha256/<hex>``, ``index.json``, plus a ``manifest.json`` whose
  ``Layers`` name blobs (``<id>/layer.tar`` may be symlinks to them).

Because the order is known only at the end, every layer-sized member is indexed
(:class:`~buildguard._image.layers.LayerResult`) as it streams past, keyed by its member
name; small members (JSON documents) are kept in memory. Nothing is written to disk. Once
the stream ends, the manifest picks and orders the indexes, each is verified (DiffID against
the config; the blob digest too where the name carries it) and then flattened.
"""

from __future__ import annotations

import io
import json
import posixpath
import re
import tarfile
from collections.abc import Callable, Sequence
from typing import IO, Any

from buildguard._image.flatten import FileTree, make_want, wanted
from buildguard._image.imageinfo import FlatImage, ImageMeta, LayerMeta, Progress
from buildguard._image.layercache import LayerCache
from buildguard._image.layers import LayerResult, read_layer
from buildguard._image.layout import MemorySource
from buildguard._image.manifest import DOCUMENT_LIMIT, Platform, parse_config
from buildguard._image.reader import (
    Image,
    check_layer,
    info_of,
    layer_label,
    read_resolved,
    resolve,
)
from buildguard._image.tarwalk import Want
from buildguard._image.verified import sha256_digest
from buildguard.errors import DigestMismatch, HostileImage, ImageReadError

SMALL_MEMBER = 1 << 20
"""Members up to this size are kept in memory rather than walked as layers."""
_HEX_NAME = re.compile(r"(?:^|/)([0-9a-f]{64})(?:\.json)?$")
_BLOB_NAME = re.compile(r"^blobs/sha256/([0-9a-f]{64})$")
LEGACY_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar"


def _clean(name: str) -> str:
    return posixpath.normpath("/" + name).lstrip("/")


class _Names:
    """Every name of the archive once: ``docker load`` extracts the archive to a folder (a
    later member replaces an earlier one of that name, a member under a symlink is written
    through it) while containerd's importer resolves links after the whole stream, so a
    name defined twice, or a member under a link or file member, means different images to
    different runtimes: refused."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        self.leaves: set[str] = set()
        self.dirs: set[str] = set()

    def add(self, name: str, is_dir: bool) -> None:
        if not name:
            return
        parents = []
        parent = posixpath.dirname(name)
        while parent:
            if parent in self.leaves:
                raise self._refuse(f"{name!r} lies under {parent!r}, which is a file or a link")
            parents.append(parent)
            parent = posixpath.dirname(parent)
        if name in self.leaves or (not is_dir and name in self.dirs):
            raise self._refuse(f"{name!r} is defined more than once")
        (self.dirs if is_dir else self.leaves).add(name)
        self.dirs.update(parents)

    def _refuse(self, what: str) -> HostileImage:
        return HostileImage(
            f"{self.reference}: member {what} in the archive; `docker load` and containerd "
            "would read different images from it, so buildguard refuses it",
            hint="the archive was crafted or corrupted; save the image again with docker save",
        )


class _Member:
    __slots__ = ("data", "result", "size")

    def __init__(self, size: int, data: bytes | None, result: LayerResult | None) -> None:
        self.size = size
        self.data = data
        self.result = result


def read_save_stream(
    stream: IO[bytes],
    *,
    reference: str,
    want: Want,
    platform: Platform | None = None,
    tag: str | None = None,
    progress: Progress | None = None,
) -> FlatImage:
    """Read a ``docker save`` tar from ``stream`` once; verify and flatten the image."""
    layers_seen = 0
    members: dict[str, _Member] = {}
    links: dict[str, str] = {}
    names = _Names(reference)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as outer:
            for member in outer:
                name = _clean(member.name)
                names.add(name, member.isdir())
                if member.issym():
                    links[name] = _clean(
                        posixpath.join(posixpath.dirname(name), member.linkname)
                    )
                    continue
                if member.islnk():
                    links[name] = _clean(member.linkname)
                    continue
                if not member.isfile():
                    continue
                if name.endswith(("/json", "/VERSION")) or name in ("repositories", "oci-layout"):
                    continue
                fileobj = outer.extractfile(member)
                if fileobj is None:  # pragma: no cover - regular files always have one
                    continue
                head = fileobj.peek(1)[:1] if hasattr(fileobj, "peek") else b""
                if member.size <= SMALL_MEMBER or (
                    head == b"{" and member.size <= DOCUMENT_LIMIT
                ):
                    members[name] = _Member(member.size, fileobj.read(), None)
                elif name.endswith("/layer.tar") or _BLOB_NAME.match(name) or name.endswith(
                    ".tar"
                ):
                    layers_seen += 1
                    if progress is not None:
                        progress(layers_seen, None, name, member.size)
                    blob = _BLOB_NAME.match(name)
                    result = read_layer(
                        fileobj, label=f"{reference}: {name}", want=want,
                        expected_size=member.size,
                        expected_digest="sha256:" + blob.group(1) if blob else None,
                    )
                    members[name] = _Member(member.size, None, result)
    except tarfile.TarError as exc:
        raise ImageReadError(
            f"{reference}: not a readable docker save archive: {exc}",
            hint="check the path; the archive may be truncated or not come from `docker save`",
        ) from None
    except EOFError as exc:
        raise ImageReadError(f"{reference}: the archive ends early: {exc}") from None

    def follow(name: str) -> str:
        seen = 0
        name = _clean(name)
        while name in links and seen < 16:
            name = links[name]
            seen += 1
        return name

    if "manifest.json" in members:
        return _read_legacy(reference, members, follow, want, platform, tag)
    if "index.json" in members:
        return _read_oci(reference, members, want, platform, tag)
    raise ImageReadError(
        f"{reference}: the archive holds neither manifest.json nor index.json",
        hint="it does not come from `docker save`; check the path",
    )


def _doc(members: dict[str, _Member], name: str, reference: str) -> bytes:
    member = members.get(name)
    if member is None or member.data is None:
        raise ImageReadError(
            f"{reference}: the archive lacks {name}",
            hint="the archive is incomplete or corrupt; save the image again",
        )
    return member.data


def _read_legacy(
    reference: str,
    members: dict[str, _Member],
    follow: Any,
    want: Want,
    platform: Platform | None,
    tag: str | None,
) -> FlatImage:
    try:
        entries = json.loads(_doc(members, "manifest.json", reference))
        if not isinstance(entries, list) or not entries:
            raise ValueError("not a non-empty list")
    except ValueError as exc:
        raise ImageReadError(f"{reference}: manifest.json is not valid: {exc}") from None
    if len(entries) > 1:
        matching = [
            e for e in entries if tag is not None and tag in (e.get("RepoTags") or ())
        ]
        if len(matching) != 1:
            tags = sorted(t for e in entries for t in (e.get("RepoTags") or ()))
            raise ImageReadError(
                f"{reference}: the archive holds {len(entries)} images ({', '.join(tags)})",
                hint="save one image per archive",
            )
        entries = matching
    entry = entries[0]
    config_name = entry.get("Config") if isinstance(entry, dict) else None
    layer_names = entry.get("Layers") if isinstance(entry, dict) else None
    if not isinstance(config_name, str) or not isinstance(layer_names, list):
        raise ImageReadError(f"{reference}: manifest.json lacks Config or Layers")
    config_key = follow(config_name)
    config_bytes = _doc(members, config_key, reference)
    config_digest = sha256_digest(config_bytes)
    named = _HEX_NAME.search(config_key)
    if named and "sha256:" + named.group(1) != config_digest:
        raise DigestMismatch(
            f"{reference}: config {config_name} does not match its name (its bytes hash to "
            f"{config_digest})",
            hint="the archive was corrupted or tampered with; do not trust this image",
        )
    config = parse_config(config_bytes, f"{reference}: config {config_name}")
    if platform is not None and not platform.matches(config.platform):
        raise ImageReadError(
            f"{reference} is an image for {config.platform}, not {platform}",
            hint="drop --platform or name the platform the image was built for",
        )
    if len(layer_names) != len(config.diff_ids):
        raise ImageReadError(
            f"{reference}: manifest.json lists {len(layer_names)} layers but the config lists "
            f"{len(config.diff_ids)} DiffIDs",
            hint="the archive is malformed; save the image again",
        )
    history = config.layer_history()
    tree = FileTree()
    infos: list[LayerMeta] = []
    for index, layer_name in enumerate(layer_names):
        key = follow(str(layer_name))
        member = members.get(key)
        if member is None:
            raise ImageReadError(
                f"{reference}: layer {index} ({layer_name}) is missing from the archive",
                hint="the archive is incomplete; save the image again",
            )
        blob = _BLOB_NAME.match(key)
        digest = "sha256:" + blob.group(1) if blob else None
        result = member.result
        if result is None:
            assert member.data is not None
            result = read_layer(
                io.BytesIO(member.data), label=f"{reference}: {key}", want=want,
                expected_size=member.size, expected_digest=digest, threaded=False,
            )
        check_layer(result, index, diff_id=config.diff_ids[index])
        name = digest or result.digest
        tree.apply_layer(index, result.index, layer_label(index, name))
        h = history[index]
        infos.append(
            LayerMeta(
                index=index,
                digest=name,
                size=result.size,
                media_type=LEGACY_MEDIA_TYPE
                if result.compression == "none"
                else f"{LEGACY_MEDIA_TYPE}.{result.compression}",
                diff_id=config.diff_ids[index],
                created_by=h.created_by if h else None,
                created=h.created if h else None,
                comment=h.comment if h else None,
                compression=result.compression,
            )
        )
    info = ImageMeta(
        reference=reference,
        manifest_digest=None,
        media_type="docker-save",
        config_digest=config_digest,
        platform=config.platform,
        created=config.created,
        layers=tuple(infos),
        config=config,
    )
    return FlatImage(info, tree)


def _read_oci(
    reference: str,
    members: dict[str, _Member],
    want: Want,
    platform: Platform | None,
    tag: str | None,
) -> FlatImage:
    blobs = {
        "sha256:" + m.group(1): member.data
        for name, member in members.items()
        if member.data is not None and (m := _BLOB_NAME.match(name))
    }
    source = MemorySource(reference, tag, _doc(members, "index.json", reference), blobs)
    info = info_of(reference, resolve(source, platform))

    def open_layer(layer: LayerMeta, want: Want) -> LayerResult:
        member = members.get("blobs/sha256/" + layer.digest.split(":", 1)[1])
        if member is None:
            raise ImageReadError(
                f"{reference}: layer {layer.index} ({layer.digest}) is missing from the archive",
                hint="the archive is incomplete; save the image again",
            )
        if member.result is not None:
            return member.result
        assert member.data is not None
        return read_layer(
            io.BytesIO(member.data), label=layer_label(layer.index, layer.digest), want=want,
            expected_size=member.size, expected_digest=layer.digest, threaded=False,
        )

    return read_resolved(info, open_layer, want)


class StreamImage(Image):
    """A ``docker save`` stream (archive file or daemon), read front to back once."""

    def __init__(
        self,
        reference: str,
        opener: Callable[[], IO[bytes]],
        platform: Platform | None = None,
        *,
        tag: str | None = None,
    ) -> None:
        self._reference = reference
        self._opener = opener
        self.platform = platform
        self.tag = tag

    @property
    def reference(self) -> str:
        return self._reference

    def read(
        self,
        paths: Sequence[str] = (),
        progress: Progress | None = None,
        cache: LayerCache | None = None,
    ) -> FlatImage:
        """The stream is read whole whatever is cached (its layers arrive in its order and
        must be hashed to be verified), so ``cache`` is not used for ``docker save``."""
        del cache
        stream = self._opener()
        try:
            return read_save_stream(
                stream,
                reference=self._reference,
                want=make_want(wanted(paths)),
                platform=self.platform,
                tag=self.tag,
                progress=progress,
            )
        finally:
            stream.close()
