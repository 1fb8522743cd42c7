"""Images crafted so that a careless reader would pass them while the runtime serves
something else under the bundle's path: each is a real image (OCI layout or docker save
archive), verified through the library as the CLI does."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from clitools import console_script
from imagecorpus import bundle_manifest, config_doc, d, f, hard, sha, sym, tar_bytes, write_layout
from services import Dockerd, make_busybox_rootfs

import buildguard

BUILD = "false-pass-build"


@pytest.fixture(autouse=True)
def _outside_any_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verify takes the expected commit from the git checkout it runs in (and a record from
    .buildguard/): run where there is neither, as these tests expect no commit."""
    monkeypatch.chdir(tmp_path)


BUNDLE = {"index.html": b"<html>", "assets/app.js": b"console.log(1)"}


def _manifest(files: dict[str, bytes], build_id: str = BUILD) -> bytes:
    return bundle_manifest(files, build_id)


def _bundle_layer(root: str = "app/web") -> bytes:
    return tar_bytes(
        [
            d("app"),
            d(root),
            d(f"{root}/assets"),
            *(f(f"{root}/{p}", b) for p, b in BUNDLE.items()),
            f(f"{root}/buildguard-manifest.json", _manifest(BUNDLE)),
        ]
    )


def _verify(ref: str, **kw: object) -> buildguard.VerifyReport:
    return buildguard.verify(
        ref,
        buildguard.Expectations(build_id=BUILD),
        buildguard.ReadOptions(no_cache=True, **kw),  # type: ignore[arg-type]
        environ={},
    )


def _errors(report: buildguard.VerifyReport) -> list[tuple[str, str | None]]:
    return sorted((x.code, x.path) for x in report.findings if x.severity == "error")


def test_a_bundle_nested_in_the_named_path_is_checked_too(tmp_path: Path) -> None:
    """`--path /app/web` names a sealed bundle; a later layer adds /app/web/x with a
    manifest of its own (junk, or another build's) and a file. The folder is served under
    /app/web, so it must be judged: before, it was left out of /app/web's extra-file check
    (as a nested bundle) and never checked itself, and verify passed."""
    later = tar_bytes(
        [
            d("app/web/x"),
            f("app/web/x/buildguard-manifest.json", b"junk"),
            f("app/web/x/evil.js", b"evil"),
        ]
    )
    write_layout(tmp_path / "img", [_bundle_layer(), later])
    ref = f"oci-layout:{tmp_path / 'img'}:latest"
    named = _verify(ref, paths=["/app/web"])
    everything = _verify(ref)
    assert not named.ok and not everything.ok
    assert (
        _errors(named)
        == _errors(everything)
        == [("MANIFEST_INVALID", "/app/web/x/buildguard-manifest.json")]
    )
    assert {b.root for b in named.bundles} == {"/app/web", "/app/web/x"}


def test_a_nested_bundle_of_another_build_fails_under_the_named_path(tmp_path: Path) -> None:
    other = {"old.js": b"old"}
    later = tar_bytes(
        [
            d("app/web/x"),
            f("app/web/x/old.js", b"old"),
            f("app/web/x/buildguard-manifest.json", _manifest(other, "old-build")),
        ]
    )
    write_layout(tmp_path / "img", [_bundle_layer(), later])
    report = _verify(f"oci-layout:{tmp_path / 'img'}:latest", paths=["/app/web/"])
    assert ("BUILD_ID_MISMATCH", "/app/web/x/buildguard-manifest.json") in _errors(report)
    assert {b.root: b.ok for b in report.bundles} == {"/app/web": True, "/app/web/x": False}


