"""Benchmark: ``buildguard record`` and ``buildguard seal`` vs. ``find | xargs -P2 sha256sum``.

One command: ``.venv/bin/python bench/bench_record.py [--runs N] [--quick] [--keep]``.

It writes its own trees into one temp dir (removed at the end; on /dev/shm when there is one,
so that other work on a shared machine cannot evict them from memory between runs and both
contenders read from the page cache): a frontend monorepo checkout
(~50,000 files, ~775 MB, plus a ``node_modules`` that ``record`` skips by default and the peer
prunes), then, after recording it, a Vite-like ``dist`` (5,000 files, ~750 MB) to seal against
that record. For each tree both contenders run once untimed (so both find the page cache
warm), then alternately ``--runs`` times each, each timed run right after an untimed one of
the same command (the machine is shared: others' work evicts the page cache); it prints
medians, the spread, the ratio buildguard ÷ peer and the peak RSS (GNU time ``%M``).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILDGUARD = Path(sys.executable).with_name("buildguard")
TIME = "/usr/bin/time"  # GNU time, for peak RSS
BUILD_ID = "bench-build-000001"
COMMIT = "5e1f2b3c4d5e6f708192a3b4c5d6e7f801234567"
TARGET_RATIO = 0.6
TARGET_RSS_MB = 100.0
POOL_MB = 64
OLD = time.time() - 86_400  # mtime of the public/ files copied verbatim into dist

GITIGNORE = """\
# Logs
logs
*.log
npm-debug.log*
yarn-debug.log*
yarn-error.log*
pnpm-debug.log*
lerna-debug.log*

node_modules
dist
dist-ssr
*.local
coverage/
.nyc_output
.eslintcache
*.tsbuildinfo
.env
.env.*
!.env.example

