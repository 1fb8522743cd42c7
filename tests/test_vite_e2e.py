"""The real thing: the example Vite app built by npm between `record` and `seal`.

`npm ci` runs once per session; each test works in its own copy of the app (node_modules
hard-linked) and drives the installed console script, as a CI pipeline would.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from clitools import buildguard_cli
from viteapp import copy_app, npm_build

pytestmark = pytest.mark.npm


@pytest.fixture
def app(installed_app: Path, tmp_path: Path) -> Path:
    return copy_app(installed_app, tmp_path / "app")


def dist_files(app: Path) -> set[str]:
    return {
        p.relative_to(app / "dist").as_posix()
        for p in (app / "dist").rglob("*")
        if p.is_file() and p.name != "buildguard-manifest.json"
    }


def test_fresh_build_seals_and_lists_every_file(app: Path) -> None:
    env = {"BUILD_ID": "e2e-fresh-0001", "COMMIT_SHA": "1" * 40}
    done = buildguard_cli("record", "--clean", "dist", cwd=app, env=env)
    assert done.returncode == 0, done.stderr
    npm_build(app)
    done = buildguard_cli("seal", "dist", "--require-canary", cwd=app)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((app / "dist/buildguard-manifest.json").read_text())
    assert {f["path"] for f in manifest["files"]} == dist_files(app)
    assert any(p.startswith("assets/") and p.endswith(".js") for p in manifest["canary_files"])
    assert manifest["freshness"] == "canary"
    assert manifest["build_id"] == "e2e-fresh-0001"


def test_skipped_build_fails_and_names_the_stale_files(app: Path) -> None:
    assert (
        buildguard_cli(
            "record", "--clean", "dist", cwd=app, env={"BUILD_ID": "e2e-first-0001"}
        ).returncode
        == 0
    )
    npm_build(app)
    assert buildguard_cli("seal", "dist", cwd=app).returncode == 0
    stale_js = sorted(p for p in dist_files(app) if p.endswith(".js"))
    # that build was hours ago
    past = time.time() - 5 * 3600
    for path in (app / "dist").rglob("*"):
        os.utime(path, (past, past))
    # the next build records (without --clean) and then skips `npm run build`
    assert buildguard_cli("record", cwd=app, env={"BUILD_ID": "e2e-second-0002"}).returncode == 0
    done = buildguard_cli("seal", "dist", cwd=app)
    assert done.returncode == 1, done.stderr
    for name in stale_js:
        assert f"stale: {name}: modified" in done.stderr
    assert "5 h 00 min before this build started" in done.stderr
    assert "record --clean dist" in done.stderr


def test_build_without_the_env_file_fails_the_canary(app: Path) -> None:
    assert (
        buildguard_cli(
            "record", "--clean", "dist", cwd=app, env={"BUILD_ID": "e2e-noenv-0003"}
        ).returncode
        == 0
    )
    npm_build(app, with_env_file=False)
    done = buildguard_cli("seal", "dist", cwd=app)
    assert done.returncode == 1
    assert "canary missing" in done.stderr
    assert not (app / "dist/buildguard-manifest.json").exists()


def test_public_file_copied_with_its_old_mtime_does_not_fail(app: Path) -> None:
    robots = app / "public/robots.txt"
    past = time.time() - 2 * 86400
    os.utime(robots, (past, past))
    assert (
        buildguard_cli(
            "record", "--clean", "dist", cwd=app, env={"BUILD_ID": "e2e-public-0004"}
        ).returncode
        == 0
    )
    npm_build(app)
    subprocess.run(["cp", "-p", str(robots), str(app / "dist/robots.txt")], check=True)
    assert (app / "dist/robots.txt").stat().st_mtime < time.time() - 86400
    done = buildguard_cli("seal", "dist", cwd=app)
    assert done.returncode == 0, done.stderr


def test_run_builds_and_seals_in_one_step(app: Path) -> None:
    done = buildguard_cli(
        "run", "--", "npm", "run", "build", cwd=app, env={"BUILD_ID": "e2e-run-0005"}
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((app / "dist/buildguard-manifest.json").read_text())
    assert {f["path"] for f in manifest["files"]} == dist_files(app)
    assert manifest["freshness"] == "canary"