def _archive_member(
    tar: tarfile.TarFile,
    name: str,
    data: bytes | None = None,
    *,
    symlink: str | None = None,
    hardlink: str | None = None,
) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 1_700_000_000
    if symlink is not None:
        info.type, info.linkname = tarfile.SYMTYPE, symlink
    elif hardlink is not None:
        info.type, info.linkname = tarfile.LNKTYPE, hardlink
    else:
        info.size = len(data or b"")
    tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _redefined_archive(path: Path, good: bytes, evil: bytes, how: str) -> None:
    """A docker save archive in which ``c.json`` and ``L/layer.tar`` are first links to
    the sealed image's config and layer, then regular files holding another image: a
    reader that follows the first definition sees the sealed image, `docker load` (which
    extracts the archive, a later member replacing an earlier one) loads the other."""
    configs = [json.dumps(config_doc([sha(layer)])).encode() for layer in (good, evil)]
    good_config = sha(configs[0])[7:] + ".json"
    link = {"symlink": "symlink", "hardlink": "hardlink"}[how]
    with tarfile.open(path, "w") as tar:
        _archive_member(tar, "G/layer.tar", good)
        _archive_member(tar, good_config, configs[0])
        _archive_member(tar, "c.json", **{link: good_config})  # type: ignore[arg-type]
        _archive_member(
            tar,
            "L/layer.tar",  # a symlink's target is relative to its folder
            **{link: "../G/layer.tar" if how == "symlink" else "G/layer.tar"},
        )  # type: ignore[arg-type]
        _archive_member(tar, "c.json", configs[1])
        _archive_member(tar, "L/layer.tar", evil)
        _archive_member(
            tar,
            "manifest.json",
            json.dumps(
                [{"Config": "c.json", "RepoTags": [ARCHIVE_TAG], "Layers": ["L/layer.tar"]}]
            ).encode(),
        )


ARCHIVE_TAG = "buildguard-false-pass/redefined:1"


@pytest.mark.parametrize("how", ["symlink", "hardlink"])
def test_a_docker_save_member_redefined_later_is_refused(
    tmp_path: Path, dockerd: Dockerd, how: str
) -> None:
    """What `docker load` loads from such an archive is the later member (checked against
    the real dockerd); buildguard used to follow the earlier link and pass the sealed image.
    containerd's importer, which resolves links after the whole stream, would take the
    earlier one: the runtimes disagree, so the archive is refused (exit 3)."""
    good = _bundle_layer()
    evil = tar_bytes(
        [
            d("app"),
            d("app/web"),
            d("app/web/assets"),
            f("app/web/index.html", b"<evil>"),
            f("app/web/assets/app.js", b"console.log(1)"),
            f("app/web/buildguard-manifest.json", _manifest(BUNDLE)),
        ]
    )
    archive = tmp_path / "image.tar"
    _redefined_archive(archive, good, evil, how)
    dockerd.docker("load", "-i", str(archive))
    try:
        created = dockerd.docker("create", ARCHIVE_TAG, "sh").stdout.strip()
        exported = subprocess.run(
            [dockerd.cli, "export", created],
            env=dockerd.env,
            capture_output=True,
            timeout=300,
            check=True,
        ).stdout
        dockerd.docker("rm", created)
    finally:
        dockerd.docker("rmi", "-f", ARCHIVE_TAG, check=False)
    with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
        served = tar.extractfile("app/web/index.html")
        assert served is not None and served.read() == b"<evil>", "dockerd loads the later member"
    with pytest.raises(buildguard.ImageReadError, match="more than once"):
        _verify(f"docker-archive:{archive}", paths=["/app/web"])


def _index_entry(
    root: Path,
    digest: str | None,
    platform: dict[str, str] | None,
    media_type: str = "application/vnd.oci.image.manifest.v1+json",
) -> dict[str, object]:
    assert digest is not None
    size = (root / "blobs/sha256" / digest[7:]).stat().st_size
    entry: dict[str, object] = {"mediaType": media_type, "digest": digest, "size": size}
    if platform is not None:
        entry["platform"] = platform
    return entry


def _put_index(root: Path, entries: list[dict[str, object]], tag: str | None = None) -> str:
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    digest = sha(data)
    (root / "blobs/sha256" / digest[7:]).write_bytes(data)
    if tag is not None:
        (root / "index.json").write_text(
            json.dumps(
                {
                    "schemaVersion": 2,
                    "manifests": [
                        {
                            "mediaType": OCI_INDEX,
                            "digest": digest,
                            "size": len(data),
                            "annotations": {"org.opencontainers.image.ref.name": tag},
                        }
                    ],
                }
            )
        )
    return digest


OCI_INDEX = "application/vnd.oci.image.index.v1+json"
AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64"}


def _two_platforms(root: Path) -> tuple[str | None, str | None]:
    """The sealed bundle for amd64, another (unsealed) one for arm64."""
    amd = write_layout(root, [_bundle_layer()], arch="amd64", tag=None)
    arm = write_layout(
        root,
        [tar_bytes([d("app"), d("app/web"), f("app/web/index.html", b"<evil>")])],
        arch="arm64",
        tag=None,
    )
    return amd.manifest_digest, arm.manifest_digest


