"""The floor of reading an image's blobs: what any verifier must do, and nothing else.

For each gzip blob: the sha256 of its compressed bytes, the inflate (isal's
``IgzipDecompressor``, 1 MiB outputs, as buildguard inflates) and the sha256 of the
uncompressed tar (the DiffID); no tar walking, no per-file hashing. From local files (the page
cache, once warm), on both cores, three ways:

- ``threads``: every blob at once, each as two threads (read + sha256 + inflate → sha256);
  hashlib and isal release the GIL, so this keeps both cores busy;
- ``processes``: the blobs spread over two processes (largest first), each blob serial;
- ``serial``: everything in one thread (the total CPU work, for reference).

The floor is the fastest of ``threads`` and ``processes``. Run as a script it prints JSON
``{mode: seconds, mode_cpu: CPU seconds}``, timed inside the process (the interpreter
start-up is not counted): ``python bench/benchfloor.py [--modes threads,...] BLOB...``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from isal import igzip_lib

CHUNK = 1 << 20
MODES = ("threads", "processes", "serial")


def _inflate(path: Path, emit: Callable[[bytes], None]) -> str:
    """Read ``path``, hash it, inflate it (one gzip member) in 1 MiB outputs to ``emit``."""
    digest = hashlib.sha256()
    inflater = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
    with open(path, "rb", buffering=0) as f:
        while True:
            if inflater.needs_input:
                buf = f.read(CHUNK)
                if not buf:
                    break
                digest.update(buf)
                out = inflater.decompress(buf, CHUNK)
            else:
                out = inflater.decompress(b"", CHUNK)
            if out:
                emit(out)
            if inflater.eof:
                break
    if not inflater.eof:
        raise ValueError(f"{path}: truncated gzip stream")
    return digest.hexdigest()


def serial_blob(path: Path) -> tuple[str, str]:
    diff = hashlib.sha256()
    digest = _inflate(path, diff.update)
    return digest, diff.hexdigest()


def threaded_blob(path: Path, out: dict[Path, tuple[str, str]]) -> list[threading.Thread]:
    """Start the two threads of one blob; ``out[path]`` is set when both are done."""
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
    diff = hashlib.sha256()
    compressed: list[str] = []

    def produce() -> None:
        try:
            compressed.append(_inflate(path, chunks.put))
        finally:
            chunks.put(None)

    def consume() -> None:
        while (chunk := chunks.get()) is not None:
            diff.update(chunk)
        out[path] = (compressed[0] if compressed else "", diff.hexdigest())

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for thread in threads:
        thread.start()
    return threads


def run_threads(paths: Sequence[Path]) -> dict[Path, tuple[str, str]]:
    out: dict[Path, tuple[str, str]] = {}
    threads = [t for p in paths for t in threaded_blob(p, out)]
    for thread in threads:
        thread.join()
    return out


def run_processes(paths: Sequence[Path], workers: int = 2) -> dict[Path, tuple[str, str]]:
    order = sorted(paths, key=lambda p: p.stat().st_size, reverse=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return dict(zip(order, pool.map(serial_blob, order), strict=True))


def run_serial(paths: Sequence[Path]) -> dict[Path, tuple[str, str]]:
    return {p: serial_blob(p) for p in paths}


RUNNERS: dict[str, Callable[[Sequence[Path]], dict[Path, tuple[str, str]]]] = {
    "threads": run_threads,
    "processes": run_processes,
    "serial": run_serial,
}


def _cpu() -> float:
    """CPU seconds of this process and of its children that were waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measure(paths: Sequence[Path], modes: Sequence[str]) -> dict[str, float]:
    """Wall seconds per mode, and its CPU seconds as ``MODE_cpu``; every mode must give the
    same digests (a broken floor raises)."""
    seconds: dict[str, float] = {}
    seen: dict[Path, tuple[str, str]] | None = None
    for mode in modes:
        start, cpu = time.perf_counter(), _cpu()
        got = RUNNERS[mode](paths)
        seconds[mode] = time.perf_counter() - start
        seconds[f"{mode}_cpu"] = _cpu() - cpu
        if seen is not None and got != seen:
            raise RuntimeError(f"floor mode {mode} hashed differently")
        seen = got
    if seen is not None:
        for path, (digest, _) in seen.items():
            if digest != path.name:
                raise RuntimeError(f"floor: {path} hashes to {digest}, not its name")
    return seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the floor: blob sha256 + inflate + DiffID")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("blobs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    print(json.dumps(measure(args.blobs, modes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
