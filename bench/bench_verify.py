"""Benchmark: ``buildguard verify`` against the skopeo + tar + sha256sum pipeline a user
would otherwise script, against the floor (the blobs' sha256, inflate and DiffID on both
cores), with and without the layer-index cache (a folder and a real GCS emulator), and the
start-up of the command.

One command: ``.venv/bin/python bench/bench_verify.py [--size-mb N] [--quick] [--runs N]``.

For each size it builds a synthetic OCI image layout with two tags (no docker: Python writes
gzip layers to files, streaming and hashing as it goes): ``Nmb``, three bulk base layers and
a sealed bundle, and ``Nmb-next``, the same base with the bundle of a later build on top.
Both are pushed with skopeo to a real ``docker-registry`` on 127.0.0.1; the contenders run
alternately, ``--runs`` rounds, and the medians are printed with every ratio and target.
See bench/README.md. Exit 0 whatever the figures; non-zero only if a command failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchapp import BUILDGUARD, REPO, SealedApp, make_sealed_app, run_checked
from benchgcs import BUCKET, GcsEmulator, start_gcs_emulator
from benchimage import HISTORY, BenchImage, write_base_layers, write_dist_layer, write_layout
from benchpeer import PEER_TOOLS, run_peer
from benchreport import print_cache, print_main, print_startup
from benchtiming import Sample, child_env, compile_bytecode, load, timed

sys.path.insert(0, str(REPO / "tests" / "support"))

from services import Registry, start_registry

BUILD_A = "bench-build-000001"
BUILD_B = "bench-build-000002"
KEY = "bench-cache-key"
CACHE_HIT = "index from the cache"


@dataclass
class Round:
    """The samples of one size; each list has one sample per round."""

    ours: list[Sample] = field(default_factory=list)
    peer: list[Sample] = field(default_factory=list)
    layout: list[Sample] = field(default_factory=list)
    floor: list[dict[str, float]] = field(default_factory=list)
    cold_dir: list[Sample] = field(default_factory=list)
    warm_dir: list[Sample] = field(default_factory=list)
    cold_gcs: list[Sample] = field(default_factory=list)
    warm_gcs: list[Sample] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Sized:
    size_mb: int
    image: BenchImage
    next_image: BenchImage
    remote: str
    remote_next: str
    rounds: Round


def build_images(
    work: Path,
    size: int,
    seed: int,
    apps: tuple[SealedApp, SealedApp],
    registry: Registry,
    policy: Path,
) -> Sized:
    t0 = time.perf_counter()
    layout = work / f"layout-{size}mb"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    base = write_base_layers(blobs, size, seed)
    top_a, top_b = (write_dist_layer(blobs, app.dist) for app in apps)
    tag = f"{size}mb"
    image, next_image = write_layout(
        layout, [(tag, [*base, top_a]), (f"{tag}-next", [*base, top_b])], HISTORY
    )
    t1 = time.perf_counter()
    for img in (image, next_image):
        run_checked(
            [
                "skopeo",
                "--policy",
                str(policy),
                "copy",
                "-q",
                "--preserve-digests",
                "--dest-tls-verify=false",
                f"oci:{layout}:{img.tag}",
                f"docker://{registry.host}/bench/app:{img.tag}",
            ]
        )
    print(
        f"image {tag}: {image.uncompressed >> 20} MB in {image.files} files, "
        f"{image.compressed >> 20} MB gzip, {len(image.layers)} layers; {tag}-next: the same "
        f"base, another bundle (built in {t1 - t0:.0f} s, pushed in "
        f"{time.perf_counter() - t1:.0f} s)",
        flush=True,
    )
    host = f"{registry.host}/bench/app"
    return Sized(size, image, next_image, f"{host}:{tag}", f"{host}:{tag}-next", Round())


def _cache_run(cmd: list[str], app: SealedApp, log: Path, env: dict[str, str], hits: int) -> Sample:
    """A verify with ``-v``; its log must show exactly ``hits`` layers from the cache and no
    cache warning (a cache that silently does nothing would make the figure a lie)."""
    sample = timed([*cmd, "-v"], app.root, log, env)
    text = log.read_text(errors="replace")
    if text.count(CACHE_HIT) != hits or "ignoring the cached" in text or "going on without" in text:
        raise RuntimeError(f"expected {hits} cache hits and no cache warning; see {log}")
    return sample


def bench_round(
    s: Sized,
    i: int,
    apps: tuple[SealedApp, SealedApp],
    work: Path,
    policy: Path,
    gcs: GcsEmulator | None,
) -> None:
    r, (app_a, app_b) = s.rounds, apps
    r.loads.append(load())
    env = child_env(work)
    tag = f"{s.size_mb}-{i}"
    verify_a = [BUILDGUARD, "verify", s.remote, *app_a.verify_args()]
    verify_b = [BUILDGUARD, "verify", s.remote_next, *app_b.verify_args()]

    r.ours.append(timed([*verify_a, "--no-cache"], app_a.root, work / f"ours-{tag}.log", env))
    r.peer.append(run_peer(s.remote, policy, work, work / f"peer-{tag}.log", app_a.files))
    flog = work / f"floor-{tag}.log"
    modes = "threads,processes,serial" if i == 0 else "threads,processes"
    timed(
        [
            sys.executable,
            str(REPO / "bench" / "benchfloor.py"),
            "--modes",
            modes,
            *(str(layer.path) for layer in s.image.layers),
        ],
        work,
        flog,
        env,
    )
    r.floor.append(json.loads(flog.read_text().strip().splitlines()[-1]))
    r.layout.append(
        timed(
            [BUILDGUARD, "verify", s.image.ref, *app_a.verify_args(), "--no-cache"],
            app_a.root,
            work / f"layout-{tag}.log",
            env,
        )
    )
    cache = work / f"cache-{tag}"
    based = len(s.image.layers) - 1
    r.cold_dir.append(
        _cache_run([*verify_a, "--cache", str(cache)], app_a, work / f"cold-dir-{tag}.log", env, 0)
    )
    r.warm_dir.append(
        _cache_run(
            [*verify_b, "--cache", str(cache)], app_b, work / f"warm-dir-{tag}.log", env, based
        )
    )
    shutil.rmtree(cache)
    if gcs is not None:
        genv = child_env(work, STORAGE_EMULATOR_HOST=gcs.url, BUILDGUARD_CACHE_KEY=KEY)
        prefix = f"gs://{BUCKET}/run-{tag}"
        r.cold_gcs.append(
            _cache_run([*verify_a, "--cache", prefix], app_a, work / f"cold-gcs-{tag}.log", genv, 0)
        )
        r.warm_gcs.append(
            _cache_run(
                [*verify_b, "--cache", prefix], app_b, work / f"warm-gcs-{tag}.log", genv, based
            )
        )
    r.loads[-1] += f" → {load()}"
    print(
        f"  round {i + 1}: verify {r.ours[-1].seconds:.2f} s, peer {r.peer[-1].seconds:.2f} s, "
        f"floor {min(r.floor[-1]['threads'], r.floor[-1]['processes']):.2f} s, layout "
        f"{r.layout[-1].seconds:.2f} s, cache dir {r.cold_dir[-1].seconds:.2f} / "
        f"{r.warm_dir[-1].seconds:.2f} s"
        + (
            f", gcs {r.cold_gcs[-1].seconds:.2f} / {r.warm_gcs[-1].seconds:.2f} s"
            if gcs is not None
            else ""
        )
        + f" (load {r.loads[-1]})",
        flush=True,
    )


def bench_startup(work: Path, runs: int) -> dict[str, list[Sample]]:
    """``--version``, verify of the shipped example, and the bare interpreter, alternately."""
    env = child_env(work)
    python = str(REPO / ".venv" / "bin" / "python")
    cmds = {
        "python -c pass": [python, "-c", "pass"],
        "buildguard --version": [BUILDGUARD, "--version"],
        "verify examples/images (fresh)": [
            BUILDGUARD,
            "verify",
            "oci-layout:examples/images/layout:fresh",
            "--record",
            "examples/images/record.json",
            "--no-cache",
        ],
    }
    out: dict[str, list[Sample]] = {name: [] for name in cmds}
    for i in range(runs):
        for name, cmd in cmds.items():
            out[name].append(timed(cmd, REPO, work / f"startup-{i}.log", env))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument(
        "--size-mb",
        type=int,
        default=1000,
        help="uncompressed image size (default 1000; a quarter is run too)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke check: one 100 MB image")
    parser.add_argument("--runs", type=int, default=3, help="rounds per size (default 3)")
    parser.add_argument(
        "--startup-runs", type=int, default=11, help="runs of each start-up command (default 11)"
    )
    parser.add_argument("--no-gcs", action="store_true", help="skip the GCS emulator figures")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (for debugging)")
    args = parser.parse_args(argv)
    sizes = [100] if args.quick else [max(args.size_mb // 4, 1), args.size_mb]
    runs = 1 if args.quick and args.runs == 3 else args.runs
    startup_runs = 3 if args.quick and args.startup_runs == 11 else args.startup_runs
    for tool in PEER_TOOLS:
        if shutil.which(tool) is None:
            print(f"bench: {tool} not found on PATH", file=sys.stderr)
            return 2

    compile_bytecode()
    work = Path(tempfile.mkdtemp(prefix="bg-bench-"))
    registry: Registry | None = None
    gcs: GcsEmulator | None = None
    try:
        print(f"load average at start: {load()}", flush=True)
        policy = work / "policy.json"
        policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}\n')
        apps = (
            make_sealed_app(work / "app-a", BUILD_A),
            make_sealed_app(work / "app-b", BUILD_B, seed=4343),
        )
        print(
            f"sealed bundles: {len(apps[0].files)} files each, builds {BUILD_A}, {BUILD_B}",
            flush=True,
        )
        registry = start_registry(work / "registry")
        if not args.no_gcs:
            gcs = start_gcs_emulator(work)
        print(
            f"registry: {registry.host} (pid {registry.pid})"
            + (f"; GCS emulator {gcs.url} (pid {gcs.proc.pid})" if gcs else ""),
            flush=True,
        )
        sized = [
            build_images(work, size, 100 * n, apps, registry, policy)
            for n, size in enumerate(sizes)
        ]
        print("start-up:", flush=True)
        startup = bench_startup(work, startup_runs)
        for s in sized:
            print(f"size {s.size_mb} MB:", flush=True)
            for i in range(runs):
                bench_round(s, i, apps, work, policy, gcs)
        print(f"\nload average at the end: {load()}")
        print_main([(s.size_mb, s.image, s.rounds) for s in sized], runs)
        print_cache([(s.size_mb, s.rounds) for s in sized], gcs is not None)
        print_startup(startup)
        return 0
    finally:
        if gcs is not None:
            gcs.stop()
        if registry is not None:
            registry.stop()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
