"""The benchmarks' sealed bundle: a real ``buildguard record`` + dist + ``buildguard seal``."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchcontent import Pools

REPO = Path(__file__).resolve().parent.parent
BUILDGUARD = str(REPO / ".venv" / "bin" / "buildguard")
COMMIT = "5e1f2b3c4d5e6f708192a3b4c5d6e7f801234567"
IMAGE_PATH = "/app/v5-frontend"


def run_checked(
    cmd: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    """Run ``cmd`` to its end; raise with its output if it fails."""
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


@dataclass(frozen=True)
class SealedApp:
    """An app dir whose ``dist/`` was sealed by buildguard for ``build_id``."""

    root: Path
    build_id: str
    files: dict[str, str]
    """``{path relative to dist: sha256}`` of every dist file."""

    @property
    def dist(self) -> Path:
        return self.root / "dist"

    @property
    def record(self) -> Path:
        return self.root / ".buildguard" / "record.json"

    def verify_args(self) -> list[str]:
        """The options of a ``buildguard verify`` that must pass for this build."""
        return [
            "--path",
            IMAGE_PATH,
            "--expect-build-id",
            self.build_id,
            "--expect-commit",
            COMMIT,
            "--record",
            str(self.record),
        ]


def make_sealed_app(app: Path, build_id: str, seed: int = 4242) -> SealedApp:
    """Sources, ``record --clean dist``, ~2.5 MB of dist (36 files), ``seal dist``."""
    (app / "src").mkdir(parents=True)
    (app / "src" / "main.js").write_text(
        "window.__BUILDGUARD_BUILD_ID__ = import.meta.env.VITE_BUILDGUARD_BUILD_ID;\n"
    )
    (app / "src" / "style.css").write_text("body { margin: 0 }\n")
    (app / "index.html").write_text("<!doctype html><script src='/src/main.js'></script>\n")
    (app / "package.json").write_text('{"name": "v5-frontend", "private": true}\n')
    (app / "dist" / "assets").mkdir(parents=True)
    (app / "dist" / "old.js").write_text("stale output, removed by --clean\n")
    env = {**os.environ, "BUILD_ID": build_id, "COMMIT_SHA": COMMIT}
    run_checked([BUILDGUARD, "record", "--clean", "dist"], cwd=app, env=env)
    pools = Pools(seed)
    dist = app / "dist"
    (dist / "assets").mkdir(parents=True, exist_ok=True)
    canary = f'window.__BUILDGUARD_BUILD_ID__="{build_id}";'.encode()
    files: dict[str, bytes] = {
        "index.html": (
            f'<!doctype html><html><head><meta name="build" content="{build_id}">'
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
    run_checked([BUILDGUARD, "seal", "dist"], cwd=app, env=env)
    digests = {
        p.relative_to(dist).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(dist.rglob("*"))
        if p.is_file()
    }
    return SealedApp(app, build_id, digests)