# Editor directories and files
.vscode/*
!.vscode/extensions.json
.idea
.DS_Store
*.suo
*.ntvs*
*.njsproj
*.sln
*.sw?
"""
PACKAGE_GITIGNORE = "build/\n*.generated.ts\n.turbo\nstorybook-static/\n"

TEXT_EXT = (
    ".ts",
    ".tsx",
    ".ts",
    ".tsx",
    ".js",
    ".jsx",
    ".css",
    ".scss",
    ".json",
    ".md",
    ".svg",
    ".vue",
    ".snap",
    ".yml",
    ".html",
    ".mjs",
    ".txt",
)
BINARY_EXT = (".png", ".png", ".jpg", ".webp", ".woff2", ".gif", ".ico", ".pdf", ".mp4")
BARE_NAMES = ("LICENSE", "Makefile", "Dockerfile", "CODEOWNERS", ".npmrc", ".editorconfig")


class Content:
    """Seeded pseudo-random bytes; a file is a slice at a random offset (hashing speed does
    not depend on what the bytes are)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pool = rng.randbytes(POOL_MB << 20)

    def take(self, size: int) -> bytes:
        if size <= len(self.pool):
            start = self.rng.randrange(0, len(self.pool) - size + 1)
            return self.pool[start : start + size]
        reps = size // len(self.pool) + 1
        return (self.pool * reps)[:size]


def _lognormal(rng: random.Random, median: int, sigma: float, cap: int) -> int:
    return max(1, min(cap, int(rng.lognormvariate(0, sigma) * median)))


@dataclass(frozen=True)
class Tree:
    root: Path
    files: int  # regular files the peer hashes
    symlinks: int
    bytes: int


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _dirs(rng: random.Random, top: str, count: int) -> Iterator[str]:
    """``count`` folder paths under ``top`` of depth 1-5, like feature folders of an app."""
    words = [
        "components",
        "features",
        "hooks",
        "utils",
        "pages",
        "routes",
        "api",
        "store",
        "styles",
        "icons",
        "forms",
        "tables",
        "charts",
        "auth",
        "billing",
        "settings",
        "admin",
        "reports",
        "widgets",
        "layout",
        "i18n",
        "__tests__",
        "fixtures",
        "mocks",
    ]
    made: list[str] = [top]
    for _ in range(count):
        parent = rng.choice(made) if len(made) > 1 else top
        if parent.count("/") > 6:
            parent = top
        child = f"{parent}/{rng.choice(words)}-{rng.randrange(1000)}"
        made.append(child)
        yield child


def make_source_tree(root: Path, seed: int, files: int, total: int) -> Tree:
    """A monorepo checkout: packages of sources, assets, a few big media files, symlinks,
    executables, nested ``.gitignore`` files and an (excluded) ``node_modules``."""
    rng = random.Random(seed)
    content = Content(rng)
    root.mkdir(parents=True)
    _write(root / ".gitignore", GITIGNORE.encode())
    _write(root / "package.json", b'{"name": "bench-monorepo", "private": true}\n')
    count = 2
    written = 0
    packages = [f"packages/pkg-{i:02d}" for i in range(24)] + ["apps/web", "apps/admin"]
    folders: list[str] = []
    for pkg in packages:
        (root / pkg).mkdir(parents=True)
        _write(root / pkg / ".gitignore", PACKAGE_GITIGNORE.encode())
        _write(root / pkg / "package.json", b'{"name": "%s"}\n' % pkg.encode())
        count += 2
        folders.extend(_dirs(rng, f"{pkg}/src", (files // 15) // len(packages)))
    folders += ["public", "public/assets", "public/fonts", "scripts", "docs", "docs/img"]
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    n_binary = files // 12
    n_big = 12
    n_text = files - count - n_binary - n_big - 40
    plan: list[tuple[str, int, int]] = []  # folder, size, mode
    for i in range(n_text):
        folder = rng.choice(folders)
        name = rng.choice(BARE_NAMES) if i % 400 == 0 else f"f{i}{rng.choice(TEXT_EXT)}"
        mode = 0o755 if folder == "scripts" or i % 997 == 0 else 0o644
        plan.append((f"{folder}/{name}", _lognormal(rng, 2_500, 1.0, 256 << 10), mode))
    for i in range(n_binary):
        folder = rng.choice(["public/assets", "public/fonts", "docs/img", rng.choice(folders)])
        plan.append(
            (
                f"{folder}/b{i}{rng.choice(BINARY_EXT)}",
                _lognormal(rng, 24_000, 1.6, 24 << 20),
                0o644,
            )
        )
    planned = sum(size for _, size, _ in plan)
    big = max(1, (total - planned) // n_big)
    plan += [(f"public/media/clip-{i}.mp4", big, 0o644) for i in range(n_big)]
    (root / "public/media").mkdir()
    for rel, size, mode in plan:
        _write(root / rel, content.take(size), mode)
        written += size
    count += len(plan)
    for i in range(40):  # 40 small files under a folder reached through a symlink below
        _write(root / f"public/assets/robots-{i}.txt", b"User-agent: *\n" + bytes([i]))
        written += 15
    count += 40
    links = 0
    for i in range(10):
        (root / f"public/latest-{i}.mp4").symlink_to(f"media/clip-{i}.mp4")
        links += 1
    (root / "apps/web/src/shared").symlink_to("../../../packages/pkg-00/src")
    links += 1
    # node_modules: excluded by record's defaults; pruned by the peer
    nm = root / "node_modules"
    for i in range(3_000):
        pkg = nm / f"dep-{i // 20}" / "lib"
        pkg.mkdir(parents=True, exist_ok=True)
        _write(pkg / f"m{i}.js", content.take(_lognormal(rng, 3_000, 1.0, 64 << 10)))
    return Tree(root, count, links, written)


def make_dist(dist: Path, source: Path, seed: int, files: int, total: int) -> Tree:
    """A Vite-like bundle: hashed chunks with source maps, CSS, images, fonts and media, the
    build id in ``index.html`` and the entry chunks, and ``public/`` files copied verbatim
    with their old mtimes (``cp -p``), which seal must exempt."""
    rng = random.Random(seed)
    content = Content(rng)
    (dist / "assets").mkdir(parents=True)
    canary = f'window.__BUILDGUARD_BUILD_ID__="{BUILD_ID}";'.encode()
    _write(dist / "index.html", b"<!doctype html><script>" + canary + b"</script>\n")
    written = 0
    copied = 0
    for path in sorted((source / "public/assets").glob("robots-*.txt")):
        target = dist / path.name
        shutil.copyfile(path, target)
        os.utime(target, (OLD, OLD))
        written += path.stat().st_size
        copied += 1
    n_big = 10
    plan: list[tuple[str, int]] = []
    for i in range(files - 1 - copied - n_big):
        kind = i % 10
        if kind < 4:
            plan.append((f"assets/chunk-{i:05x}.js", _lognormal(rng, 20_000, 1.2, 4 << 20)))
        elif kind < 7:
            plan.append((f"assets/chunk-{i - 4:05x}.js.map", _lognormal(rng, 50_000, 1.2, 8 << 20)))
        elif kind == 7:
            plan.append((f"assets/style-{i:05x}.css", _lognormal(rng, 8_000, 1.0, 1 << 20)))
        elif kind == 8:
            plan.append(
                (
                    f"assets/img-{i:05x}{rng.choice(('.png', '.webp', '.svg', '.jpg'))}",
                    _lognormal(rng, 60_000, 1.4, 8 << 20),
                )
            )
        else:
            plan.append((f"assets/font-{i:05x}.woff2", _lognormal(rng, 40_000, 0.5, 1 << 20)))
    planned = sum(size for _, size in plan)
    big = max(1, (total - planned) // n_big)
    plan += [(f"media/intro-{i}.mp4", big) for i in range(n_big)]
    (dist / "media").mkdir()
    for i, (rel, size) in enumerate(plan):
        data = content.take(size)
        if rel.endswith(".js") and i % 50 == 0:
            data = canary + data
        _write(dist / rel, data)
        written += len(data)
    return Tree(dist, 1 + copied + len(plan), 0, written)


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Sample:
    seconds: float
    maxrss_mb: float
    cpu: float  # user + system seconds of the command and the children it waited for


def timed(cmd: Sequence[str], cwd: Path, log: Path, env: dict[str, str]) -> Sample:
    """Wall time around spawn..reap; peak RSS from GNU time (the largest single process the
    command waited for; not our own ``wait4``, which a child forked from this big process
    would inherit as its high-water mark)."""
    rss_file = log.with_suffix(".rss")
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [TIME, "-f", "%M %U %S", "-o", str(rss_file), *cmd],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, _ = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(
            f"`{' '.join(cmd)}` exited {code}; see {log}:\n"
            + log.read_text(errors="replace")[-3000:]
        )
    rss, user, system = rss_file.read_text().split()[-3:]
    return Sample(seconds, int(rss) / 1024.0, float(user) + float(system))


def peer_cmd(root: Path, hashes_to: str = "/dev/null") -> list[str]:
    prune = f"-path {root}/node_modules -prune -o " if (root / "node_modules").exists() else ""
    return [
        "bash",
        "-c",
        f"set -o pipefail; find {root} {prune}-type f -print0 "
        f"| xargs -0 -P2 sha256sum > {hashes_to}",
    ]


@dataclass
class Result:
    what: str
    tree: Tree
    samples: dict[str, list[Sample]]  # contender → its timed runs; "peer" among them


def alternate(
    what: str,
    tree: Tree,
    contenders: dict[str, tuple[list[str], dict[str, str]]],
    cwd: Path,
    work: Path,
    runs: int,
    after_ours: list[Path],
) -> Result:
    """Each round runs every contender once, in an order rotated from round to round."""
    samples: dict[str, list[Sample]] = {name: [] for name in contenders}
    names = list(contenders)
    for i in range(runs):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            cmd, env = contenders[name]
            log = work / f"{what}-{name.replace(' ', '-')}-{i}.log"
            # untimed first: whatever the other sessions on this machine did to the page
            # cache meanwhile, each timed run finds the tree warm
            for _ in range(2):  # the first is the untimed warm-up; the second counts
                sample = timed(cmd, cwd, log, env)
                if name != "peer":
                    for path in after_ours:
                        path.unlink(missing_ok=True)
            samples[name].append(sample)
        print(
            f"  run {i + 1}: " + ", ".join(f"{n} {samples[n][-1].seconds:.2f} s" for n in names),
            flush=True,
        )
    return Result(what, tree, samples)


def check_hashes(listing: Path, root: Path, files: dict[str, str], symlinks: int) -> None:
    """The peer's sha256sum output must name the same regular files with the same digests."""
    peer = {}
    for line in listing.read_text().splitlines():
        digest, _, path = line.partition("  ")
        peer[os.path.relpath(path, root)] = digest
    ours_regular = {p: d for p, d in files.items() if p in peer}
    if ours_regular != peer or len(files) != len(peer) + symlinks:
        raise RuntimeError(
            f"buildguard and the peer disagree on {root}: "
            f"{len(files)} vs {len(peer)} (+{symlinks} symlinks) files"
        )


def report(results: list[Result]) -> None:
    print()
    head = (
        f"{'work':<7} {'files':>6} {'MiB':>4} {'contender':<20} {'median s':>8} "
        f"{'min-max s':>11} {'÷ peer':>6} {'CPU s':>5} {'÷ peer':>6} {'RSS MB':>6}  verdict"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        peer = statistics.median(s.seconds for s in r.samples["peer"])
        peer_cpu = statistics.median(s.cpu for s in r.samples["peer"])
        files = r.tree.files + r.tree.symlinks
        for name, runs in r.samples.items():
            median = statistics.median(s.seconds for s in runs)
            spread = f"{min(s.seconds for s in runs):.2f}-{max(s.seconds for s in runs):.2f}"
            rss = max(s.maxrss_mb for s in runs)
            cpu = statistics.median(s.cpu for s in runs)
            verdict = ""
            if name == "buildguard":
                verdict = f"ratio {'PASS' if median / peer <= TARGET_RATIO else 'FAIL'}"
                if r.what == "record":
                    verdict += f", RSS {'PASS' if rss < TARGET_RSS_MB else 'FAIL'}"
            print(
                f"{r.what:<7} {files:>6} {r.tree.bytes / 2**20:>4.0f} {name:<20} "
                f"{median:>8.2f} {spread:>11} {median / peer:>6.2f} {cpu:>5.2f} "
                f"{cpu / peer_cpu:>6.2f} {rss:>6.1f}  {verdict}"
            )
    print(
        "CPU s: user + system of the command and its children (median); on a machine "
        "whose cores others keep busy, wall time follows it more than parallelism"
    )
    print(
        f"medians (min-max) of alternating runs; targets: buildguard ÷ peer <= "
        f"{TARGET_RATIO}, record peak RSS < {TARGET_RSS_MB:.0f} MB; load average now "
        f"{os.getloadavg()[0]:.2f}"
    )


def contenders(
    ours: list[str], root: Path, env: dict[str, str], args: argparse.Namespace
) -> dict[str, tuple[list[str], dict[str, str]]]:
    found = {"buildguard": (ours, env), "peer": (peer_cmd(root), env)}
    if args.modes:
        found["buildguard threads"] = (ours, {**env, "BUILDGUARD_HASH_MODE": "thread"})
        found["buildguard 1 core"] = (ours, {**env, "BUILDGUARD_HASH_MODE": "inline"})
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per contender")
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes, 2 runs")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--only", choices=("record", "seal"), help="run one of the two")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where to write the trees (default: /dev/shm when it is a "
        "writable tmpfs, else the temp dir)",
    )
    parser.add_argument(
        "--modes",
        action="store_true",
        help="also time buildguard with threads and with one core "
        "($BUILDGUARD_HASH_MODE=thread / inline)",
    )
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    runs = 2 if args.quick and args.runs == 5 else args.runs
    for tool in ("find", "xargs", "sha256sum", "bash", TIME):
        if shutil.which(tool) is None:
            print(f"bench: {tool} not found", file=sys.stderr)
            return 2
    # installed code has its bytecode compiled; an editable checkout may not
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "buildguard")], check=True)
    shm = Path("/dev/shm")
    base = args.dir or (shm if shm.is_dir() and os.access(shm, os.W_OK) else None)
    work = Path(tempfile.mkdtemp(prefix="bg-bench-record-", dir=base))
    print(f"trees in {work}", flush=True)
    env = {**os.environ, "BUILD_ID": BUILD_ID, "COMMIT_SHA": COMMIT}
    try:
        t0 = time.perf_counter()
        src = make_source_tree(work / "app", 1, 50_000 // scale, (775 << 20) // scale)
        print(
            f"source tree: {src.files} files + {src.symlinks} symlinks, "
            f"{src.bytes / 2**20:.0f} MiB (+ node_modules) in "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        record_json = work / "record.json"
        record = [
            str(BUILDGUARD),
            "record",
            str(src.root),
            "--out",
            str(record_json),
            "--env-file",
            str(work / "build.env"),
        ]
        # untimed: warms the page cache for both and checks that both hash the same files
        timed(record, work, work / "record-warm.log", env)
        timed(peer_cmd(src.root, str(work / "peer-src.txt")), work, work / "peer-warm.log", env)
        rec = json.loads(record_json.read_text())
        check_hashes(
            work / "peer-src.txt",
            src.root,
            {f["path"]: f["sha256"] for f in rec["files"]},
            src.symlinks,
        )
        results = []
        if args.only in (None, "record"):
            print("record:", flush=True)
            results.append(
                alternate(
                    "record", src, contenders(record, src.root, env, args), work, work, runs, []
                )
            )
        if args.only in (None, "seal"):
            timed(record, work, work / "record-final.log", env)  # started before the build
            time.sleep(2.1)
            t0 = time.perf_counter()
            dist = make_dist(src.root / "dist", src.root, 2, 5_000 // scale, (750 << 20) // scale)
            print(
                f"dist: {dist.files} files, {dist.bytes / 2**20:.0f} MiB in "
                f"{time.perf_counter() - t0:.0f} s",
                flush=True,
            )
            manifest = dist.root / "buildguard-manifest.json"
            seal = [str(BUILDGUARD), "seal", str(dist.root), "--record", str(record_json)]
            timed(seal, work, work / "seal-warm.log", env)
            sealed = json.loads(manifest.read_text())
            manifest.unlink()
            timed(
                peer_cmd(dist.root, str(work / "peer-dist.txt")),
                work,
                work / "peer-dist-warm.log",
                env,
            )
            check_hashes(
                work / "peer-dist.txt",
                dist.root,
                {f["path"]: f["sha256"] for f in sealed["files"]},
                0,
            )
            print("seal:", flush=True)
            results.append(
                alternate(
                    "seal",
                    dist,
                    contenders(seal, dist.root, env, args),
                    work,
                    work,
                    runs,
                    [manifest],
                )
            )
        report(results)
        return 0
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
