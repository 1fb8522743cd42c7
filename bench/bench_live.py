"""Benchmark of verify-live's fetch path: ``.venv/bin/python bench/bench_live.py [--mb N]``.

nginx (Debian's, with the brotli modules) serves one N MB asset (random bytes, so the
encodings do real work) three ways: plain, ``gzip_static always`` and ``brotli_static
always``. For each, in the same run, it prints the median of ``--runs`` wall times of:

- ``buildguard verify-live`` (fetch, decode, hash, compare; peak RSS too),
- the peer a user would script: ``curl -s --compressed URL | sha256sum``,
- the floor: ``curl -s -o /dev/null URL`` (the bytes over loopback, nothing done with them),

and the ratios. The machine has 2 shared cores: figures are noisy, take them as ratios.
The exit code is non-zero only if a command failed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "support"))

import brotli  # noqa: E402
from nginx import run_nginx, world_readable_dir  # noqa: E402

from buildguard.models import BundleManifest, FileEntry  # noqa: E402

BUILDGUARD = str(Path(sys.executable).parent / "buildguard")


def entry(path: str, data: bytes) -> FileEntry:
    return FileEntry(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        mode=0o644,
        mtime=datetime.now(UTC),
    )


def timed(args: list[str], shell: bool = False) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, from GNU time: a child forked from this process
    would count the pages it shared with it) of one command."""
    command = ["sh", "-c", args[0]] if shell else args
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "maxrss=%M", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"command failed: {args}\n{done.stderr}")
    return seconds, int(done.stderr.strip().splitlines()[-1].split("=", 1)[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="asset size in MB (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="runs per command (median)")
    opts = parser.parse_args()
    root = world_readable_dir("bg-bench-live-")
    try:
        data = os.urandom(opts.mb * 1_000_000 // 2) * 2  # half random: compressible 2x
        page = b'<!doctype html><link rel="preload" href="/big.bin" as="fetch">\n'
        (root / "index.html").write_bytes(page)
        (root / "big.bin").write_bytes(data)
        (root / "big.bin.gz").write_bytes(gzip.compress(data, 6))
        (root / "big.bin.br").write_bytes(brotli.compress(data, quality=5))
        for path in root.iterdir():
            path.chmod(0o644)
        now = datetime.now(UTC)
        manifest = root / "manifest.json"
        manifest.write_text(
            BundleManifest(
                build_id="bench-live-0001",
                commit=None,
                source_digest="sha256:" + "0" * 64,
                record_started_at=now,
                sealed_at=now,
                freshness="canary",
                files=(entry("index.html", page), entry("big.bin", data)),
            ).model_dump_json()
        )
        del data
        print(
            f"asset: {opts.mb} MB (gzip {os.path.getsize(root / 'big.bin.gz') / 1e6:.0f} MB,"
            f" br {os.path.getsize(root / 'big.bin.br') / 1e6:.0f} MB); "
            f"median of {opts.runs} runs; 2 shared cores, expect noise\n"
        )
        print(
            f"{'served as':<14}{'verify-live':>13}{'curl|sha256':>13}{'curl floor':>12}"
            f"{'vs peer':>9}{'vs floor':>10}{'peak RSS':>10}"
        )
        for label, config in (
            ("identity", ""),
            ("gzip_static", "gzip_static always;"),
            ("brotli_static", "brotli_static always;"),
        ):
            with run_nginx(
                f"root {root}; {config} location / {{ try_files $uri $uri/ =404; }}"
            ) as nx:
                url = nx.url + "/big.bin"
                ours, peer, floor, rss = [], [], [], 0
                for _ in range(opts.runs):
                    seconds, peak = timed(
                        [BUILDGUARD, "verify-live", nx.url + "/", "--manifest", str(manifest)]
                    )
                    ours.append(seconds)
                    rss = max(rss, peak)
                    peer.append(timed([f"curl -sf --compressed {url} | sha256sum"], shell=True)[0])
                    floor.append(timed(["curl", "-sf", "-o", "/dev/null", url])[0])
            o, p, f = (statistics.median(x) for x in (ours, peer, floor))
            print(
                f"{label:<14}{o:>12.2f}s{p:>12.2f}s{f:>11.2f}s{o / p:>8.2f}x{o / f:>9.2f}x"
                f"{rss / 1024:>7.0f} MiB"
            )
        print(
            "\nverify-live's time includes starting Python and importing buildguard "
            "(about 0.3 s), and fetching the entry page and the served manifest."
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
