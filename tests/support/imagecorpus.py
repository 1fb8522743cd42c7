"""Test helpers: hand-written layer tars, OCI layouts and docker save archives.

Layers are written with the stdlib ``tarfile`` (so the walker is checked against an
independent writer) or byte by byte for the malformed cases.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import zstandard

Compress = Literal["gzip", "zstd", "none"]
MTIME = 1_700_000_000


@dataclass
class E:
    """One tar entry to write. ``kind``: file, dir, symlink, hardlink, fifo."""

    name: str
    kind: str = "file"
    data: bytes = b""
    target: str = ""
    mode: int = 0o644
    mtime: int = MTIME
    uid: int = 0
    gid: int = 0
    pax: dict[str, str] = field(default_factory=dict)


def f(name: str, data: bytes | str = b"", **kw: Any) -> E:
    return E(name, "file", data.encode() if isinstance(data, str) else data, **kw)


def d(name: str, **kw: Any) -> E:
    kw.setdefault("mode", 0o755)
    return E(name, "dir", **kw)


def sym(name: str, target: str, **kw: Any) -> E:
    kw.setdefault("mode", 0o777)
    return E(name, "symlink", target=target, **kw)


def hard(name: str, target: str, **kw: Any) -> E:
    return E(name, "hardlink", target=target, **kw)


def wh(name: str) -> E:
    """A whiteout for ``name`` (``dir/.wh.base``)."""
    head, _, base = name.rpartition("/")
    return f((head + "/" if head else "") + ".wh." + base)


def opq(directory: str) -> E:
    return f(directory.rstrip("/") + "/.wh..wh..opq")


def tar_bytes(entries: Sequence[E], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape"
    ) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.mode = e.mode
            info.mtime = e.mtime
            info.uid = e.uid
            info.gid = e.gid
            if e.pax:
                info.pax_headers = dict(e.pax)
            if e.kind == "file":
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[e.kind]
            info.linkname = e.target
            tar.addfile(info)
    return buf.getvalue()


def compress(data: bytes, how: Compress) -> bytes:
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


def bundle_manifest(files: dict[str, bytes], build_id: str) -> bytes:
    """The bytes of a ``buildguard-manifest.json`` sealing ``files`` (path → content) for
    ``build_id``, no commit, sealed on timestamps, every file 0644."""
    from buildguard.models import BundleManifest, FileEntry

    return (
        BundleManifest(
            build_id=build_id,
            commit=None,
            source_digest="sha256:" + "a" * 64,
            record_started_at="2026-01-01T00:00:00Z",
            sealed_at="2026-01-01T00:01:00Z",
            freshness="timestamps",
            files=tuple(
                FileEntry(
                    path=p,
                    sha256=hashlib.sha256(b).hexdigest(),
                    size=len(b),
                    mode=0o644,
                    mtime="2026-01-01T00:00:30Z",
                )
                for p, b in files.items()
            ),
        )
        .model_dump_json()
        .encode()
    )


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


LAYER_TYPES = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}


@dataclass
class Built:
    """What a writer produced: digests to assert on and paths to corrupt."""

    root: Path
    manifest_digest: str | None
    config_digest: str
    layer_digests: list[str]
    diff_ids: list[str]
    layer_paths: list[Path] = field(default_factory=list)
    config_path: Path | None = None


def config_doc(
    diff_ids: Sequence[str],
    history: Sequence[dict[str, Any]] | None = None,
    arch: str = "amd64",
    os_: str = "linux",
) -> dict[str, Any]:
    if history is None:
        history = [
            {"created": "2024-01-02T03:04:05.123456789Z", "created_by": f"step {i}"}
            for i in range(len(diff_ids))
        ]
    return {
        "architecture": arch,
        "os": os_,
        "created": "2024-01-02T03:04:05Z",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": list(history),
    }


def _blob(root: Path, data: bytes) -> tuple[str, Path]:
    digest = sha(data)
    path = root / "blobs" / "sha256" / digest.split(":")[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest, path


def write_layout(
    root: Path,
    layers: Sequence[bytes],
    *,
    compression: Compress | Sequence[Compress] = "gzip",
    tag: str | None = "latest",
    history: Sequence[dict[str, Any]] | None = None,
    diff_ids: Sequence[str] | None = None,
    media_type_in_manifest: bool = True,
    arch: str = "amd64",
    media_types: Sequence[str | None] | None = None,
    sizes: Sequence[int | None] | None = None,
) -> Built:
    """An OCI image layout holding one image made of these (uncompressed) layer tars.

    ``media_types`` and ``sizes`` override what the layers' descriptors say (``None``: the
    truth), for images whose manifest lies."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    kinds = [compression] * len(layers) if isinstance(compression, str) else list(compression)
    descs, digests, paths = [], [], []
    real_diff_ids = [sha(t) for t in layers]
    told_types = list(media_types) if media_types is not None else [None] * len(layers)
    told_sizes = list(sizes) if sizes is not None else [None] * len(layers)
    for tar, how, told_type, told_size in zip(layers, kinds, told_types, told_sizes, strict=True):
        blob = compress(tar, how)
        digest, path = _blob(root, blob)
        descs.append(
            {
                "mediaType": told_type or LAYER_TYPES[how],
                "digest": digest,
                "size": len(blob) if told_size is None else told_size,
            }
        )
        digests.append(digest)
        paths.append(path)
    ids = list(diff_ids) if diff_ids is not None else real_diff_ids
    config = json.dumps(config_doc(ids, history, arch=arch)).encode()
    config_digest, config_path = _blob(root, config)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": descs,
    }
    if media_type_in_manifest:
        manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    mdata = json.dumps(manifest).encode()
    mdigest, _ = _blob(root, mdata)
    entry: dict[str, Any] = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": mdigest,
        "size": len(mdata),
    }
    if tag:
        entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return Built(root, mdigest, config_digest, digests, real_diff_ids, paths, config_path)


def write_docker_archive(
    path: Path,
    layers: Sequence[bytes],
    *,
    history: Sequence[dict[str, Any]] | None = None,
    diff_ids: Sequence[str] | None = None,
) -> Built:
    """A legacy ``docker save`` tarball (Docker ≤ 24 layout, manifest.json last)."""
    ids = list(diff_ids) if diff_ids is not None else [sha(t) for t in layers]
    config = json.dumps(config_doc(ids, history)).encode()
    config_hex = sha(config).split(":")[1]
    names = []
    with tarfile.open(path, "w") as tar:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = MTIME
            tar.addfile(info, io.BytesIO(data))

        for i, layer in enumerate(layers):
            layer_id = hashlib.sha256(f"layer{i}".encode()).hexdigest()
            dir_info = tarfile.TarInfo(layer_id)
            dir_info.type = tarfile.DIRTYPE
            tar.addfile(dir_info)
            add(f"{layer_id}/VERSION", b"1.0")
            add(f"{layer_id}/json", b"{}")
            add(f"{layer_id}/layer.tar", layer)
            names.append(f"{layer_id}/layer.tar")
        add(f"{config_hex}.json", config)
        add(
            "manifest.json",
            json.dumps(
                [{"Config": f"{config_hex}.json", "RepoTags": ["t/x:1"], "Layers": names}]
            ).encode(),
        )
    return Built(path, None, "sha256:" + config_hex, [sha(t) for t in layers], ids)


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def find_in_file(path: Path, needle: bytes) -> int:
    at = path.read_bytes().find(needle)
    assert at >= 0, needle
    return at
