"""Benchmark of the layer reader: ``.venv/bin/python bench/bench_reader.py [--mb N]``.

Builds a synthetic layer in memory (tens of thousands of files, ~300 MB of tar by default),
gzips it, and prints:

1. tar header iteration: stdlib ``tarfile`` (stream mode) vs buildguard's ``TarWalker``;
2. reading the gzip blob (compressed sha256 + inflate + DiffID + walk + hashing the files
   under one directory) in one thread vs the two-thread pipeline;
3. peak RSS of a child process that reads the blob from a file with the reader.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import resource
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import isal.igzip

from buildguard._image.flatten import make_want
from buildguard._image.layers import read_layer
from buildguard._image.tarwalk import TarWalker


def build_tar(total_mb: int, files: int) -> bytes:
    rng = random.Random(1)
    # Half-random, half-text material: inflates at a realistic rate.
    pool = bytearray()
    for _ in range(64):
        pool += rng.randbytes(32 << 10)
        line = b"function f%d(){return %d}\n" % (rng.randrange(10**6), rng.randrange(10**6))
        pool += line * 1300
    pool_bytes = bytes(pool)
    mean = (total_mb << 20) // files
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for i in range(files):
            directory = f"app/dist/d{i % 200}" if i % 20 == 0 else f"usr/lib/m{i % 500}"
            if i % 500 == 0:
                info = tarfile.TarInfo(directory)
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            size = min(int(rng.expovariate(1 / mean)), len(pool_bytes) - 1)
            start = rng.randrange(0, len(pool_bytes) - size)
            info = tarfile.TarInfo(f"{directory}/file{i}.js")
            info.size = size
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(pool_bytes[start : start + size]))
    return buf.getvalue()


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def bench_headers(tar: bytes) -> tuple[float, float, int]:
    count = 0

    def with_tarfile() -> None:
        nonlocal count
        with tarfile.open(fileobj=io.BytesIO(tar), mode="r|") as t:
            count = sum(1 for _ in t)

    chunks = [tar[i : i + (1 << 20)] for i in range(0, len(tar), 1 << 20)]

    def with_walker() -> None:
        walker = TarWalker(lambda name: 0, "bench")
        for chunk in chunks:  # the pipeline hands the walker 1 MiB chunks like these
            walker.feed(chunk)
        walker.finish()
        assert len(walker.index) == count

    return timed(with_tarfile), timed(with_walker), count


def cpu_check() -> float:
    """How much two GIL-free threads gain over one right now (other load on the box)."""
    data = os.urandom(64 << 20)
    one = timed(lambda: hashlib.sha256(data).digest())
    threads = [threading.Thread(target=lambda: hashlib.sha256(data).digest()) for _ in (1, 2)]

    def both() -> None:
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    return 2 * one / timed(both)


def child(path: str) -> None:
    with open(path, "rb") as fh:
        result = read_layer(fh, label="bench", want=make_want(("/app/dist",)))
    assert result.error is None, result.error
    # ru_maxrss of a child inherits the parent's high-water mark on Linux (fork before
    # exec); VmHWM is the peak of this process's own address space after exec.
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak_kb = int(line.split()[1])
    print(f"{peak_kb / 1024:.0f} {len(result.index)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=300, help="tar size in MB")
    parser.add_argument("--files", type=int, default=30_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    t0 = time.perf_counter()
    tar = build_tar(args.mb, args.files)
    blob = isal.igzip.compress(tar, compresslevel=1)
    print(
        f"synthetic layer: {len(tar) / 1e6:.0f} MB tar, {len(blob) / 1e6:.0f} MB gzip, "
        f"{args.files} files (built in {time.perf_counter() - t0:.1f}s)"
    )

    t_tarfile, t_walker, count = bench_headers(tar)
    print(
        f"headers ({count} entries): tarfile {t_tarfile:.2f}s, TarWalker {t_walker:.2f}s "
        f"-> {t_tarfile / t_walker:.1f}x"
    )

    print(
        f"free cores right now: two sha256 threads run {cpu_check():.2f}x faster than one "
        "(1.0 = only one core free; the 2-thread figure below needs ~2.0)"
    )
    want = make_want(("/app/dist",))
    single = timed(lambda: read_layer(io.BytesIO(blob), label="b", want=want, threaded=False))
    double = timed(lambda: read_layer(io.BytesIO(blob), label="b", want=want, threaded=True))
    want_all = make_want(())
    double_all = timed(lambda: read_layer(io.BytesIO(blob), label="b", want=want_all))
    print(
        f"gzip layer read (sha256 + inflate + DiffID + walk + hash /app/dist): "
        f"1 thread {single:.2f}s, 2 threads {double:.2f}s -> {single / double:.2f}x; "
        f"2 threads hashing every file {double_all:.2f}s"
    )

    with tempfile.NamedTemporaryFile(suffix=".tar.gz", delete=False) as fh:
        fh.write(blob)
        path = fh.name
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", path],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    finally:
        os.unlink(path)
    parent_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (holds the tar and blob in memory): {parent_peak:.0f} MB")
    print(
        f"peak RSS of a process reading the {len(blob) / 1e6:.0f} MB blob from a file: "
        f"{out[0]} MB ({out[1]} entries kept as metadata)"
    )


if __name__ == "__main__":
    main()
