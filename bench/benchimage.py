"""The benchmarks' images: synthetic gzip layers written by Python (no docker), streamed to
blob files and hashed on the way, and an OCI layout naming one or more tags."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import os
import random
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchapp import IMAGE_PATH, REPO
from benchcontent import Pools

sys.path.insert(0, str(REPO / "tests" / "support"))

from imagecorpus import LAYER_TYPES, config_doc

GZIP_LEVEL = 6  # Go's (and so docker's) default gzip level
MTIME = 1_700_000_000
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class LayerSpec:
    """A bulk layer: ``budget`` bytes of files under ``prefix``."""

    kind: str  # "usr" or "node_modules"
    prefix: str
    budget: int
    seed: int
    binary_share: float
    median: int  # lognormal median file size in bytes
    sigma: float


@dataclass(frozen=True)
class LayerBlob:
    digest: str
    diff_id: str
    size: int
    uncompressed: int
    files: int
    path: Path


class _HashSink:
    """A write-only file that hashes and counts what passes through to ``out``."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.hash = hashlib.sha256()
        self.count = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.count += len(data)
        self.out.write(data)
        return len(data)

    def tell(self) -> int:
        return self.count

    def flush(self) -> None:
        pass


class LayerWriter:
    """Stream a tar into a gzip blob file, hashing both sides; renames to its digest."""

    def __init__(self, blobs: Path) -> None:
        self.blobs = blobs
        fd, tmp = tempfile.mkstemp(dir=blobs, prefix=".tmp-")
        self.tmp = Path(tmp)
        self.raw = os.fdopen(fd, "wb")
        self.gz_sink = _HashSink(self.raw)
        self.gz = gzip.GzipFile(fileobj=self.gz_sink, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
        self.tar_sink = _HashSink(self.gz)
        self.tar = tarfile.TarFile(
            fileobj=self.tar_sink,  # type: ignore[arg-type]
            mode="w",
            format=tarfile.PAX_FORMAT,
        )
        self.dirs: set[str] = set()
        self.files = 0

    def ensure_dir(self, path: str) -> None:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.dirs:
                self.dirs.add(d)
                info = tarfile.TarInfo(d)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                info.mtime = MTIME
                self.tar.addfile(info)

    def add_file(self, path: str, data: bytes, mode: int = 0o644, mtime: float = MTIME) -> None:
        self.ensure_dir(path.rpartition("/")[0])
        info = tarfile.TarInfo(path)
        info.size = len(data)
        info.mode = mode
        info.mtime = int(mtime)
        self.tar.addfile(info, io.BytesIO(data))
        self.files += 1

    def close(self) -> LayerBlob:
        self.tar.close()
        self.gz.close()
        self.raw.close()
        digest = "sha256:" + self.gz_sink.hash.hexdigest()
        path = self.blobs / digest.split(":")[1]
        self.tmp.rename(path)
        return LayerBlob(
            digest=digest,
            diff_id="sha256:" + self.tar_sink.hash.hexdigest(),
            size=self.gz_sink.count,
            uncompressed=self.tar_sink.count,
            files=self.files,
            path=path,
        )


def _sizes(rng: random.Random, budget: int, median: int, sigma: float) -> Iterator[int]:
    mu = math.log(median)
    left = budget
    while left > 0:
        size = min(int(rng.lognormvariate(mu, sigma)), 24 << 20, left)
        left -= size
        yield max(size, 0)


def write_bulk_layer(blobs: Path, spec: LayerSpec) -> LayerBlob:
    pools = Pools(spec.seed)
    rng = pools.rng
    writer = LayerWriter(blobs)
    exts_text = (".js", ".js", ".js", ".json", ".d.ts", ".md", ".mjs", ".cjs", ".map")
    pkg_dir = ""
    left_in_dir = 0
    for size in _sizes(rng, spec.budget, spec.median, spec.sigma):
        if left_in_dir <= 0:
            if spec.kind == "node_modules":
                scope = f"@{pools.name()}/" if rng.random() < 0.15 else ""
                pkg_dir = f"{spec.prefix}/{scope}{pools.name()}-{pools.name()}{rng.randint(0, 99)}"
            else:
                pkg_dir = f"{spec.prefix}/{pools.name()}/{pools.name()}{rng.randint(0, 999)}"
            left_in_dir = rng.randint(5, 60)
        left_in_dir -= 1
        binary = rng.random() < spec.binary_share
        sub = rng.choice(("", "lib/", "dist/", "src/", "esm/", "cjs/"))
        if binary:
            ext = rng.choice((".so", ".node", ".png", ".woff2", ".gz", ""))
        else:
            ext = (
                rng.choice(exts_text)
                if spec.kind == "node_modules"
                else rng.choice((".py", ".txt", ".conf", ".h", ".pl", ""))
            )
        name = f"{pkg_dir}/{sub}{pools.name()}{rng.randint(0, 9999)}{ext}"
        writer.add_file(name, pools.content(size, binary), 0o755 if binary else 0o644)
    return writer.close()


def base_specs(size_mb: int, seed: int) -> list[LayerSpec]:
    """The three bulk layers of an image of ``size_mb`` (20 % / 25 % / 55 %)."""
    total = size_mb << 20
    return [
        LayerSpec("usr", "usr/lib", int(total * 0.20), seed + 1, 0.30, 16_000, 1.8),
        LayerSpec("usr", "usr/share", int(total * 0.25), seed + 2, 0.10, 12_000, 1.8),
        LayerSpec(
            "node_modules", "app/node_modules", int(total * 0.55), seed + 3, 0.04, 4_000, 1.5
        ),
    ]


def write_base_layers(blobs: Path, size_mb: int, seed: int) -> list[LayerBlob]:
    """The bulk layers, two at a time (one process each)."""
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(write_bulk_layer, blobs, s) for s in base_specs(size_mb, seed)]
        return [f.result() for f in futures]


