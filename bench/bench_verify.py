"""Benchmark: ``buildguard verify`` against a real registry vs. the skopeo + tar + sha256sum
pipeline a user would otherwise script.

One command: ``.venv/bin/python bench/bench_verify.py [--size-mb N] [--quick] [--runs N]``.

For each size it builds a synthetic OCI image layout (no docker: Python writes gzip layers
to files, streaming and hashing as it goes), pushes it with skopeo to a real
``docker-registry`` on 127.0.0.1, then times both contenders alternately and prints medians.
Wall time is measured around each subprocess; peak RSS is the kernel's ``ru_maxrss`` from
``os.wait4``, i.e. the largest single process among the command and the descendants it
waited for (not a sum over processes running at once). See bench/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from imagecorpus import LAYER_TYPES, config_doc  # noqa: E402
from services import Registry, start_registry  # noqa: E402

BUILD_ID = "bench-build-000001"
COMMIT = "5e1f2b3c4d5e6f708192a3b4c5d6e7f801234567"
IMAGE_PATH = "/app/v5-frontend"
GZIP_LEVEL = 6  # Go's (and so docker's) default gzip level
MTIME = 1_700_000_000
TARGET_RATIO = 0.5
TARGET_RSS_MB = 150.0
POOL_TEXT_MB = 24
POOL_BIN_MB = 8
TIME = "/usr/bin/time"  # GNU time, for peak RSS


# --------------------------------------------------------------------------- content


class _Pools:
    """Pseudo-random content: code-like text (gzip ~4x) and incompressible bytes."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        letters = "abcdefghijklmnopqrstuvwxyz_"
        words = ["".join(rng.choices(letters, k=rng.randint(3, 12))) for _ in range(1500)]
        wcum = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(words))))
        punct = [" ", ".", "(", ")", ";\n", " = ", ", ", "{\n", "}\n", "\n  "]
        phrases = [
            "".join(w + rng.choice(punct) for w in rng.choices(words, cum_weights=wcum, k=n))
            for n in (rng.randint(2, 6) for _ in range(6000))
        ]
        pcum = list(itertools.accumulate(1.0 / (i + 1) ** 0.8 for i in range(len(phrases))))
        chunks: list[bytes] = []
        total = 0
        while total < POOL_TEXT_MB << 20:
            chunk = "".join(rng.choices(phrases, cum_weights=pcum, k=100_000)).encode()
            chunks.append(chunk)
            total += len(chunk)
        self.text = b"".join(chunks)
        self.binary = rng.randbytes(POOL_BIN_MB << 20)
        self.words = words
        self.rng = rng

    def content(self, size: int, binary: bool) -> bytes:
        pool = self.binary if binary else self.text
        out: list[bytes] = []
        left = size
        while left > 0:
            off = self.rng.randrange(0, len(pool) - 1)
            piece = pool[off : off + left]
            out.append(piece)
            left -= len(piece)
        return b"".join(out)

    def name(self) -> str:
        return self.rng.choice(self.words[:600])


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


class _LayerWriter:
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
            fileobj=self.tar_sink,
            mode="w",  # type: ignore[arg-type]
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
        self.tmp.rename(self.blobs / digest.split(":")[1])
        return LayerBlob(
            digest=digest,
            diff_id="sha256:" + self.tar_sink.hash.hexdigest(),
            size=self.gz_sink.count,
            uncompressed=self.tar_sink.count,
            files=self.files,
        )


def _sizes(rng: random.Random, budget: int, median: int, sigma: float) -> Iterator[int]:
    import math

    mu = math.log(median)
    left = budget
    while left > 0:
        size = min(int(rng.lognormvariate(mu, sigma)), 24 << 20, left)
        left -= size
        yield max(size, 0)


def write_bulk_layer(blobs: Path, spec: LayerSpec) -> LayerBlob:
    pools = _Pools(spec.seed)
    rng = pools.rng
    writer = _LayerWriter(blobs)
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


# --------------------------------------------------------------------------- the app


