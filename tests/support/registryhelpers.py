"""Helpers for the registry tests: random images pushed through the distribution API.

Not a mock: these helpers PUT real blobs and manifests into a real ``docker-registry`` (the
same API ``docker push`` uses), so that fault, token and Google tests need no dockerd. The
dockerd-built images are in ``test_registry.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from typing import IO

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class Pushed:
    repository: str
    tag: str
    manifest: bytes
    digest: str
    config: bytes
    layers: list[bytes] = field(default_factory=list)

    @property
    def config_digest(self) -> str:
        return sha256(self.config)

    @property
    def layer_digests(self) -> list[str]:
        return [sha256(layer) for layer in self.layers]


def random_layer(files: int = 3, size: int = 4096, seed: bytes | None = None) -> bytes:
    """A gzip'd tar with ``files`` files of random (incompressible) bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for i in range(files):
            data = os.urandom(size) if seed is None else hashlib.sha256(seed + bytes([i])).digest()
            info = tarfile.TarInfo(f"app/file-{i}.bin")
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def upload_blob(
    client: httpx.Client, base: str, repository: str, data: bytes, headers: dict[str, str]
) -> str:
    digest = sha256(data)
    start = client.post(f"{base}/v2/{repository}/blobs/uploads/", headers=headers)
    assert start.status_code == 202, (start.status_code, start.text)
    location = httpx.URL(base).join(start.headers["location"])
    done = client.put(
        location.copy_merge_params({"digest": digest}),
        content=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201, (done.status_code, done.text)
    return digest


def put_manifest(
    client: httpx.Client,
    base: str,
    repository: str,
    reference: str,
    body: bytes,
    media_type: str,
    headers: dict[str, str],
) -> str:
    response = client.put(
        f"{base}/v2/{repository}/manifests/{reference}",
        content=body,
        headers={**headers, "Content-Type": media_type},
    )
    assert response.status_code == 201, (response.status_code, response.text)
    return response.headers["docker-content-digest"]


def push_random_image(
    base: str,
    repository: str,
    tag: str = "v1",
    *,
    headers: dict[str, str] | None = None,
    layers: int = 2,
    layer_size: int = 64 * 1024,
    with_media_type: bool = True,
) -> Pushed:
    """Push an OCI image with random layers; ``with_media_type=False`` leaves ``mediaType``
    out of the manifest (allowed by the OCI spec; python-dxf fails on it)."""
    headers = dict(headers or {})
    with httpx.Client(timeout=60) as client:
        blobs = [random_layer(files=4, size=layer_size // 4) for _ in range(layers)]
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "rootfs": {
                    "type": "layers",
                    "diff_ids": [sha256(gzip.decompress(b)) for b in blobs],
                },
                "history": [{"created_by": f"test layer {i}"} for i in range(layers)],
            },
            sort_keys=True,
        ).encode()
        upload_blob(client, base, repository, config, headers)
        for blob in blobs:
            upload_blob(client, base, repository, blob, headers)
        manifest_doc: dict[str, object] = {
            "schemaVersion": 2,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
            "layers": [
                {"mediaType": OCI_LAYER, "digest": sha256(b), "size": len(b)} for b in blobs
            ],
        }
        if with_media_type:
            manifest_doc = {"mediaType": OCI_MANIFEST, **manifest_doc}
        manifest = json.dumps(manifest_doc, indent=3).encode()
        digest = put_manifest(client, base, repository, tag, manifest, OCI_MANIFEST, headers)
    assert digest == sha256(manifest)
    return Pushed(repository, tag, manifest, digest, config, blobs)


def push_index(
    base: str,
    repository: str,
    tag: str,
    children: list[Pushed],
    *,
    headers: dict[str, str] | None = None,
) -> tuple[bytes, str]:
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": child.digest,
                    "size": len(child.manifest),
                    "platform": {"os": "linux", "architecture": arch},
                }
                for child, arch in zip(children, ("amd64", "arm64", "riscv64"), strict=False)
            ],
        }
    ).encode()
    with httpx.Client(timeout=60) as client:
        digest = put_manifest(client, base, repository, tag, index, OCI_INDEX, dict(headers or {}))
    return index, digest


def read_all(stream: IO[bytes], chunk: int = 65536) -> bytes:
    """Read a blob stream in chunks (as the layer reader does) and close it."""
    out = bytearray()
    try:
        while True:
            data = stream.read(chunk)
            if not data:
                return bytes(out)
            out += data
    finally:
        stream.close()
