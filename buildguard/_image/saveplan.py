"""What one pass over a ``docker save`` stream keeps, and which image of it ``docker load``
would load.

:func:`collect` reads the archive once (``savetar.py``: compression, Go-faithful headers,
names): documents are kept in memory, every layer-sized member is indexed
(:class:`~buildguard._image.layers.LayerResult`) as it streams past. :func:`plan_image` then
decides the image as the loaders do — ``manifest.json`` (every dockerd), ``index.json``
(containerd's importer, when ``oci-layout`` is there), both naming one config or refused —
and returns its :class:`~buildguard._image.imageinfo.ImageMeta` and a layer opener for
:func:`~buildguard._image.reader.read_resolved`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO

from buildguard._image import layerindex as li
from buildguard._image.godocs import SaveManifestEntry, decode_save_manifest
from buildguard._image.imageinfo import ImageMeta, LayerMeta, Progress
from buildguard._image.layers import LayerResult, read_layer
from buildguard._image.layout import MemorySource
from buildguard._image.manifest import DOCUMENT_LIMIT, Platform, parse_config
from buildguard._image.readahead import OpenLayer
from buildguard._image.reader import layer_label
from buildguard._image.resolve import info_of, resolve
from buildguard._image.savetar import Names, members, open_outer, refuse
from buildguard._image.tarwalk import Want
from buildguard._image.verified import sha256_digest
from buildguard.errors import ImageReadError

KEPT_LIMIT = 512 << 20
"""The small members of one archive kept in memory, in all (``*.tar`` layers are read as
they arrive, whatever their size)."""
SMALL_MEMBER = 1 << 20
"""Members up to this size are kept in memory rather than walked as layers."""
_BLOB_NAME = re.compile(r"^blobs/sha256/([0-9a-f]{64})$")
LEGACY_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar"
DOCUMENTS = ("manifest.json", "index.json", "oci-layout", "repositories")
"""Members the loaders read by name: always kept in memory (up to DOCUMENT_LIMIT)."""


@dataclass
class _Stored:
    size: int
    data: bytes | None = None
    result: LayerResult | None = None


@dataclass
class SaveContents:
    """What one pass over a ``docker save`` stream kept."""

    reference: str
    names: Names
    stored: dict[str, _Stored] = field(default_factory=dict)
    too_big: set[str] = field(default_factory=set)
    kept: int = 0

    def keep(self, name: str, size: int, data: bytes) -> None:
        """Keep a small member's bytes, within :data:`KEPT_LIMIT` for the whole archive."""
        self.kept += len(data)
        if self.kept > KEPT_LIMIT:
            raise ImageReadError(
                f"{self.reference}: the archive holds more than {KEPT_LIMIT >> 20} MiB of "
                "small members (documents and blobs up to 1 MiB); buildguard keeps no more "
                "in memory",
                hint="a docker save archive holds a few JSON documents; check the archive",
            )
        self.stored[name] = _Stored(size, data)

    def document(self, name: str, what: str | None = None) -> bytes:
        """A small member by name, links followed as the loader's ``safePath`` does."""
        key = self.names.follow(name)
        member = self.stored.get(key)
        if member is None or member.data is None:
            why = "is too large to be one" if key in self.too_big else "is missing"
            raise ImageReadError(
                f"{self.reference}: {what or name} ({name}) {why} in the archive",
                hint="the archive is incomplete or corrupt; save the image again",
            )
        return member.data