def run_checked(
    cmd: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    res = subprocess.run(
        list(cmd),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if res.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(cmd)}` failed with exit code {res.returncode}\n"
            f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}"
        )
    return res.stdout + res.stderr


def make_sealed_app(app: Path) -> dict[str, str]:
    """A real record + dist + seal with buildguard; returns {relpath: sha256} of dist."""
    buildguard = str(REPO / ".venv" / "bin" / "buildguard")
    (app / "src").mkdir(parents=True)
    (app / "src" / "main.js").write_text(
        "window.__BUILDGUARD_BUILD_ID__ = import.meta.env.VITE_BUILDGUARD_BUILD_ID;\n"
    )
    (app / "src" / "style.css").write_text("body { margin: 0 }\n")
    (app / "index.html").write_text("<!doctype html><script src='/src/main.js'></script>\n")
    (app / "package.json").write_text('{"name": "v5-frontend", "private": true}\n')
    (app / "dist" / "assets").mkdir(parents=True)
    (app / "dist" / "old.js").write_text("stale output, removed by --clean\n")
    env = {**os.environ, "BUILD_ID": BUILD_ID, "COMMIT_SHA": COMMIT}
    run_checked([buildguard, "record", "--clean", "dist"], cwd=app, env=env)
    pools = _Pools(4242)
    dist = app / "dist"
    (dist / "assets").mkdir(parents=True, exist_ok=True)
    canary = f'window.__BUILDGUARD_BUILD_ID__="{BUILD_ID}";'.encode()
    files: dict[str, bytes] = {
        "index.html": (
            f'<!doctype html><html><head><meta name="build" content="{BUILD_ID}">'
            '<script type="module" src="/assets/index-a1b2c3d4.js"></script>'
            '<link rel="stylesheet" href="/assets/index-e5f6a7b8.css"></head>'
            '<body><div id="app"></div></body></html>\n'
        ).encode(),
        "assets/index-a1b2c3d4.js": canary + pools.content(900_000, False),
        "assets/index-e5f6a7b8.css": pools.content(120_000, False),
        "favicon.ico": pools.content(15_000, True),
        "robots.txt": b"User-agent: *\nAllow: /\n",
    }
    for i in range(24):
        files[f"assets/chunk-{i:02d}-{pools.name()}.js"] = pools.content(
            pools.rng.randint(2_000, 150_000), False
        )
    for i in range(6):
        files[f"assets/img-{i}.png"] = pools.content(pools.rng.randint(5_000, 80_000), True)
    for rel, data in files.items():
        (dist / rel).write_bytes(data)
    run_checked([buildguard, "seal", "dist"], cwd=app, env=env)
    return {
        p.relative_to(dist).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(dist.rglob("*"))
        if p.is_file()
    }


def write_dist_layer(blobs: Path, dist: Path) -> LayerBlob:
    writer = _LayerWriter(blobs)
    writer.ensure_dir(IMAGE_PATH.strip("/"))
    for p in sorted(dist.rglob("*")):
        rel = f"{IMAGE_PATH.strip('/')}/{p.relative_to(dist).as_posix()}"
        if p.is_dir():
            writer.ensure_dir(rel)
        elif p.is_file():
            writer.add_file(rel, p.read_bytes(), 0o644, p.stat().st_mtime)
    return writer.close()


# --------------------------------------------------------------------------- the image


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


def build_image(layout: Path, tag: str, size_mb: int, dist: Path, seed: int) -> BenchImage:
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    total = size_mb << 20
    specs = [
        LayerSpec("usr", "usr/lib", int(total * 0.20), seed + 1, 0.30, 16_000, 1.8),
        LayerSpec("usr", "usr/share", int(total * 0.25), seed + 2, 0.10, 12_000, 1.8),
        LayerSpec(
            "node_modules", "app/node_modules", int(total * 0.55), seed + 3, 0.04, 4_000, 1.5
        ),
    ]
    # The biggest layer first so the two workers finish at about the same time.
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(write_bulk_layer, blobs, s) for s in specs]
        layers = [f.result() for f in futures]
    layers.append(write_dist_layer(blobs, dist))
    history = [{"created": f"2024-05-01T10:{i:02d}:00Z", **h} for i, h in enumerate(HISTORY)]
    config = json.dumps(config_doc([x.diff_id for x in layers], history)).encode()
    config_digest = _write_blob(blobs, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": [
            {"mediaType": LAYER_TYPES["gzip"], "digest": x.digest, "size": x.size} for x in layers
        ],
    }
    mdata = json.dumps(manifest).encode()
    mdigest = _write_blob(blobs, mdata)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": mdigest,
                "size": len(mdata),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    return BenchImage(layout, tag, layers)


def _write_blob(blobs: Path, data: bytes) -> str:
    hexd = hashlib.sha256(data).hexdigest()
    (blobs / hexd).write_bytes(data)
    return "sha256:" + hexd


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Sample:
    seconds: float
    maxrss_mb: float


def timed(cmd: Sequence[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> Sample:
    """Run ``cmd``; wall time around spawn..reap, peak RSS from GNU time; raise on failure.

    The RSS is not taken from our own ``os.wait4``: a child forked (or vforked) from this
    big Python process and then exec'd keeps the parent's high-water RSS in its
    ``ru_maxrss``. ``/usr/bin/time`` is small, forks the command itself and reports the
    command's ``wait4`` ``ru_maxrss``: the largest single process among the command and
    the descendants it waited for (not a sum over processes running at once).
    """
    rss_file = log.with_suffix(".rss")
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [TIME, "-f", "%M", "-o", str(rss_file), *cmd],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, _ = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(cmd)}` exited {proc.returncode}; output ({log}):\n"
            + log.read_text(errors="replace")[-4000:]
        )
    kib = int(rss_file.read_text().split()[-1])
    return Sample(seconds, kib / 1024.0)


