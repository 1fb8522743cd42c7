"""Sealed builds of the example Vite app for the verify-live tests, and nginx configs.

The app gets a lazily imported module (``src/lazy.js``) in the test's copy, so the bundle
has a chunk that only the entry script references (as real apps do). Each build is the
pipeline's: ``buildguard record --clean dist``, ``npm run build`` with the build env,
``buildguard seal dist``.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import brotli
import zstandard
from clitools import buildguard_cli
from viteapp import copy_app

LAZY = "export function show(el) { el.title = 'lazy chunk' }\n"
IMPORT_LAZY = "import('./lazy.js').then((m) => m.show(document.querySelector('#app')))\n"


@dataclass(frozen=True)
class Build:
    build_id: str
    dist: Path
    base: str

    @property
    def manifest(self) -> dict[str, object]:
        data: dict[str, object] = json.loads((self.dist / "buildguard-manifest.json").read_text())
        return data

    def file(self, prefix: str, suffix: str) -> str:
        """The one bundle path starting with ``prefix`` and ending with ``suffix``."""
        found = [
            p.relative_to(self.dist).as_posix()
            for p in self.dist.rglob("*")
            if p.is_file()
            and p.relative_to(self.dist).as_posix().startswith(prefix)
            and p.name.endswith(suffix)
        ]
        assert len(found) == 1, found
        return found[0]


def build_app(installed: Path, work: Path, build_id: str, base: str = "/") -> Build:
    """Copy the installed example app, add the lazy chunk, record, build, seal."""
    app = copy_app(installed, work / f"app-{build_id}")
    (app / "src/lazy.js").write_text(LAZY)
    with open(app / "src/main.js", "a") as main:
        main.write(IMPORT_LAZY)
    env = {"BUILD_ID": build_id, "COMMIT_SHA": "c" * 40}
    done = buildguard_cli("record", "--clean", "dist", cwd=app, env=env)
    assert done.returncode == 0, done.stderr
    clean_env = {k: v for k, v in os.environ.items() if "BUILDGUARD" not in k}
    subprocess.run(
        ["sh", "-c", f"set -a; . .buildguard/build.env; set +a; npm run build -- --base {base}"],
        cwd=app,
        check=True,
        env=clean_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=600,
    )
    done = buildguard_cli("seal", "dist", cwd=app)
    assert done.returncode == 0, done.stderr
    return Build(build_id, app / "dist", base)


def precompress(root: Path, how: str) -> None:
    """Write FILE.gz / FILE.br / FILE.zst beside every file (as a build plugin would)."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if how == "gz":
            packed = gzip.compress(data, mtime=0)
        elif how == "br":
            packed = brotli.compress(data)
        else:
            packed = zstandard.ZstdCompressor().compress(data)
        target = path.with_name(path.name + "." + how)
        target.write_bytes(packed)
        target.chmod(0o644)


def swap_symlink(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically (a deploy switching folders)."""
    tmp = link.with_name(link.name + ".new")
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(target)
    os.replace(tmp, link)


def copy_build(build: Build, target: Path) -> Path:
    shutil.copytree(build.dist, target)
    return target


TEXT_TYPES = "text/css application/javascript text/javascript text/plain"

SPA = "location / { try_files $uri $uri/ /index.html; }"
PLAIN = "location / { try_files $uri $uri/ =404; }"
GZIP = f"gzip on; gzip_min_length 1; gzip_types {TEXT_TYPES}; {PLAIN}"
BROTLI = f"brotli on; brotli_min_length 1; brotli_types {TEXT_TYPES}; {PLAIN}"
GZIP_STATIC = f"gzip_static always; {PLAIN}"
BROTLI_STATIC = f"brotli_static always; {PLAIN}"
# nginx has no zstd module here: serve FILE.zst for FILE, labelled as zstd
ZSTD_STATIC = (
    " ".join(
        f"location ~ ^(?<file>/.+\\.{ext})$ {{ types {{ }} default_type {mime};"
        " add_header Content-Encoding zstd; try_files $file.zst =404; }"
        for ext, mime in (("js", "application/javascript"), ("css", "text/css"))
    )
    + f" {PLAIN}"
)
