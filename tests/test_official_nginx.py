"""verify on images built FROM a base laid out like the official nginx image (issue 20).

The base (tests/support/officialnginx.py) ships index.html and 50x.html in
/usr/share/nginx/html in a layer of its own; `COPY dist /usr/share/nginx/html` leaves 50x.html.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from clitools import buildguard_cli
from cloudbuild_standin import CloudBuildStandIn, build_json
from officialnginx import HTML_ROOT, OfficialNginx, app_image, official_nginx, save_layout
from services import Dockerd, Registry

__all__ = ["official_nginx"]

pytestmark = [pytest.mark.docker]


def test_the_base_has_the_official_layout(
    official_nginx: OfficialNginx, dockerd: Dockerd, tmp_path: Path
) -> None:
    layout = save_layout(dockerd, official_nginx.tag, tmp_path / "layout")
    done = buildguard_cli("inspect", layout, "--path", HTML_ROOT, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    files = {f["path"]: f["layer"] for f in report["files"] if f["type"] == "file"}
    assert files == {
        f"{HTML_ROOT}/index.html": official_nginx.pages_layer,
        f"{HTML_ROOT}/50x.html": official_nginx.pages_layer,
    }
    step = report["layers"][official_nginx.pages_layer]["created_by"]
    assert official_nginx.pages_step in step
    conf = buildguard_cli("inspect", layout, "--path", "/etc/nginx", "--json", cwd=tmp_path)
    conf_files = [f["path"] for f in json.loads(conf.stdout)["files"] if f["type"] == "file"]
    assert conf_files == ["/etc/nginx/conf.d/default.conf"]


# ------------------------------------------------------------- an app on the official base

BUILD_1 = "nginx-e2e-build-0001"
BUILD_2 = "nginx-e2e-build-0002"
COMMIT_1 = "a" * 40
COMMIT_2 = "b" * 40


@dataclass
class App:
    root: Path
    env: dict[str, str]

    @property
    def dist(self) -> Path:
        return self.root / "dist"


def sealed_app(root: Path, build_id: str, commit: str, chunks: int = 2) -> App:
    """A small app recorded, built and sealed through the CLI: sources in src/, a build
    that writes dist/index.html (carrying the build id, the canary) and ``chunks`` scripts."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src/main.js").write_text(f"console.log('sources of {build_id}')\n")
    env = {"BUILD_ID": build_id, "COMMIT_SHA": commit}
    done = buildguard_cli("record", "--clean", "dist", cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    (root / "dist/assets").mkdir(parents=True)
    scripts = "".join(
        f'<script src="/assets/chunk-{i:04d}.js"></script>' for i in range(min(chunks, 5))
    )
    (root / "dist/index.html").write_text(f"<!doctype html><!-- {build_id} -->{scripts}\n")
    for i in range(chunks):
        (root / f"dist/assets/chunk-{i:04d}.js").write_text(f"console.log({i}, '{build_id}')\n")
    done = buildguard_cli("seal", "dist", cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    return App(root, env)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> App:
    return sealed_app(tmp_path_factory.mktemp("nginx-app") / "app", BUILD_1, COMMIT_1)


def refs(dockerd: Dockerd, tag: str, tmp_path: Path) -> list[str]:
    """The image as the daemon holds it and as an OCI layout (docker save + skopeo)."""
    return [f"docker-daemon:{tag}", save_layout(dockerd, tag, tmp_path / "layout")]


def verify(ref: str, *args: str, app: App, dockerd: Dockerd) -> subprocess.CompletedProcess[str]:
    return buildguard_cli("verify", ref, *args, cwd=app.root, env={**app.env, **dockerd.env})


def test_copy_over_the_official_base_keeps_50x_html_named_with_both_fixes(
    app: App, official_nginx: OfficialNginx, dockerd: Dockerd, tmp_path: Path
) -> None:
    tag = app_image(
        dockerd,
        tmp_path,
        "buildguard-test/nginx-app:copy",
        [f"COPY dist {HTML_ROOT}"],
        {"dist": app.dist},
        base=official_nginx.tag,
    )
    for ref in refs(dockerd, tag, tmp_path):
        done = verify(ref, "--json", app=app, dockerd=dockerd)
        assert done.returncode == 1, (ref, done.stderr)
        report = json.loads(done.stdout)
        errors = [f for f in report["findings"] if f["severity"] == "error"]
        assert [(f["code"], f["path"]) for f in errors] == [
            ("FILE_EXTRA", f"{HTML_ROOT}/50x.html")
        ], errors
        extra = errors[0]
        assert extra["layer"] == official_nginx.pages_layer
        assert official_nginx.pages_step in extra["created_by"]
        assert (
            "base image" in extra["message"]
            and "that wrote the bundle's manifest" in (extra["message"])
        )
        assert f"RUN rm -rf {HTML_ROOT}/* before the COPY" in extra["hint"]
        assert "--allow-extra 50x.html" in extra["hint"]
        assert f"hint: {extra['hint']}" in done.stderr  # the text report prints it

        allowed = verify(ref, "--allow-extra", "50x.html", "--json", app=app, dockerd=dockerd)
        assert allowed.returncode == 0, allowed.stderr
        infos = [f for f in json.loads(allowed.stdout)["findings"] if f["code"] == "FILE_EXTRA"]
        assert [f["severity"] for f in infos] == ["info"]
        assert verify(ref, "--allow-extra=50x.html", app=app, dockerd=dockerd).returncode == 0
        other = verify(ref, "--allow-extra", "other.html", app=app, dockerd=dockerd)
        assert other.returncode == 1, other.stdout
        assert "FILE_EXTRA" in other.stdout
        assert verify(ref, "--allow-extra", app=app, dockerd=dockerd).returncode == 0


def test_rm_rf_before_the_copy_passes_with_no_flag(
    app: App, official_nginx: OfficialNginx, dockerd: Dockerd, tmp_path: Path
) -> None:
    tag = app_image(
        dockerd,
        tmp_path,
        "buildguard-test/nginx-app:clean",
        [f"RUN rm -rf {HTML_ROOT}/*", f"COPY dist {HTML_ROOT}"],
        {"dist": app.dist},
        base=official_nginx.tag,
    )
    for ref in refs(dockerd, tag, tmp_path):
        done = verify(ref, app=app, dockerd=dockerd)
        assert done.returncode == 0, (ref, done.stdout, done.stderr)
        assert done.stdout.startswith("PASS")


def test_a_300_file_stale_bundle_reads_in_a_screen_and_json_keeps_every_finding(
    official_nginx: OfficialNginx, dockerd: Dockerd, tmp_path: Path
) -> None:
    """The incident at scale: build 1 sealed 300 chunks; build 2 records new sources, its
    bundler does not run, and the old dist goes into the image."""
    old = sealed_app(tmp_path / "app", BUILD_1, COMMIT_1, chunks=300)
    hours_ago = time.time() - (3 * 3600 + 5 * 60)
    for path in old.dist.rglob("*"):
        os.utime(path, (hours_ago, hours_ago))
    (old.root / "src/main.js").write_text("console.log('new API paths')\n")
    env = {"BUILD_ID": BUILD_2, "COMMIT_SHA": COMMIT_2}
    assert buildguard_cli("record", cwd=old.root, env=env).returncode == 0
    this = App(old.root, env)
    tag = app_image(
        dockerd,
        tmp_path,
        "buildguard-test/nginx-app:stale",
        [f"RUN rm -rf {HTML_ROOT}/*", f"COPY dist {HTML_ROOT}"],
        {"dist": old.dist},
        base=official_nginx.tag,
    )
    ref = f"docker-daemon:{tag}"
    done = verify(ref, app=this, dockerd=dockerd)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) <= 30, done.stdout
    header = next(i for i, line in enumerate(lines) if line.startswith(f"bundle {HTML_ROOT}:"))
    whose = lines[header + 1]
    assert whose.startswith(
        f"  this bundle is build {BUILD_1}'s, not this build's ({BUILD_2}), sealed "
    ), whose
    assert whose.endswith(" before this build's record"), whose
    assert sum(" FILE_STALE: " in line for line in lines) == 10
    assert "  … and 291 more FILE_STALE (every finding is in --json)" in lines

    report_file = tmp_path / "report.json"
    done = verify(ref, "--json", "--report", str(report_file), app=this, dockerd=dockerd)
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert json.loads(report_file.read_text()) == report
    stale = [f for f in report["findings"] if f["code"] == "FILE_STALE"]
    assert len(stale) == 301  # 300 chunks and index.html
    assert len(report["findings"]) >= 304
    assert {"BUILD_ID_MISMATCH", "COMMIT_MISMATCH", "SOURCE_MISMATCH"} <= {
        f["code"] for f in report["findings"]
    }


def test_pushed_to_a_registry_and_verified_from_the_build_the_globs_apply(
    app: App,
    official_nginx: OfficialNginx,
    dockerd: Dockerd,
    registry: Registry,
    tmp_path: Path,
) -> None:
    """The same image pushed to the loopback registry, verified by digest and through
    ``--from-build`` (the real google-cloud-build client against the loopback stand-in)."""
    tag = app_image(
        dockerd,
        tmp_path,
        f"{registry.host}/nginx-app/site:copy",
        [f"COPY dist {HTML_ROOT}"],
        {"dist": app.dist},
        base=official_nginx.tag,
    )
    pushed = dockerd.docker("push", tag).stdout
    digest = next(w for w in pushed.split() if w.startswith("sha256:"))
    by_digest = f"{registry.host}/nginx-app/site@{digest}"
    done = verify(by_digest, app=app, dockerd=dockerd)
    assert done.returncode == 1 and "FILE_EXTRA" in done.stdout, done.stdout
    assert f"(RUN rm -rf {HTML_ROOT}/* before the COPY)" in done.stdout
    assert verify(by_digest, "--allow-extra", "50x.html", app=app, dockerd=dockerd).returncode == 0

    (tmp_path / "docker-config").mkdir()
    with CloudBuildStandIn() as cloudbuild:
        cloudbuild.add(
            build_json(
                BUILD_1,
                "nginx-project",
                [(f"{registry.host}/nginx-app/site:copy", digest)],
                commit=COMMIT_1,
            )
        )
        env = {
            "BUILDGUARD_CLOUDBUILD_EMULATOR_HOST": cloudbuild.host,
            "PROJECT_ID": "nginx-project",
            "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "no-such-adc.json"),
            "DOCKER_CONFIG": str(tmp_path / "docker-config"),
        }

        def from_build(*args: str) -> subprocess.CompletedProcess[str]:
            return buildguard_cli("verify", "--from-build", BUILD_1, *args, cwd=tmp_path, env=env)

        assert from_build().returncode == 1
        assert from_build("--allow-extra", "50x.html").returncode == 0
        assert from_build("--allow-extra", "other.html").returncode == 1
        assert from_build("--allow-extra", "a\\").returncode == 2
