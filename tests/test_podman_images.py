"""Images built by buildah 1.28 / saved by podman 4.3 (issue 8), verified through the CLI.

Built once per session (builds are slow) in a private containers-storage (``--root`` in a
temp dir, vfs driver), from a busybox base made here (nothing is pulled), with
``--timestamp 0 --no-cache`` (clamped timestamps) and the ulimits RUN needs on this
machine. Each image holds a bundle sealed by the real ``buildguard seal``. Written out as
OCI layouts (``buildah push … oci:DIR:localhost/app:TAG``, gzip, zstd), an uncompressed
Docker-format image (``podman save --format docker-dir`` + ``skopeo copy --preserve-digests``
into a layout), ``podman save --format docker-archive`` and ``--format oci-dir``.

The points of the issue: a fresh image passes in every format (Docker format with
uncompressed layers included); ``oci-layout:DIR:localhost/app:fresh`` selects the image
whose ref name holds a colon; a short tag matching two images is an "ambiguous" exit 3 that
lists the full names (in either order of index.json); a stale bundle with clamped
timestamps gives one clamp note, not a FILE_STALE per file; a later ``chmod 600`` and a lost
exec bit are findings; a FILE_MISSING caused by a whiteout names the deleting layer;
``--platform all`` prints each finding under its own platform's bundle only.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from clitools import buildguard_cli

pytestmark = pytest.mark.docker

ROOT = "/app/v5-frontend"
FRESH_BUILD = "B-podman-000002"
STALE_BUILD = "B-podman-000001"
COMMIT_FRESH = "f" * 40
COMMIT_STALE = "e" * 40
RUN_LIMITS = ("--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096")
APPLETS = ("sh", "rm", "cp", "mkdir", "ln", "ls", "cat", "echo", "touch", "mv", "chmod")


@dataclass
class Dist:
    dist: Path
    record: Path
    build_id: str
    commit: str


@dataclass
class Built:
    work: Path
    fresh: Dist
    stale: Dist
    refs: dict[str, str]
    """name -> image reference for buildguard."""


def _run(args: Sequence[str], *, cwd: Path | None = None, timeout: float = 600) -> str:
    done = subprocess.run(
        list(args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _seal(work: Path, build_id: str, commit: str, marker: str) -> Dist:
    (work / "src").mkdir(parents=True)
    (work / "src" / "main.js").write_text(f"export const marker = '{marker}'\n")
    record = work / "record.json"
    done = buildguard_cli(
        "record",
        "src",
        "--out",
        str(record),
        "--build-id",
        build_id,
        "--commit",
        commit,
        "--env-file",
        str(work / "build.env"),
        cwd=work,
    )
    assert done.returncode == 0, done.stderr
    dist = work / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(f"<!-- {marker} --><script src=/assets/index.js></script>\n")
    (dist / "assets" / "index.js").write_text(f"window.__BUILD__ = '{build_id}' // {marker}\n")
    (dist / "assets" / "style.css").write_text(f"/* {marker} */ body {{ margin: 0 }}\n")
    (dist / "assets" / "run.sh").write_text(f"#!/bin/sh\necho {marker}\n")
    (dist / "assets" / "run.sh").chmod(0o755)
    done = buildguard_cli("seal", "dist", "--record", str(record), cwd=work)
    assert done.returncode == 0, done.stdout + done.stderr
    return Dist(dist, record, build_id, commit)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    for tool in ("buildah", "podman", "skopeo"):
        assert shutil.which(tool), f"{tool} is missing: apt-get install {tool} (scripts/setup)"
    work = tmp_path_factory.mktemp("podman")
    store = [
        "--root",
        str(work / "storage"),
        "--runroot",
        str(work / "run"),
        "--storage-driver",
        "vfs",
    ]

    def buildah(*args: str) -> str:
        return _run(["buildah", *store, *args])

    def podman(*args: str) -> str:
        return _run(["podman", *store, *args])

    rootfs = work / "rootfs"
    (rootfs / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
    for applet in APPLETS:
        (rootfs / "bin" / applet).symlink_to("busybox")
    ctr = buildah("from", "scratch").strip()
    buildah("copy", "--quiet", ctr, str(rootfs), "/")
    buildah("config", "--cmd", "/bin/sh", ctr)
    buildah("commit", "--quiet", ctr, "localhost/bg-busybox:1")
    buildah("rm", ctr)

    fresh = _seal(work / "fresh", FRESH_BUILD, COMMIT_FRESH, "fresh")
    stale = _seal(work / "stale", STALE_BUILD, COMMIT_STALE, "stale")

    def build(tag: str, body: str, *extra: str, context: Dist | None = None) -> None:
        ctx = work / ("ctx-" + re.sub(r"[^a-z0-9]+", "-", tag))
        ctx.mkdir()
        if context is not None:
            shutil.copytree(context.dist, ctx / "dist", symlinks=True)
        (ctx / "Containerfile").write_text(body)
        buildah(
            "bud",
            "--quiet",
            "--pull=never",
            "--no-cache",
            "--timestamp",
            "0",
            *RUN_LIMITS,
            *extra,
            "-t",
            tag,
            str(ctx),
        )

    base = "FROM localhost/bg-busybox:1\nCOPY dist /app/v5-frontend\n"
    build("localhost/app:fresh", base, "--format", "oci", context=fresh)
    build("localhost/app:docker", base, "--format", "docker", context=fresh)
    build("localhost/app:stale", base, context=stale)
    build("localhost/other:fresh", base + "RUN echo other > /other\n", context=stale)
    build(
        "localhost/app:chmod",
        "FROM localhost/app:fresh\n"
        "RUN chmod 600 /app/v5-frontend/assets/index.js"
        " && chmod 644 /app/v5-frontend/assets/run.sh\n",
    )
    build(
        "localhost/app:whiteout",
        "FROM localhost/app:fresh\nRUN rm /app/v5-frontend/assets/style.css\n",
    )
    build(
        "localhost/app:arm64",
        "FROM scratch\nCOPY dist /app/v5-frontend\n",
        "--arch",
        "arm64",
        context=stale,
    )

    out = work / "out"
    out.mkdir()
    refs: dict[str, str] = {}

    def push(image: str, layout: str, name: str, *extra: str) -> None:
        buildah("push", "--quiet", *extra, image, f"oci:{out / layout}:{name}")

    push("localhost/app:fresh", "gzip", "localhost/app:fresh")
    refs["oci-gzip"] = f"oci-layout:{out / 'gzip'}:fresh"
    refs["colon"] = f"oci-layout:{out / 'gzip'}:localhost/app:fresh"
    push("localhost/app:fresh", "zstd", "localhost/app:fresh", "--compression-format", "zstd")
    refs["oci-zstd"] = f"oci-layout:{out / 'zstd'}:fresh"
    push("localhost/app:docker", "docker-gzip", "localhost/app:docker", "--format", "v2s2")
    refs["docker-gzip"] = f"oci-layout:{out / 'docker-gzip'}:docker"
    podman(
        "save", "--quiet", "--format", "docker-dir", "-o", str(out / "ddir"), "localhost/app:docker"
    )
    _run(
        [
            "skopeo",
            "copy",
            "--quiet",
            "--preserve-digests",
            f"dir:{out / 'ddir'}",
            f"oci:{out / 'docker-raw'}:localhost/app:raw",
        ]
    )
    refs["docker-uncompressed"] = f"oci-layout:{out / 'docker-raw'}:raw"
    podman(
        "save",
        "--quiet",
        "--format",
        "docker-archive",
        "-o",
        str(out / "fresh.tar"),
        "localhost/app:fresh",
    )
    refs["podman-docker-archive"] = f"docker-archive:{out / 'fresh.tar'}"
    podman(
        "save", "--quiet", "--format", "oci-dir", "-o", str(out / "ocidir"), "localhost/app:fresh"
    )
    refs["podman-oci-dir"] = f"oci-layout:{out / 'ocidir'}"
    push("localhost/app:fresh", "two", "localhost/app:fresh")
    push("localhost/other:fresh", "two", "localhost/other:fresh")
    refs["two"] = str(out / "two")
    for name in ("stale", "chmod", "whiteout"):
        push(f"localhost/app:{name}", name, f"localhost/app:{name}")
        refs[name] = f"oci-layout:{out / name}:{name}"  # short tags: the colon has its test
    buildah("manifest", "create", "localhost/app:multi")
    buildah("manifest", "add", "localhost/app:multi", "containers-storage:localhost/app:fresh")
    buildah("manifest", "add", "localhost/app:multi", "containers-storage:localhost/app:arm64")
    buildah(
        "manifest",
        "push",
        "--quiet",
        "--all",
        "localhost/app:multi",
        f"oci:{out / 'multi'}:localhost/app:multi",
    )
    refs["multi"] = f"oci-layout:{out / 'multi'}:multi"
    return Built(work, fresh, stale, refs)


def _verify(built: Built, ref: str, *extra: str) -> subprocess.CompletedProcess[str]:
    d = built.fresh
    return buildguard_cli(
        "verify",
        ref,
        "--expect-build-id",
        d.build_id,
        "--expect-commit",
        d.commit,
        "--record",
        str(d.record),
        *extra,
    )


def _report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"no JSON report (exit {done.returncode}):\n{done.stderr}") from None
    assert isinstance(doc, dict)
    return doc


def _media_types(layout: Path) -> list[str]:
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs" / "sha256" / digest).read_text())
    return [layer["mediaType"] for layer in manifest["layers"]]


@pytest.mark.parametrize(
    "form",
    [
        "oci-gzip",
        "oci-zstd",
        "docker-gzip",
        "docker-uncompressed",
        "podman-docker-archive",
        "podman-oci-dir",
    ],
)
def test_a_fresh_image_passes_in_every_format(form: str, built: Built) -> None:
    ref = built.refs[form]
    if form == "docker-uncompressed":
        layout = Path(ref.split(":")[1])
        assert set(_media_types(layout)) == {"application/vnd.docker.image.rootfs.diff.tar"}
    done = _verify(built, ref, "--path", ROOT, "--json")
    assert done.returncode == 0, f"{ref}\n{done.stderr[-2000:]}"
    assert _report(done)["ok"] is True


def test_a_ref_name_with_a_colon_is_selectable(built: Built) -> None:
    ref = built.refs["colon"]
    assert ref.endswith(":localhost/app:fresh")
    done = _verify(built, ref, "--path", ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    inspected = buildguard_cli("inspect", "--json", ref, "--path", ROOT)
    assert inspected.returncode == 0, inspected.stderr[-2000:]


@pytest.mark.parametrize("order", ["as-written", "reversed"])
def test_a_short_tag_matching_two_images_is_ambiguous(
    order: str, built: Built, tmp_path: Path
) -> None:
    layout = tmp_path / "two"
    shutil.copytree(built.refs["two"], layout)
    index = json.loads((layout / "index.json").read_text())
    names = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
    assert sorted(names) == ["localhost/app:fresh", "localhost/other:fresh"]
    if order == "reversed":
        index["manifests"].reverse()
        (layout / "index.json").write_text(json.dumps(index))
    done = _verify(built, f"oci-layout:{layout}:fresh", "--path", ROOT)
    assert done.returncode == 3, f"exit {done.returncode}:\n{done.stderr[-2000:]}"
    assert "ambiguous" in done.stderr.lower(), done.stderr
    assert "localhost/app:fresh" in done.stderr and "localhost/other:fresh" in done.stderr
    picked = _verify(built, f"oci-layout:{layout}:localhost/app:fresh", "--path", ROOT)
    assert picked.returncode == 0, picked.stderr[-2000:]


def test_a_stale_bundle_with_clamped_timestamps_gets_one_clamp_note(built: Built) -> None:
    done = _verify(built, built.refs["stale"], "--path", ROOT, "--json")
    assert done.returncode == 1, done.stderr[-2000:]
    findings = _report(done)["findings"]
    codes = [f["code"] for f in findings]
    assert "BUILD_ID_MISMATCH" in codes, codes
    assert codes.count("FILE_STALE") == 0, [
        f["message"] for f in findings if f["code"] == "FILE_STALE"
    ][:3]
    assert codes.count("TIMESTAMPS_CLAMPED") == 1, codes
    assert not any(re.search(r"\b\d{4,} d\b", f["message"]) for f in findings), findings


def test_a_later_chmod_and_a_lost_exec_bit_are_findings(built: Built) -> None:
    done = _verify(built, built.refs["chmod"], "--path", ROOT, "--json")
    assert done.returncode == 1, done.stderr[-2000:]
    findings = _report(done)["findings"]
    moded = {f["path"] for f in findings if f["code"] == "FILE_MODE" and f["severity"] == "error"}
    assert moded == {f"{ROOT}/assets/index.js", f"{ROOT}/assets/run.sh"}, findings


def test_a_whiteout_file_missing_names_the_deleting_layer(built: Built) -> None:
    done = _verify(built, built.refs["whiteout"], "--path", ROOT, "--json")
    assert done.returncode == 1, done.stderr[-2000:]
    report = _report(done)
    missing = [f for f in report["findings"] if f["code"] == "FILE_MISSING"]
    assert [f["path"] for f in missing] == [f"{ROOT}/assets/style.css"], report["findings"]
    inspected = buildguard_cli("inspect", "--json", built.refs["whiteout"])
    assert inspected.returncode == 0, inspected.stderr[-1000:]
    layers = json.loads(inspected.stdout)["layers"]
    top = layers[-1]
    assert missing[0]["layer"] == top["index"], (missing[0], top)
    assert "rm " in (top["created_by"] or ""), top


def _sections(text: str) -> dict[str, list[str]]:
    """'bundle ROOT [PLATFORM]: …' header line -> the finding lines under it."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("bundle "):
            current = out.setdefault(line.split(":")[0], [])
        elif not line.strip() or not line.startswith("  "):
            current = None
        elif current is not None:
            current.append(line)
    return out


def test_platform_all_text_shows_each_finding_under_its_own_platform(built: Built) -> None:
    done = _verify(built, built.refs["multi"], "--path", ROOT, "--platform", "all")
    assert done.returncode == 1, done.stderr[-2000:]
    text = done.stdout + done.stderr
    sections = _sections(text)
    amd64 = [k for k in sections if "linux/amd64" in k]
    arm64 = [k for k in sections if "linux/arm64" in k]
    assert amd64 and arm64, text
    assert not [ln for k in amd64 for ln in sections[k] if "FAIL" in ln], text
    assert [ln for k in arm64 for ln in sections[k] if "FAIL" in ln], text
    assert re.search(r"bundle /app/v5-frontend \[linux/amd64\]: ok", text), text