PEER_SCRIPT = r"""
set -euo pipefail
skopeo --policy "$POLICY" copy -q --src-tls-verify=false "docker://$IMAGE" "dir:$WORK/img"
mkdir -p "$WORK/out"
for digest in $(jq -r '.layers[].digest' "$WORK/img/manifest.json"); do
  if ! tar -xzf "$WORK/img/${digest#sha256:}" -C "$WORK/out" "$MEMBER" 2>"$WORK/tar.err"; then
    if grep -v -e 'Not found in archive' -e 'Exiting with failure status' "$WORK/tar.err" >&2
    then exit 1; fi
  fi
done
cd "$WORK/out" && find "$MEMBER" -type f -exec sha256sum {} +
"""


@dataclass
class Result:
    size_mb: int
    image: BenchImage
    ours: list[Sample]
    peer: list[Sample]


def bench_one(
    size_mb: int,
    image: BenchImage,
    registry: Registry,
    app: Path,
    work: Path,
    policy: Path,
    runs: int,
    expected: dict[str, str],
) -> Result:
    ref = f"{registry.host}/bench/app:{image.tag}"
    buildguard = str(REPO / ".venv" / "bin" / "buildguard")
    ours_cmd = [
        buildguard,
        "verify",
        ref,
        "--path",
        IMAGE_PATH,
        "--expect-build-id",
        BUILD_ID,
        "--expect-commit",
        COMMIT,
        "--record",
        str(app / ".buildguard" / "record.json"),
    ]
    member = IMAGE_PATH.strip("/")
    ours: list[Sample] = []
    peer: list[Sample] = []
    for i in range(runs):
        log = work / f"verify-{size_mb}-{i}.log"
        s = timed(ours_cmd, app, log)
        ours.append(s)
        print(
            f"  run {i + 1}/{runs} buildguard verify: {s.seconds:6.2f} s, {s.maxrss_mb:6.1f} MB",
            flush=True,
        )
        pwork = Path(tempfile.mkdtemp(prefix="peer-", dir=work))
        env = {
            **os.environ,
            "POLICY": str(policy),
            "IMAGE": ref,
            "WORK": str(pwork),
            "MEMBER": member,
        }
        plog = work / f"peer-{size_mb}-{i}.log"
        p = timed(["bash", "-c", PEER_SCRIPT], work, plog, env)
        shutil.rmtree(pwork)
        peer.append(p)
        print(
            f"  run {i + 1}/{runs} peer pipeline:     {p.seconds:6.2f} s, {p.maxrss_mb:6.1f} MB",
            flush=True,
        )
        _check_peer_output(plog, member, expected)
    return Result(size_mb, image, ours, peer)


def _check_peer_output(log: Path, member: str, expected: dict[str, str]) -> None:
    got: dict[str, str] = {}
    for line in log.read_text().splitlines():
        digest, _, path = line.partition("  ")
        got[path.removeprefix(member + "/")] = digest
    if got != expected:
        raise RuntimeError(f"peer pipeline hashed other files than dist holds; see {log}")


