"""The example Vite app, installed once per session and copied per test."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vite-app"


def install_app(root: Path) -> Path:
    """Copy the example into ``root`` and `npm ci` it (real npm, real packages)."""
    npm = shutil.which("npm")
    assert npm, "npm is required for the end-to-end tests (Node 20 + npm)"
    shutil.copytree(
        EXAMPLE, root, ignore=shutil.ignore_patterns("node_modules", "dist", ".buildguard")
    )
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=root,
        check=True,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )
    return root


def copy_app(installed: Path, root: Path) -> Path:
    """A private copy of an installed app; node_modules is hard-linked, not copied."""
    shutil.copytree(installed, root, ignore=shutil.ignore_patterns("node_modules"), symlinks=True)
    subprocess.run(["cp", "-al", str(installed / "node_modules"), str(root)], check=True)
    return root


def npm_build(app: Path, *, with_env_file: bool = True) -> None:
    """`npm run build`, loading .buildguard/build.env first as a pipeline would."""
    load = "set -a; . .buildguard/build.env; set +a; " if with_env_file else ""
    env = {k: v for k, v in os.environ.items() if "BUILDGUARD" not in k}
    subprocess.run(
        ["sh", "-c", f"{load}npm run build"],
        cwd=app,
        check=True,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=600,
    )