def collect(
    stream: IO[bytes], reference: str, want: Want, progress: Progress | None = None
) -> SaveContents:
    """Read the archive once: keep documents, index every layer-sized member."""
    _, tar = open_outer(stream, reference)
    contents = SaveContents(reference, Names(reference))
    layers_seen = 0
    for member in members(tar, reference):
        contents.names.add(member)
        if member.kind != li.FILE or member.data is None:
            continue
        name = member.name
        data = member.data
        if name in DOCUMENTS or name.endswith(".json"):
            if member.size > DOCUMENT_LIMIT:
                contents.too_big.add(name)
                continue
            contents.keep(name, member.size, data.read())
            continue
        if name.endswith(("/json", "/VERSION")):
            continue
        head = data.peek1()
        if not name.endswith(".tar") and (
            member.size <= SMALL_MEMBER or (head == b"{" and member.size <= DOCUMENT_LIMIT)
        ):
            contents.keep(name, member.size, data.read())
        elif name.endswith(".tar") or _BLOB_NAME.match(name):
            layers_seen += 1
            if progress is not None:
                progress(layers_seen, None, name, member.size)
            blob = _BLOB_NAME.match(name)
            result = read_layer(
                data,  # type: ignore[arg-type]
                label=f"{reference}: {name}",
                want=want,
                expected_size=member.size,
                expected_digest="sha256:" + blob.group(1) if blob else None,
            )
            contents.stored[name] = _Stored(member.size, None, result)
    return contents


# ---------------------------------------------------------------------- manifest.json