def test_platform_all_reads_the_platforms_of_a_nested_index(tmp_path: Path) -> None:
    """An index whose one entry is the image's index (as `docker save` of Docker 25 and
    `skopeo copy --all` write them): `--platform all` used to check linux/amd64 only, and
    pass while linux/arm64 serves an unsealed bundle."""
    root = tmp_path / "img"
    amd, arm = _two_platforms(root)
    inner = _put_index(root, [_index_entry(root, amd, AMD64), _index_entry(root, arm, ARM64)])
    _put_index(root, [_index_entry(root, inner, None, OCI_INDEX)], tag="multi")
    ref = f"oci-layout:{root}:multi"
    report = _verify(ref, paths=["/app/web"], platform="all")
    assert not report.ok and report.image.platforms == ("linux/amd64", "linux/arm64")
    assert _errors(report) == [("NO_MANIFEST", "/app/web/buildguard-manifest.json")]
    assert _verify(ref, paths=["/app/web"], platform="linux/amd64").ok


def test_platform_all_refuses_an_entry_without_a_platform(tmp_path: Path) -> None:
    """containerd matches an index entry without a platform by its config's platform
    (arm64 here): `--platform all` used to skip it and pass."""
    root = tmp_path / "img"
    amd, arm = _two_platforms(root)
    _put_index(root, [_index_entry(root, amd, AMD64), _index_entry(root, arm, None)], tag="multi")
    with pytest.raises(buildguard.ImageReadError, match="no platform"):
        _verify(f"oci-layout:{root}:multi", paths=["/app/web"], platform="all")


def test_platform_all_refuses_a_platform_named_twice(tmp_path: Path) -> None:
    """linux/arm64/v8 and linux/arm64 are one platform to the runtimes; each label used
    to resolve to the first entry, so the second was never read."""
    root = tmp_path / "img"
    amd, arm = _two_platforms(root)
    _put_index(
        root,
        [_index_entry(root, amd, {**ARM64, "variant": "v8"}), _index_entry(root, arm, ARM64)],
        tag="multi",
    )
    with pytest.raises(buildguard.ImageReadError, match="more than one"):
        _verify(f"oci-layout:{root}:multi", paths=["/app/web"], platform="all")


def _run_as_nobody(dockerd: Dockerd, layout: Path, tag: str, *cmd: str) -> int:
    archive = layout.parent / "image.tar"
    subprocess.run(
        ["skopeo", "copy", f"oci:{layout}:t", f"docker-archive:{archive}:{tag}"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    dockerd.docker("load", "-i", str(archive))
    try:
        return dockerd.docker(
            "run", "--rm", "--network", "none", "--user", "65534", tag, *cmd, check=False
        ).returncode
    finally:
        dockerd.docker("rmi", "-f", tag, check=False)
        archive.unlink()


def test_a_root_entry_others_cannot_enter_is_refused(tmp_path: Path, dockerd: Dockerd) -> None:
    """A layer whose `./` entry has mode 0700: dockerd applies it to the container's root,
    so a web server's worker (here uid 65534) cannot reach the bundle; containerd ignores
    root entries. verify used to pass (the folder check stopped below the root)."""
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    base = subprocess.run(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], capture_output=True, check=True
    ).stdout
    for mode, readable in ((0o755, True), (0o700, False)):
        layout = tmp_path / f"img-{mode:o}"
        write_layout(layout, [base, _bundle_layer(), tar_bytes([d(".", mode=mode)])], tag="t")
        served = _run_as_nobody(
            dockerd, layout, f"buildguard-false-pass/root:{mode:o}", "cat", "/app/web/index.html"
        )
        assert (served == 0) is readable, f"dockerd with a root entry of mode {mode:o}"
        ref = f"oci-layout:{layout}:t"
        if readable:
            assert _verify(ref, paths=["/app/web"]).ok
        else:
            with pytest.raises(buildguard.HostileImage, match="others cannot enter"):
                _verify(ref, paths=["/app/web"])


def test_a_sealed_file_under_an_implicit_folder_is_refused(
    tmp_path: Path, dockerd: Dockerd
) -> None:
    """A bundle layer without entries for its folders (some tar tools write only files):
    dockerd creates the missing folders with mode 0600, so a worker cannot read the bundle,
    containerd with 0755. verify used to pass (implicit folders were never judged)."""
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    base = subprocess.run(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], capture_output=True, check=True
    ).stdout
    files_only = tar_bytes(
        [
            *(f(f"app/web/{p}", b) for p, b in BUNDLE.items()),
            f("app/web/buildguard-manifest.json", _manifest(BUNDLE)),
        ]
    )
    layout = tmp_path / "img"
    write_layout(layout, [base, files_only], tag="t")
    served = _run_as_nobody(
        dockerd, layout, "buildguard-false-pass/implicit:1", "cat", "/app/web/index.html"
    )
    assert served != 0, "dockerd's implicit folders shut others out"
    with pytest.raises(buildguard.HostileImage, match="dockerd creates such a folder"):
        _verify(f"oci-layout:{layout}:t", paths=["/app/web"])


