"""verify end to end: real Vite build, real dockerd images, real registry, installed CLI.

One sealed build of the example app (module scope) is packed into several images, each
reproducing a way the incident (or a cousin of it) happens.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
from clitools import buildguard_cli
from imagecorpus import write_layout
from services import Dockerd, Registry
from viteapp import copy_app, npm_build

pytestmark = [pytest.mark.docker, pytest.mark.npm]

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
BUILD_1 = "e2e-verify-build-0001"
BUILD_2 = "e2e-verify-build-0002"
COMMIT_1 = "1" * 40
COMMIT_2 = "2" * 40
SERVE = "/app/v5-frontend"


@dataclass
class Sealed:
    app: Path
    dist: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def sealed(installed_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Sealed:
    app = copy_app(installed_app, tmp_path_factory.mktemp("verify") / "app")
    env = {"BUILD_ID": BUILD_1, "COMMIT_SHA": COMMIT_1}
    done = buildguard_cli("record", "--clean", "dist", cwd=app, env=env)
    assert done.returncode == 0, done.stderr
    npm_build(app)
    done = buildguard_cli("seal", "dist", cwd=app)
    assert done.returncode == 0, done.stderr
    return Sealed(app, app / "dist", env)


def build_image(
    dockerd: Dockerd,
    base: str,
    tmp_path: Path,
    tag: str,
    steps: list[str],
    folders: dict[str, Path],
) -> None:
    context = tmp_path / f"ctx-{tag.replace('/', '_').replace(':', '_')}"
    context.mkdir()
    for name, folder in folders.items():
        shutil.copytree(folder, context / name, symlinks=True)  # copy2: mtimes kept
    (context / "Dockerfile").write_text("\n".join([f"FROM {base}", *steps]) + "\n")
    dockerd.build(context, tag, "--no-cache")


def push(dockerd: Dockerd, tag: str) -> str:
    done = dockerd.docker("push", tag)
    digest = next(w for w in done.stdout.split() if w.startswith("sha256:"))
    return digest


def verify(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return buildguard_cli("verify", *args, cwd=cwd, env=env)


def json_report(done: subprocess.CompletedProcess[str]) -> dict:  # type: ignore[type-arg]
    report = json.loads(done.stdout)
    schema = json.loads((SCHEMAS / "verify-report.schema.json").read_text())
    jsonschema.validate(report, schema)
    return report  # type: ignore[no-any-return]


def codes(report: dict, severity: str = "error") -> set[str]:  # type: ignore[type-arg]
    return {f["code"] for f in report["findings"] if f["severity"] == severity}


def test_fresh_image_passes_by_tag_digest_archive_and_layout(
    sealed: Sealed, dockerd: Dockerd, base_image: str, registry: Registry, tmp_path: Path
) -> None:
    tag = f"{registry.host}/frontend:fresh"
    build_image(dockerd, base_image, tmp_path, tag, [f"COPY dist {SERVE}"], {"dist": sealed.dist})
    digest = push(dockerd, tag)
    by_tag = verify(tag, "--json", cwd=sealed.app, env=sealed.env)
    assert by_tag.returncode == 0, by_tag.stderr
    report = json_report(by_tag)
    assert report["ok"] is True
    assert report["image"]["digest"] == digest
    assert [b["root"] for b in report["bundles"]] == [SERVE]
    assert report["bundles"][0]["build_id"] == BUILD_1
    assert report["stats"]["files_compared"] >= 3
    assert codes(report) == set() and codes(report, "warning") == set()
    assert "PASS" in by_tag.stderr  # human output goes to stderr with --json

    by_digest = verify(f"{registry.host}/frontend@{digest}", cwd=sealed.app, env=sealed.env)
    assert by_digest.returncode == 0, by_digest.stdout + by_digest.stderr
    assert by_digest.stdout.startswith("PASS")

    archive = tmp_path / "fresh.tar"
    dockerd.docker("save", "-o", str(archive), tag)
    layout = tmp_path / "layout"
    subprocess.run(
        ["skopeo", "copy", "-q", f"docker-archive:{archive}", f"oci:{layout}:fresh"],
        check=True,
        capture_output=True,
    )
    for ref in (f"docker-archive:{archive}", f"oci-layout:{layout}:fresh"):
        done = verify(ref, "--path", SERVE, cwd=sealed.app, env=sealed.env)
        assert done.returncode == 0, (ref, done.stdout, done.stderr)


def test_the_incident_stale_dist_in_a_new_image(
    sealed: Sealed, dockerd: Dockerd, base_image: str, registry: Registry, tmp_path: Path
) -> None:
    app = copy_app(sealed.app, tmp_path / "app")
    hours_ago = time.time() - (3 * 3600 + 5 * 60)
    for path in (app / "dist").rglob("*"):
        os.utime(path, (hours_ago, hours_ago))
    # the next build: sources change, record runs, the bundler does not
    main_js = app / "src/main.js"
    main_js.write_text(main_js.read_text() + "\nconsole.log('new API paths')\n")
    env = {"BUILD_ID": BUILD_2, "COMMIT_SHA": COMMIT_2}
    assert buildguard_cli("record", cwd=app, env=env).returncode == 0
    tag = f"{registry.host}/frontend:incident"
    build_image(dockerd, base_image, tmp_path, tag, [f"COPY dist {SERVE}"], {"dist": app / "dist"})
    push(dockerd, tag)
    junit = tmp_path / "junit.xml"
    report_file = tmp_path / "report.json"
    done = verify(
        tag, "--json", "--junit", str(junit), "--report", str(report_file), cwd=app, env=env
    )
    assert done.returncode == 1, done.stderr
    report = json_report(done)
    assert report["ok"] is False
    assert json.loads(report_file.read_text()) == report
    assert {"BUILD_ID_MISMATCH", "COMMIT_MISMATCH", "SOURCE_MISMATCH", "FILE_STALE"} <= codes(
        report
    )
    stale = [f for f in report["findings"] if f["code"] == "FILE_STALE"]
    js = [f for f in stale if f["path"].endswith(".js")]
    assert js, stale
    assert js[0]["path"].startswith(f"{SERVE}/assets/index-")
    assert "built 3 h 0" in js[0]["message"] and "before this build started" in js[0]["message"]
    assert "COPY dir:" in js[0]["created_by"] and SERVE in js[0]["created_by"]
    assert js[0]["layer"] == len(report["layers"]) - 1
    assert f"FILE_STALE: {js[0]['path']} was built 3 h 0" in done.stderr
    tree = ET.parse(junit)
    suites = tree.getroot()
    assert int(suites.get("failures", "0")) >= 1
    failed = {c.get("name") for c in suites.iter("testcase") if c.find("failure") is not None}
    assert {"build id", "commit", "source digest"} <= failed


def test_leftover_chunk_extra_allowed_removed_and_overwritten(
    sealed: Sealed, dockerd: Dockerd, base_image: str, registry: Registry, tmp_path: Path
) -> None:
    dist = tmp_path / "dist-leftover"
    shutil.copytree(sealed.dist, dist)
    (dist / "assets/index-OLD1234.js").write_text("old chunk from an earlier build")
    tag = f"{registry.host}/frontend:leftover"
    build_image(dockerd, base_image, tmp_path, tag, [f"COPY dist {SERVE}"], {"dist": dist})
    push(dockerd, tag)
    done = verify(tag, "--json", cwd=sealed.app, env=sealed.env)
    assert done.returncode == 1
    report = json_report(done)
    assert codes(report) == {"FILE_EXTRA"}
    assert [f["path"] for f in report["findings"] if f["code"] == "FILE_EXTRA"] == [
        f"{SERVE}/assets/index-OLD1234.js"
    ]
    assert verify(tag, "--allow-extra", cwd=sealed.app, env=sealed.env).returncode == 0

    removed = f"{registry.host}/frontend:leftover-removed"
    build_image(
        dockerd,
        base_image,
        tmp_path,
        removed,
        [f"COPY dist {SERVE}", f"RUN rm {SERVE}/assets/index-OLD1234.js"],
        {"dist": dist},
    )
    push(dockerd, removed)
    done = verify(removed, cwd=sealed.app, env=sealed.env)
    assert done.returncode == 0, done.stdout

    overwritten = f"{registry.host}/frontend:overwritten"
    build_image(
        dockerd,
        base_image,
        tmp_path,
        overwritten,
        [f"COPY dist {SERVE}", f"RUN echo hacked > {SERVE}/index.html"],
        {"dist": sealed.dist},
    )
    push(dockerd, overwritten)
    done = verify(overwritten, "--json", cwd=sealed.app, env=sealed.env)
    assert done.returncode == 1
    report = json_report(done)
    assert codes(report) == {"FILE_CHANGED"}
    changed = next(f for f in report["findings"] if f["code"] == "FILE_CHANGED")
    assert changed["path"] == f"{SERVE}/index.html"
    assert "echo hacked" in changed["created_by"]
    assert changed["layer"] == len(report["layers"]) - 1


def test_two_bundles_only_the_stale_one_is_named(
    sealed: Sealed, dockerd: Dockerd, base_image: str, registry: Registry, tmp_path: Path
) -> None:
    old = copy_app(sealed.app, tmp_path / "old")
    env = {"BUILD_ID": "e2e-verify-old-0000", "COMMIT_SHA": COMMIT_1}
    assert buildguard_cli("record", "--clean", "dist", cwd=old, env=env).returncode == 0
    npm_build(old)
    assert buildguard_cli("seal", "dist", cwd=old).returncode == 0
    tag = f"{registry.host}/frontend:two"
    build_image(
        dockerd,
        base_image,
        tmp_path,
        tag,
        ["COPY admin /app/admin", f"COPY dist {SERVE}"],
        {"dist": sealed.dist, "admin": old / "dist"},
    )
    push(dockerd, tag)
    done = verify(tag, "--json", cwd=sealed.app, env=sealed.env)
    assert done.returncode == 1
    report = json_report(done)
    assert {b["root"]: b["ok"] for b in report["bundles"]} == {"/app/admin": False, SERVE: True}
    assert {f["bundle"] for f in report["findings"] if f["severity"] == "error"} == {"/app/admin"}
    # --path names the folder actually served: a sealed folder elsewhere cannot vouch for it
    done = verify(tag, "--path", "/app", cwd=sealed.app, env=sealed.env)
    assert done.returncode == 1 and "NO_MANIFEST" in done.stdout
    assert verify(tag, "--path", SERVE, cwd=sealed.app, env=sealed.env).returncode == 0


def test_clamped_timestamps_of_a_reproducible_build_pass(sealed: Sealed, tmp_path: Path) -> None:
    """As kaniko --reproducible / SOURCE_DATE_EPOCH builders do: every mtime is epoch 0."""
    layer = tmp_path / "layer.tar"
    with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as tar:

        def clamp(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            return info

        parts = SERVE.strip("/").split("/")
        for depth in range(1, len(parts)):  # the folders above, as builders write them
            folder = clamp(tarfile.TarInfo("/".join(parts[:depth])))
            folder.type, folder.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(folder)
        tar.add(sealed.dist, arcname=SERVE.lstrip("/"), filter=clamp)
    write_layout(
        tmp_path / "layout",
        [layer.read_bytes()],
        tag="repro",
        history=[{"created": "1970-01-01T00:00:00Z", "created_by": f"COPY dist {SERVE}"}],
    )
    done = verify(
        f"oci-layout:{tmp_path / 'layout'}:repro", "--json", cwd=sealed.app, env=sealed.env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json_report(done)["bundles"][0]["files_compared"] >= 3


def test_exit_codes_2_and_3(sealed: Sealed, registry: Registry, tmp_path: Path) -> None:
    bad_ref = verify("not a reference", cwd=sealed.app, env=sealed.env)
    assert bad_ref.returncode == 2, bad_ref.stderr
    missing_record = verify(
        f"{registry.host}/frontend:fresh", "--record", "nope.json", cwd=sealed.app, env=sealed.env
    )
    assert missing_record.returncode == 2 and "no record at nope.json" in missing_record.stderr
    unknown = verify(f"{registry.host}/does-not-exist:tag", cwd=sealed.app, env=sealed.env)
    assert unknown.returncode == 3, unknown.stderr
    missing = verify(f"docker-archive:{tmp_path / 'missing.tar'}", cwd=sealed.app, env=sealed.env)
    assert missing.returncode == 3 and "Traceback" not in missing.stderr