def write_dist_layer(blobs: Path, dist: Path) -> LayerBlob:
    """``COPY dist /app/v5-frontend``: the sealed dist, with its files' own mtimes."""
    writer = LayerWriter(blobs)
    writer.ensure_dir(IMAGE_PATH.strip("/"))
    for p in sorted(dist.rglob("*")):
        rel = f"{IMAGE_PATH.strip('/')}/{p.relative_to(dist).as_posix()}"
        if p.is_dir():
            writer.ensure_dir(rel)
        elif p.is_file():
            writer.add_file(rel, p.read_bytes(), 0o644, p.stat().st_mtime)
    return writer.close()


HISTORY: list[dict[str, Any]] = [
    {"created_by": "/bin/sh -c #(nop) ADD file:4b1be1de1a1e1c5ad1 in / "},
    {
        "created_by": "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends "
        "nodejs python3 ca-certificates && rm -rf /var/lib/apt/lists/*"
    },
    {"created_by": "WORKDIR /app", "empty_layer": True},
    {"created_by": "RUN /bin/sh -c npm ci --omit=dev # buildkit"},
    {"created_by": "COPY dist /app/v5-frontend # buildkit"},
    {"created_by": 'CMD ["node", "server.js"]', "empty_layer": True},
]


@dataclass(frozen=True)
class BenchImage:
    layout: Path
    tag: str
    layers: list[LayerBlob]

    @property
    def uncompressed(self) -> int:
        return sum(layer.uncompressed for layer in self.layers)

    @property
    def compressed(self) -> int:
        return sum(layer.size for layer in self.layers)

    @property
    def files(self) -> int:
        return sum(layer.files for layer in self.layers)

    @property
    def ref(self) -> str:
        return f"oci-layout:{self.layout}:{self.tag}"


def write_layout(
    layout: Path, tags: Sequence[tuple[str, list[LayerBlob]]], history: list[dict[str, Any]]
) -> list[BenchImage]:
    """Config, manifest and ``index.json`` entry for each ``(tag, layers)``; the layer blobs
    must already be in ``layout/blobs/sha256``. ``history`` has one non-empty entry per
    layer (the last layers' entries are used when there are fewer layers)."""
    blobs = layout / "blobs" / "sha256"
    entries = []
    images = []
    for tag, layers in tags:
        hist = _history_for(history, len(layers))
        dated = [{"created": f"2024-05-01T10:{i:02d}:00Z", **h} for i, h in enumerate(hist)]
        config = json.dumps(config_doc([x.diff_id for x in layers], dated)).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": write_blob(blobs, config),
                "size": len(config),
            },
            "layers": [
                {"mediaType": LAYER_TYPES["gzip"], "digest": x.digest, "size": x.size}
                for x in layers
            ],
        }
        mdata = json.dumps(manifest).encode()
        entries.append(
            {
                "mediaType": MANIFEST_TYPE,
                "digest": write_blob(blobs, mdata),
                "size": len(mdata),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        )
        images.append(BenchImage(layout, tag, layers))
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))
    return images


def _history_for(history: list[dict[str, Any]], layers: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    nonempty = sum(1 for h in history if not h.get("empty_layer"))
    skip = nonempty - layers
    for h in history:
        if not h.get("empty_layer") and skip > 0:
            skip -= 1
            continue
        out.append(h)
    return out


def write_blob(blobs: Path, data: bytes) -> str:
    hexd = hashlib.sha256(data).hexdigest()
    (blobs / hexd).write_bytes(data)
    return "sha256:" + hexd