def _normal_name(name: str) -> str:
    """``app`` → ``app:latest``; ``docker.io/library/app:1`` → ``app:1`` (docker save
    writes the familiar form)."""
    for prefix in ("docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            name = name[len("library/") :] if name.startswith("library/") else name
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last or "@" in last else name + ":latest"


def pick_entry(
    entries: Sequence[SaveManifestEntry], reference: str, name: str | None, strict: bool
) -> SaveManifestEntry:
    """The image of ``manifest.json`` that ``name`` chooses (``None``: the only one)."""
    listed = ", ".join("/".join(e.repo_tags) or f"untagged ({e.config})" for e in entries) or "none"
    if name is not None and (strict or len(entries) > 1):
        wanted_name = _normal_name(name)
        matching = [e for e in entries if wanted_name in map(_normal_name, e.repo_tags)]
        if len(matching) == 1:
            return matching[0]
        raise ImageReadError(
            f"{reference}: the archive holds {len(entries)} image(s) ({listed}); "
            + (
                f"{len(matching)} of them are tagged {name}"
                if matching
                else f"none is tagged {name}"
            ),
            hint="name one of the images listed: docker-archive:PATH:NAME[:TAG]",
        )
    if len(entries) != 1:
        raise ImageReadError(
            f"{reference}: the archive holds {len(entries)} images ({listed})",
            hint="choose one with docker-archive:PATH:NAME[:TAG]",
        )
    return entries[0]


@dataclass(frozen=True)
class Plan:
    """One image of the archive: what it is and how to open its layers."""

    info: ImageMeta
    open_layer: OpenLayer


def _legacy_plan(
    contents: SaveContents, entry: SaveManifestEntry, want: Want, platform: Platform | None
) -> Plan:
    reference = contents.reference
    config_name = entry.config
    layer_names = entry.layers
    if not config_name:
        raise ImageReadError(
            f"{reference}: manifest.json names no Config",
            hint="save the image again with docker save",
        )
    config_bytes = contents.document(config_name, "the image config")
    # dockerd names the config by the digest of its bytes (the image ID), whatever its file
    # is called; so does buildguard (a renamed config is read, its digest reported).
    config_digest = sha256_digest(config_bytes)
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
    results: list[LayerResult] = []
    infos: list[LayerMeta] = []
    for index, layer_name in enumerate(layer_names):
        key = contents.names.follow(layer_name)
        stored = contents.stored.get(key)
        if stored is None:
            raise ImageReadError(
                f"{reference}: layer {index} ({layer_name}) is missing from the archive",
                hint="the archive is incomplete; save the image again",
            )
        blob = _BLOB_NAME.match(key)
        digest = "sha256:" + blob.group(1) if blob else None
        result = stored.result
        if result is None:
            assert stored.data is not None
            result = read_layer(
                io.BytesIO(stored.data),
                label=f"{reference}: {key}",
                want=want,
                expected_size=stored.size,
                expected_digest=digest,
                threaded=False,
            )
        results.append(result)
        h = history[index]
        infos.append(
            LayerMeta(
                index=index,
                digest=digest or result.digest,
                size=stored.size,
                media_type=LEGACY_MEDIA_TYPE
                if result.compression == "none"
                else f"{LEGACY_MEDIA_TYPE}.{result.compression}",
                diff_id=config.diff_ids[index],
                created_by=h.created_by if h else None,
                created=h.created if h else None,
                comment=h.comment if h else None,
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
    return Plan(info, lambda layer, want: results[layer.index])


def _oci_plan(
    contents: SaveContents, want: Want, platform: Platform | None, tag: str | None
) -> Plan:
    reference = contents.reference
    stored = contents.stored
    blobs = {
        "sha256:" + m.group(1): member.data
        for name, member in stored.items()
        if member.data is not None and (m := _BLOB_NAME.match(name))
    }
    index = contents.document("index.json")
    if tag is None:
        info = info_of(reference, resolve(MemorySource(reference, None, index, blobs), platform))
    else:  # containerd names an image docker.io/library/app:1 where docker save says app:1
        short = _normal_name(tag)
        names = dict.fromkeys((tag, short, "docker.io/" + short, "docker.io/library/" + short))
        failure: ImageReadError | None = None
        for name in names:
            try:
                resolved = resolve(MemorySource(reference, name, index, blobs), platform)
            except ImageReadError as exc:
                failure = failure or exc
                continue
            info = info_of(reference, resolved)
            break
        else:
            assert failure is not None
            raise failure

    def open_layer(layer: LayerMeta, want: Want) -> LayerResult:
        member = stored.get("blobs/sha256/" + layer.digest.split(":", 1)[1])
        if member is None:
            raise ImageReadError(
                f"{reference}: layer {layer.index} ({layer.digest}) is missing from the archive",
                hint="the archive is incomplete; save the image again",
            )
        if member.result is not None:
            return member.result
        assert member.data is not None
        return read_layer(
            io.BytesIO(member.data),
            label=layer_label(layer.index, layer.digest),
            want=want,
            expected_size=member.size,
            expected_digest=layer.digest,
            threaded=False,
        )

    return Plan(info, open_layer)


def _regular(contents: SaveContents, name: str) -> bool:
    """Whether ``name`` is there; refused unless it is a regular file (dockerd follows a
    link or fails on a folder; containerd's importer skips anything but a regular file)."""
    kind = contents.names.kind_of(name)
    if kind is None:
        return False
    if kind != "file" or name not in contents.stored:
        why = {"link": "a link", "dir": "a folder"}.get(kind, "too large")
        raise refuse(contents.reference, f"{name} is {why}")
    return True


def plan_image(
    contents: SaveContents,
    want: Want,
    platform: Platform | None,
    name: str | None,
    strict: bool,
) -> Plan:
    """The image the archive holds, chosen as ``docker load`` chooses it, or refused where
    dockerd 20.10 (``manifest.json``) and containerd's importer (``index.json`` when
    ``oci-layout`` is there) would load different images."""
    reference = contents.reference
    has_layout = _regular(contents, "oci-layout")
    has_index = _regular(contents, "index.json")
    if _regular(contents, "manifest.json"):
        entries = decode_save_manifest(
            contents.document("manifest.json"), f"{reference}: manifest.json"
        )
        if not entries:
            raise ImageReadError(
                f"{reference}: manifest.json lists no image",
                hint="save the image again with docker save",
            )
        plan = _legacy_plan(contents, pick_entry(entries, reference, name, strict), want, platform)
        if has_layout:
            if not has_index:
                raise refuse(reference, "oci-layout without index.json")
            oci = _oci_plan(contents, want, platform, name)
            if oci.info.config_digest != plan.info.config_digest:
                raise refuse(
                    reference,
                    f"manifest.json names image config {plan.info.config_digest} and "
                    f"index.json names {oci.info.config_digest}",
                )
        return plan
    if contents.names.kind_of("repositories") is not None:
        raise ImageReadError(
            f"{reference}: the archive has no manifest.json but a `repositories` file: a "
            "Docker v1 image, which buildguard does not read",
            hint="load it and save it again with a current docker",
        )
    if has_index:
        return _oci_plan(contents, want, platform, name)
    raise ImageReadError(
        f"{reference}: the archive holds neither manifest.json nor index.json",
        hint="it does not come from `docker save`; check the path",
    )