@pytest.mark.parametrize("how", ["whiteout", "symlink", "folder", "opaque"])
def test_a_bundle_whose_manifest_a_later_layer_takes_away_fails(tmp_path: Path, how: str) -> None:
    """Two sealed bundles; a later layer removes /app/a's manifest (or puts a symlink or a
    folder in its place) and changes a file. Without --path verify used to check /app/web
    only and pass, while /app/a serves the changed file."""
    second = tar_bytes(
        [
            d("app"),
            d("app/a"),
            d("app/a/assets"),
            *(f(f"app/a/{p}", b) for p, b in BUNDLE.items()),
            f("app/a/buildguard-manifest.json", _manifest(BUNDLE)),
        ]
    )
    manifest = "app/a/buildguard-manifest.json"
    takes = {
        "whiteout": [f("app/a/.wh.buildguard-manifest.json")],
        "symlink": [sym(manifest, "../web/buildguard-manifest.json")],
        "folder": [d(manifest)],
        "opaque": [d("app/a"), f("app/a/.wh..wh..opq")],
    }[how]
    later = tar_bytes([*takes, f("app/a/index.html", b"<evil>")])
    write_layout(tmp_path / "img", [_bundle_layer(), second, later])
    report = _verify(f"oci-layout:{tmp_path / 'img'}:latest")
    assert _errors(report) == [("NO_MANIFEST", "/" + manifest)]
    assert {b.root: b.ok for b in report.bundles} == {"/app/web": True}


def test_a_bundle_folder_emptied_by_a_later_layer_still_passes(tmp_path: Path) -> None:
    """`rm -rf /app/a/*` leaves an empty folder: nothing is served from it."""
    second = tar_bytes(
        [
            d("app"),
            d("app/a"),
            f("app/a/x.js", b"x"),
            f("app/a/buildguard-manifest.json", _manifest({"x.js": b"x"})),
        ]
    )
    later = tar_bytes([f("app/a/.wh.x.js"), f("app/a/.wh.buildguard-manifest.json")])
    write_layout(tmp_path / "img", [_bundle_layer(), second, later])
    assert _verify(f"oci-layout:{tmp_path / 'img'}:latest").ok


def test_a_warm_cache_never_answers_for_a_config_with_another_diff_id(tmp_path: Path) -> None:
    """Image B reuses image A's layer blobs (same compressed digests, cached by A's verify)
    but its config names another DiffID for the bundle layer: the runtime refuses the layer,
    and so must verify, cache or not (the entry records the DiffID it was verified with)."""
    base = tar_bytes([d("srv"), f("srv/data", b"d")])
    layers = [base, _bundle_layer()]
    a = write_layout(tmp_path / "a", layers)
    wrong = [sha(base), sha(b"another layer")]
    b = write_layout(tmp_path / "b", layers, diff_ids=wrong)
    assert a.layer_digests == b.layer_digests
    cache = tmp_path / "cache"
    assert buildguard.verify(
        f"oci-layout:{tmp_path / 'a'}:latest",
        buildguard.Expectations(build_id=BUILD),
        buildguard.ReadOptions(cache=cache),
        environ={},
    ).ok
    assert len(list(cache.rglob("*.idx"))) == 2
    for use_cache in (True, False):
        with pytest.raises(buildguard.DigestMismatch, match="DiffID"):
            buildguard.verify(
                f"oci-layout:{tmp_path / 'b'}:latest",
                buildguard.Expectations(build_id=BUILD),
                buildguard.ReadOptions(cache=cache, no_cache=not use_cache),
                environ={},
            )