# --------------------------------------------------------------------------- main


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f}"


def report(results: list[Result], runs: int) -> None:
    print()
    print(
        f"medians of {runs} alternating runs; peak RSS = max over runs of GNU time %M "
        "(largest single process)"
    )
    header = (
        f"{'size MB':>8} {'gz MB':>6} {'files':>7} {'buildguard s':>13} {'peer s':>8} "
        f"{'ratio':>6} {'bg RSS MB':>10} {'peer RSS MB':>12}  verdict"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        ours = statistics.median(s.seconds for s in r.ours)
        peer = statistics.median(s.seconds for s in r.peer)
        rss = max(s.maxrss_mb for s in r.ours)
        prss = max(s.maxrss_mb for s in r.peer)
        ratio = ours / peer
        verdict = (
            f"ratio {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}, "
            f"RSS {'PASS' if rss < TARGET_RSS_MB else 'FAIL'}"
        )
        print(
            f"{_mb(r.image.uncompressed):>8} {_mb(r.image.compressed):>6} "
            f"{r.image.files:>7} {ours:>13.2f} {peer:>8.2f} {ratio:>6.2f} {rss:>10.1f} "
            f"{prss:>12.1f}  {verdict}"
        )
    print(
        f"targets: ratio buildguard/peer <= {TARGET_RATIO}, "
        f"buildguard peak RSS < {TARGET_RSS_MB:.0f} MB"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument(
        "--size-mb",
        type=int,
        default=1000,
        help="uncompressed image size (default 1000; a quarter is run too)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke check: one 100 MB image")
    parser.add_argument("--runs", type=int, default=3, help="runs per contender (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (for debugging)")
    args = parser.parse_args(argv)
    sizes = [100] if args.quick else [max(args.size_mb // 4, 1), args.size_mb]
    runs = 1 if args.quick and args.runs == 3 else args.runs
    for tool in ("skopeo", "jq", "tar", "sha256sum", "bash", TIME):
        if shutil.which(tool) is None:
            print(f"bench: {tool} not found on PATH", file=sys.stderr)
            return 2

    # An installed buildguard has its bytecode compiled at install time; an editable
    # checkout under PYTHONDONTWRITEBYTECODE=1 (as on these machines) would instead compile
    # every module at each start (~0.1 s), which the Go peer never pays.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "buildguard")],
                   check=True)
    work = Path(tempfile.mkdtemp(prefix="bg-bench-"))
    registry: Registry | None = None
    try:
        policy = work / "policy.json"
        policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}\n')
        app = work / "app"
        expected = make_sealed_app(app)
        print(f"sealed bundle: {len(expected)} files in {app / 'dist'}", flush=True)
        registry = start_registry(work / "registry")
        print(f"registry: {registry.host} (pid {registry.pid})", flush=True)
        images: list[BenchImage] = []
        for n, size in enumerate(sizes):
            t0 = time.perf_counter()
            tag = f"{size}mb"
            image = build_image(work / f"layout-{tag}", tag, size, app / "dist", seed=100 * n)
            t1 = time.perf_counter()
            run_checked(
                [
                    "skopeo",
                    "--policy",
                    str(policy),
                    "copy",
                    "-q",
                    "--preserve-digests",
                    "--dest-tls-verify=false",
                    f"oci:{image.layout}:{tag}",
                    f"docker://{registry.host}/bench/app:{tag}",
                ]
            )
            shutil.rmtree(image.layout)  # the registry holds it now
            print(
                f"image {tag}: {_mb(image.uncompressed)} MB in {image.files} files, "
                f"{_mb(image.compressed)} MB gzip, {len(image.layers)} layers "
                f"(built in {t1 - t0:.0f} s, pushed in {time.perf_counter() - t1:.0f} s)",
                flush=True,
            )
            images.append(image)
        results = []
        for size, image in zip(sizes, images, strict=True):
            print(f"size {size} MB:", flush=True)
            results.append(bench_one(size, image, registry, app, work, policy, runs, expected))
        report(results, runs)
        return 0
    finally:
        if registry is not None:
            registry.stop()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
