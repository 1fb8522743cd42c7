"""Benchmark: peak RSS and wall time of ``buildguard verify`` and ``inspect --json`` on an
image whose base layer holds a million entries (a ``node_modules``-heavy image).

One command: ``.venv/bin/python bench/bench_entries.py [--entries 1000000,200000]
[--runs 3] [--workdir DIR] [--quick]``.

For each count it writes (once; the layout is kept in ``--workdir`` and reused by later
runs) an OCI layout with two gzip layers: N entries under ``/app/node_modules`` (about 1,000
package folders of mostly empty files, 1 % small files, one ``.bin`` symlink per package) and
a sealed bundle on top (``COPY dist /app/v5-frontend``, a real ``buildguard record`` +
``seal``). Then, alternately, ``--runs`` rounds of:

- ``buildguard verify oci-layout:… --path /app/v5-frontend … --no-cache`` (must pass);
- ``buildguard inspect oci-layout:… --json --no-cache`` (stdout to /dev/null);
- ``buildguard verify`` filling an empty ``--cache`` folder, and again from it (warm);
- the peer, GNU ``tar -tvzf`` of the big layer (a streamed listing, stdout to /dev/null);
- the floor, the blobs' sha256 + isal inflate + DiffID (``benchfloor.py``, both cores).

Peak RSS is GNU time's ``%M`` (max over the rounds); times are medians. Exit 0 whatever the
figures; non-zero only if a command failed.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchapp import BUILDGUARD, REPO, SealedApp, make_sealed_app
from benchimage import HISTORY, BenchImage, LayerBlob, write_dist_layer, write_layout
from benchreport import _table
from benchtar import FastLayerWriter
from benchtiming import (
    Sample,
    child_env,
    compile_bytecode,
    load,
    max_rss,
    median_cpu,
    median_s,
    timed,
    verdict,
)

BUILD_ID = "bench-entries-000001"
TARGET_RSS_MB = 250.0
FORMAT = 1
"""Bump when the generated layout changes: a cached layout of another format is rebuilt."""
PACKAGES = 1000


def write_entries_layer(blobs: Path, entries: int, seed: int = 7) -> LayerBlob:
    """``entries`` tar entries: the folders, a .bin symlink per package, and files."""
    rng = random.Random(seed)
    pool = rng.randbytes(1 << 16)
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 10))) for _ in range(400)
    ]
    w = FastLayerWriter(blobs)
    for d in ("app", "app/node_modules", "app/node_modules/.bin"):
        w.add_dir(d)
    files = entries - w.entries - 2 * PACKAGES
    per_package, extra = divmod(files, PACKAGES)
    for p in range(PACKAGES):
        pkg = f"{rng.choice(words)}-{rng.choice(words)}{p}"
        base = f"app/node_modules/{pkg}"
        w.add_dir(base)
        for i in range(per_package + (1 if p < extra else 0)):
            sub = ("", "lib/", "dist/", "src/")[i % 4] if i >= 4 else ""
            name = f"{base}/{sub}{rng.choice(words)}-{i}.js"
            if sub and i < 8:
                w.add_dir(f"{base}/{sub}".rstrip("/"))
            data = b""
            if rng.random() < 0.01:
                off = rng.randrange(0, len(pool) - 4096)
                data = pool[off : off + rng.randint(100, 4000)]
            w.add_file(name, data)
        w.add_symlink(f"app/node_modules/.bin/{pkg}", f"../{pkg}/index.js")
    return w.close()


def _count_dirs_then(blob: LayerBlob, entries: int) -> None:
    print(
        f"  layer: {entries} entries asked for, {blob.files} files, "
        f"{blob.uncompressed >> 20} MB tar, {blob.size >> 20} MB gzip",
        flush=True,
    )


def prepare(workdir: Path, entries: int) -> tuple[BenchImage, SealedApp]:
    """The layout and sealed app for ``entries``, from ``workdir`` when built before."""
    root = workdir / f"entries-{entries}"
    marker = root / "done.json"
    if marker.exists():
        done = json.loads(marker.read_text())
        if done.get("format") == FORMAT:
            layers = [LayerBlob(**{**x, "path": Path(x["path"])}) for x in done["layers"]]
            app = SealedApp(root / "app", BUILD_ID, done["files"])
            print(f"  reusing {root}", flush=True)
            return BenchImage(root / "layout", "entries", layers), app
    shutil.rmtree(root, ignore_errors=True)
    blobs = root / "layout" / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    app = make_sealed_app(root / "app", BUILD_ID)
    big = write_entries_layer(blobs, entries)
    _count_dirs_then(big, entries)
    layers = [big, write_dist_layer(blobs, app.dist)]
    (image,) = write_layout(root / "layout", [("entries", layers)], HISTORY)
    marker.write_text(
        json.dumps(
            {
                "format": FORMAT,
                "files": app.files,
                "layers": [{**vars(x), "path": str(x.path)} for x in layers],
            }
        )
    )
    return image, app


def bench_count(
    image: BenchImage, app: SealedApp, work: Path, runs: int
) -> tuple[dict[str, list[Sample]], list[dict[str, float]], list[str]]:
    env = child_env(work)
    verify = [BUILDGUARD, "verify", image.ref, *app.verify_args()]
    out: dict[str, list[Sample]] = {
        k: []
        for k in (
            "verify --no-cache",
            "inspect --json --no-cache",
            "verify, cache cold",
            "verify, cache warm",
            "peer: tar -tvzf",
        )
    }
    floors: list[dict[str, float]] = []
    loads = []
    for i in range(runs):
        loads.append(load())
        log = work / f"run-{i}.log"
        out["verify --no-cache"].append(timed([*verify, "--no-cache"], app.root, log, env))
        out["inspect --json --no-cache"].append(
            timed(
                [BUILDGUARD, "inspect", image.ref, "--json", "--no-cache"],
                app.root,
                log,
                env,
                stdout_to_null=True,
            )
        )
        cache = work / f"cache-{i}"
        out["verify, cache cold"].append(
            timed([*verify, "--cache", str(cache)], app.root, log, env)
        )
        out["verify, cache warm"].append(
            timed([*verify, "--cache", str(cache), "-v"], app.root, log, env)
        )
        if log.read_text(errors="replace").count("index from the cache") != len(image.layers):
            raise RuntimeError(f"the warm verify did not read every layer from the cache: {log}")
        shutil.rmtree(cache)
        out["peer: tar -tvzf"].append(
            timed(["tar", "-tvzf", str(image.layers[0].path)], work, log, env, stdout_to_null=True)
        )
        timed(
            [
                sys.executable,
                str(REPO / "bench" / "benchfloor.py"),
                "--modes",
                "threads,processes",
                *(str(x.path) for x in image.layers),
            ],
            work,
            log,
            env,
        )
        floors.append(json.loads(log.read_text().strip().splitlines()[-1]))
        print(
            f"  round {i + 1}: "
            + ", ".join(
                f"{k} {v[-1].seconds:.2f} s {v[-1].maxrss_mb:.0f} MB" for k, v in out.items()
            )
            + f" (load {loads[-1]})",
            flush=True,
        )
    return out, floors, loads


def report(
    results: Sequence[
        tuple[int, BenchImage, dict[str, list[Sample]], list[dict[str, float]], list[str]]
    ],
    runs: int,
) -> None:
    print(
        f"\n### many entries (medians of {runs} alternating rounds; RSS: max over rounds, "
        "GNU time %M)\n"
    )
    rows = []
    for entries, image, out, floors, loads in results:
        floor = sorted(min(f["threads"], f["processes"]) for f in floors)[len(floors) // 2]
        peer = median_s(out["peer: tar -tvzf"])
        for name, samples in out.items():
            rss = max_rss(samples)
            target = (
                ""
                if name.startswith("peer")
                else (f"< {TARGET_RSS_MB:.0f} ({verdict(rss, TARGET_RSS_MB)})")
            )
            rows.append(
                [
                    f"{entries:,}",
                    f"`{name}`",
                    f"{median_s(samples):.2f}",
                    f"{median_cpu(samples):.2f}",
                    f"{median_s(samples) / peer:.2f}",
                    f"{median_s(samples) / floor:.2f}",
                    f"{rss:.0f}",
                    target,
                    f"{loads[0].split()[0]}",
                ]
            )
        rows.append(
            [
                f"{entries:,}",
                "floor (sha256 + inflate + DiffID)",
                f"{floor:.2f}",
                "",
                "",
                "1.00",
                "",
                "",
                "",
            ]
        )
        del image
    _table(
        [
            "entries",
            "command",
            "median s",
            "CPU s",
            "÷ peer",
            "÷ floor",
            "peak RSS MB",
            "target MB",
            "load",
        ],
        rows,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument(
        "--entries",
        default="1000000,200000",
        help="comma-separated entry counts (default 1000000,200000)",
    )
    parser.add_argument("--runs", type=int, default=3, help="rounds per count (default 3)")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the generated layouts here and reuse them (default: a temp "
        "dir, removed at the end)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke check: 20,000 entries, 1 run")
    args = parser.parse_args(argv)
    counts = [20_000] if args.quick else [int(x) for x in args.entries.split(",") if x]
    runs = 1 if args.quick and args.runs == 3 else args.runs
    if shutil.which("tar") is None or not Path("/usr/bin/time").exists():
        print("bench: needs GNU tar and GNU time (/usr/bin/time)", file=sys.stderr)
        return 2
    compile_bytecode()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bg-entries-"))
    workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="runs-", dir=workdir))
    try:
        print(f"load average at start: {load()}", flush=True)
        results = []
        for entries in counts:
            print(f"{entries:,} entries:", flush=True)
            image, app = prepare(workdir, entries)
            out, floors, loads = bench_count(image, app, work, runs)
            results.append((entries, image, out, floors, loads))
        print(f"\nload average at the end: {load()}")
        report(results, runs)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