def test_a_sealed_file_hard_linked_outside_the_path_is_never_judged_unread(
    tmp_path: Path,
) -> None:
    """/app/web/index.html is a hard link to /srv/idx of a lower layer (the sealed bytes).
    With --no-cache and --path /app/web, /srv/idx is not hashed: verify used to say
    FILE_CHANGED (exit 1) for bytes the runtime serves as sealed. Now it passes where the
    content is known (the cache's fill hashes every file) and refuses where it is not."""
    lower = tar_bytes([d("srv"), f("srv/idx", BUNDLE["index.html"])])
    bundle = tar_bytes(
        [
            d("app"),
            d("app/web"),
            d("app/web/assets"),
            hard("app/web/index.html", "srv/idx"),
            f("app/web/assets/app.js", BUNDLE["assets/app.js"]),
            f("app/web/buildguard-manifest.json", _manifest(BUNDLE)),
        ]
    )
    write_layout(tmp_path / "img", [lower, bundle])
    ref = f"oci-layout:{tmp_path / 'img'}:latest"
    assert _verify(ref).ok
    assert buildguard.verify(
        ref,
        buildguard.Expectations(build_id=BUILD),
        buildguard.ReadOptions(paths=["/app/web"], cache=tmp_path / "cache"),
        environ={},
    ).ok
    with pytest.raises(buildguard.ImageReadError, match="not hashed"):
        _verify(ref, paths=["/app/web"])


def test_a_hard_linked_manifest_is_refused_not_called_invalid(tmp_path: Path) -> None:
    layer = tar_bytes(
        [
            d("srv"),
            f("srv/m.json", _manifest(BUNDLE)),
            d("app"),
            d("app/web"),
            d("app/web/assets"),
            *(f(f"app/web/{p}", b) for p, b in BUNDLE.items()),
            hard("app/web/buildguard-manifest.json", "srv/m.json"),
        ]
    )
    write_layout(tmp_path / "img", [layer])
    with pytest.raises(buildguard.ImageReadError, match="cannot be read"):
        _verify(f"oci-layout:{tmp_path / 'img'}:latest", paths=["/app/web"])


def test_a_path_with_spaces_around_is_hashed_as_it_is_checked(tmp_path: Path) -> None:
    """The checks strip `--path`; the hashing did not, so with --no-cache every file of
    ` /app/web` was unhashed and FILE_CHANGED."""
    write_layout(tmp_path / "img", [_bundle_layer()])
    assert _verify(f"oci-layout:{tmp_path / 'img'}:latest", paths=[" /app/web "]).ok


def _sealed_dist_layer(tmp_path: Path, links: dict[str, str]) -> bytes:
    """A dist sealed by the real record + seal, with ``links`` (name → target) inside it,
    packed as a layer under /app/web (folders included, as builders write them)."""
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "src/main.js").write_text("main\n")
    env = {**os.environ, "BUILD_ID": BUILD, "COMMIT_SHA": "c" * 40}
    subprocess.run(
        [console_script(), "record", "--clean", "dist"],
        cwd=app,
        env=env,
        check=True,
        capture_output=True,
    )
    dist = app / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(f"<html>{BUILD}</html>")
    (dist / "assets/app.js").write_text("console.log(1)\n")
    for name, target in links.items():
        (dist / name).symlink_to(target)
    subprocess.run(
        [console_script(), "seal", "dist"], cwd=app, env=env, check=True, capture_output=True
    )
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(str(app), arcname="app", recursive=False)
        tar.add(str(dist), arcname="app/web")
    return out.getvalue()


@pytest.mark.parametrize(
    ("target", "outside"),
    [
        ("assets/app.js", False),
        ("../web/assets/app.js", False),
        ("/srv/config.js", True),
        ("../../srv/config.js", True),
        ("/app/web-old/app.js", True),
    ],
)
def test_a_sealed_symlink_out_of_the_bundle_fails(
    tmp_path: Path, target: str, outside: bool
) -> None:
    """The manifest binds only a symlink's text: a link out of the bundle serves bytes that
    were never sealed (here a later layer's /srv/config.js), so it is FILE_LINK_OUTSIDE."""
    bundle = _sealed_dist_layer(tmp_path, {"config.js": target})
    other = tar_bytes(
        [
            d("srv"),
            f("srv/config.js", b"window.API = '/api/v4'"),
            d("app/web-old"),
            f("app/web-old/app.js", b"old"),
        ]
    )
    write_layout(tmp_path / "img", [other, bundle])
    report = buildguard.verify(
        f"oci-layout:{tmp_path / 'img'}:latest",
        buildguard.Expectations(build_id=BUILD, commit="c" * 40),
        buildguard.ReadOptions(no_cache=True, paths=["/app/web"]),
        environ={},
    )
    assert _errors(report) == ([("FILE_LINK_OUTSIDE", "/app/web/config.js")] if outside else [])
    assert report.ok is not outside
