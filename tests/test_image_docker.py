"""Differential test against the real dockerd: what buildguard flattens from an image must
equal what ``docker create`` + ``docker export`` shows, for every source kind.

Each image is built with the classic builder from the busybox base and reads through
``docker-archive:`` (``docker save`` to a file), ``oci-layout:`` (``skopeo copy`` of that
archive) and ``docker-daemon:`` (the save stream, never written to disk). Every build step
changes something (see the "failed to get layer" quirk in TESTING.md). Opaque whiteouts
cannot be produced by this Docker (vfs); ``test_image_flatten.py`` covers them by hand.
"""

from __future__ import annotations

import hashlib
import io
import json
import posixpath
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from services import Dockerd

import buildguard as inspect_mod
from buildguard import ReadOptions
from buildguard._image import FileTree, open_image

pytestmark = pytest.mark.docker

# Added by the container's init layer, not part of the image (/etc/mtab too, on this Docker).
EXPORT_EXTRAS = {"/.dockerenv", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab"}
MOUNT_POINTS = ("/dev", "/proc", "/sys")

# name -> (Dockerfile body after FROM, {context path: bytes})
CORPUS: dict[str, tuple[str, dict[str, bytes]]] = {
    "add": (
        "COPY dist /app/dist\n",
        {
            f"dist/{n}": f"content of {n}\n".encode()
            for n in ("index.html", "assets/a.js", "assets/b.css", "assets/deep/c.js")
        },
    ),
    "overwrite": (
        "COPY v1 /app\nCOPY v2 /app\n",
        {"v1/a.js": b"one", "v1/b.js": b"keep", "v2/a.js": b"two two"},
    ),
    "delete": (
        "COPY d /app\nRUN rm /app/a.js /bin/ls && echo gone > /marker\n",
        {"d/a.js": b"a", "d/b.js": b"b", "d/sub/c.js": b"c"},
    ),
    "rm-rf-mkdir": (
        "COPY d /d\nRUN rm -rf /d && mkdir /d && echo fresh > /d/new\n",
        {"d/x": b"x", "d/sub/y": b"y", "d/sub/deeper/z": b"z"},
    ),
    "hardlinks": (
        "RUN mkdir /h && echo content > /h/a && ln /h/a /h/b && ln /h/a /h/c "
        "&& mkdir /h/d && ln /h/a /h/d/e\n",
        {},
    ),
    "hardlink-target-replaced": (
        "RUN mkdir /h && echo old > /h/a && ln /h/a /h/b\nRUN rm /h/a && echo new-content > /h/a\n",
        {},
    ),
    "hardlink-shared-write": (
        "RUN mkdir /h && echo old > /h/a && ln /h/a /h/b\nRUN echo rewritten-through-b > /h/b\n",
        {},
    ),
    "symlinks": (
        "RUN ln -s /etc/passwd /s1 && ln -s ../../x /tmp/s2 && ln -s nowhere /s3\n"
        "RUN rm /s1 && ln -s /bin/sh /s1 && echo f > /s3\n",
        {},
    ),
    "chmod": (
        "COPY f /f\nRUN chmod 600 /f && chmod 700 /tmp && chmod 4755 /bin/busybox\n",
        {"f/one": b"1", "f/two": b"22"},
    ),
    "many-files": (
        "COPY many /many\nRUN rm -rf /many/d3 && echo changed > /many/d1/f0\n",
        {f"many/d{i}/f{j}": f"{i}-{j}\n".encode() * (j + 1) for i in range(8) for j in range(250)},
    ),
    "dir-file-dir": (
        "RUN mkdir -p /x/y && echo 1 > /x/y/z\n"
        "RUN rm -rf /x && echo file > /x\n"
        "RUN rm /x && mkdir /x && echo 2 > /x/new\n",
        {},
    ),
    "long-and-odd-names": (
        "COPY names /names\nRUN mv /names/short.txt /names/renamed.txt\n",
        {
            "names/" + "l" * 120 + "/" + "n" * 150 + ".js": b"long",
            "names/caf\u00e9 \u2603.js": b"unicode",
            "names/short.txt": b"s",
            "names/empty": b"",
        },
    ),
    "manifest": (
        "COPY dist /app/v5-frontend\n",
        {
            "dist/index.js": b"console.log('B-123456')",
            "dist/buildguard-manifest.json": json.dumps(
                {"build_id": "B-123456", "commit": "deadbeef", "sealed_at": "2024-01-01T00:00:00Z"}
            ).encode(),
        },
    ),
}


def _write_context(root: Path, base: str, body: str, files: dict[str, bytes]) -> None:
    root.mkdir(parents=True)
    (root / "Dockerfile").write_text(f"FROM {base}\n{body}")
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


@pytest.fixture(scope="module")
def corpus(
    dockerd: Dockerd, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Path | str]]:
    """Build every image; save it; copy it to an OCI layout. name -> {tag, archive, layout}."""
    work = tmp_path_factory.mktemp("image-corpus")
    out: dict[str, dict[str, Path | str]] = {}
    for name, (body, files) in CORPUS.items():
        tag = f"buildguard-corpus/{name}:1"
        _write_context(work / name, base_image, body, files)
        dockerd.build(work / name, tag)
        archive = work / f"{name}.tar"
        dockerd.docker("save", "-o", str(archive), tag)
        layout = work / f"{name}-oci"
        subprocess.run(
            ["skopeo", "copy", f"docker-archive:{archive}", f"oci:{layout}:t"],
            check=True,
            capture_output=True,
            timeout=300,
        )
        out[name] = {"tag": tag, "archive": archive, "layout": layout}
    return out


def _excluded(path: str) -> bool:
    if path in EXPORT_EXTRAS:
        return True
    return any(path == m or path.startswith(m + "/") for m in MOUNT_POINTS)


def exported_view(dockerd: Dockerd, tag: str) -> dict[str, tuple[Any, ...]]:
    """path -> (kind, size, sha256, link, mode, uid, gid, mtime) from ``docker export``."""
    cid = dockerd.docker("create", tag, "sh").stdout.strip()
    try:
        data = subprocess.run(
            [dockerd.cli, "export", cid],
            env=dockerd.env,
            capture_output=True,
            check=True,
            timeout=300,
        ).stdout
    finally:
        dockerd.docker("rm", cid)
    view: dict[str, tuple[Any, ...]] = {}
    content: dict[str, tuple[int, str]] = {}
    with tarfile.open(
        fileobj=io.BytesIO(data), mode="r:", encoding="utf-8", errors="surrogateescape"
    ) as tar:
        for m in tar:
            path = posixpath.normpath("/" + m.name)
            if path == "/" or _excluded(path):
                continue
            mode = m.mode & 0o7777
            if m.isreg():
                fobj = tar.extractfile(m)
                assert fobj is not None
                body = fobj.read()
                content[m.name] = (len(body), hashlib.sha256(body).hexdigest())
                digest = content[m.name][1]
                view[path] = ("file", len(body), digest, None, mode, m.uid, m.gid, int(m.mtime))
            elif m.islnk():
                size, digest = content[m.linkname]
                view[path] = ("file", size, digest, None, mode, m.uid, m.gid, int(m.mtime))
            elif m.issym():
                view[path] = ("symlink", 0, None, m.linkname, mode, m.uid, m.gid, int(m.mtime))
            elif m.isdir():
                view[path] = ("dir", 0, None, None, mode, m.uid, m.gid, int(m.mtime))
            else:
                view[path] = ("other", 0, None, None, mode, m.uid, m.gid, int(m.mtime))
    return view


def flattened_view(tree: FileTree) -> dict[str, tuple[Any, ...]]:
    view: dict[str, tuple[Any, ...]] = {}
    for e in tree:
        if _excluded(e.path):
            continue
        kind = "file" if e.type == "hardlink" else e.type
        link = e.link_target if e.type == "symlink" else None
        view[e.path] = (kind, e.size, e.sha256, link, e.mode, e.uid, e.gid, e.mtime)
    return view


def _diff(ours: dict[str, tuple[Any, ...]], theirs: dict[str, tuple[Any, ...]]) -> list[str]:
    # The init layer writes into /etc when the container is created, so its mtime differs.
    for view in (ours, theirs):
        if "/etc" in view:
            view["/etc"] = (*view["/etc"][:-1], None)
    lines = []
    for path in sorted(set(ours) | set(theirs)):
        if ours.get(path) != theirs.get(path):
            lines.append(f"{path}: ours={ours.get(path)} export={theirs.get(path)}")
    return lines


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_flattened_equals_docker_export(
    name: str,
    corpus: dict[str, dict[str, Path | str]],
    dockerd: Dockerd,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    item = corpus[name]
    expected = exported_view(dockerd, str(item["tag"]))
    refs = {
        "archive": f"docker-archive:{item['archive']}",
        "layout": f"oci-layout:{item['layout']}:t",
        "daemon": f"docker-daemon:{item['tag']}",
    }
    diff_ids = {}
    for kind, ref in refs.items():
        with open_image(ref) as image:
            flat = image.read()
        problems = _diff(flattened_view(flat.tree), expected)
        assert not problems, f"{kind} {ref}:\n" + "\n".join(problems[:40])
        diff_ids[kind] = [layer.diff_id for layer in flat.info.layers]
        # the imported base layer has no created_by; every built layer has one
        assert all(layer.created_by for layer in flat.info.layers[1:]), flat.info.layers
    assert diff_ids["archive"] == diff_ids["layout"] == diff_ids["daemon"]


def test_inspect_finds_manifest_and_created_by(
    corpus: dict[str, dict[str, Path | str]], dockerd: Dockerd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    tag = str(corpus["manifest"]["tag"])
    report = inspect_mod.inspect(f"docker-daemon:{tag}", ReadOptions(paths=["/app/v5-frontend"]))
    assert [(m.path, m.build_id, m.commit) for m in report.manifests] == [
        ("/app/v5-frontend/buildguard-manifest.json", "B-123456", "deadbeef")
    ]
    assert report.files[0].path == "/app/v5-frontend"
    top = report.layers[-1]
    assert top.created_by is not None and "COPY" in top.created_by
    assert {f.layer for f in report.files if f.type == "file"} == {top.index}
    image_id = dockerd.client.images.get(tag).id
    assert report.image.config_digest == image_id


def test_daemon_missing_image(dockerd: Dockerd, monkeypatch: pytest.MonkeyPatch) -> None:
    from buildguard.errors import ImageReadError

    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    with (
        pytest.raises(ImageReadError, match="no image"),
        open_image("docker-daemon:buildguard-corpus/none:404") as image,
    ):
        image.read()


def test_tampered_saved_layer_is_mismatch(
    corpus: dict[str, dict[str, Path | str]], tmp_path: Path
) -> None:
    from buildguard.errors import DigestMismatch

    src = Path(str(corpus["add"]["archive"]))
    copy = tmp_path / "t.tar"
    shutil.copy(src, copy)
    data = bytearray(copy.read_bytes())
    at = data.find(b"content of index.html")
    assert at > 0
    data[at] ^= 0x01
    copy.write_bytes(bytes(data))
    with (
        pytest.raises(DigestMismatch, match="DiffID"),
        open_image(f"docker-archive:{copy}") as image,
    ):
        image.read()


@pytest.mark.parametrize("name", ["hardlink-target-replaced", "many-files", "manifest"])
def test_registry_image_equals_docker_export(
    name: str,
    corpus: dict[str, dict[str, Path | str]],
    dockerd: Dockerd,
    registry: Any,
) -> None:
    """``docker push`` gzips every layer: the registry path reads real gzip layers."""
    tag = str(corpus[name]["tag"])
    remote = f"{registry.host}/corpus/{name}:1"
    dockerd.docker("tag", tag, remote)
    dockerd.docker("push", remote)
    expected = exported_view(dockerd, tag)
    with open_image(remote) as image:
        flat = image.read()
    assert {layer.compression for layer in flat.info.layers} == {"gzip"}
    problems = _diff(flattened_view(flat.tree), expected)
    assert not problems, "\n".join(problems[:40])
    assert flat.info.manifest_digest is not None
    assert flat.info.config_digest == dockerd.client.images.get(tag).id


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_layer_cache_changes_no_reading(
    name: str, corpus: dict[str, dict[str, Path | str]], tmp_path: Path
) -> None:
    """Cold (filling), warm (every layer from the cache) and uncached reads of every corpus
    image flatten to the same tree, with and without --path. (A read that fills the cache
    hashes every file; an uncached read with --path only those under it.)"""
    from buildguard._image.layercache import open_cache

    ref = f"oci-layout:{corpus[name]['layout']}:t"

    def view(paths: tuple[str, ...], cache: Any) -> dict[str, tuple[Any, ...]]:
        with open_image(ref) as image:
            return flattened_view(image.read(paths, cache=cache).tree)

    everything = view((), None)
    for paths in ((), ("/app",)):
        cache = open_cache(tmp_path / f"cache{len(paths)}")
        assert view(paths, cache) == everything  # cold: fills
        layers = cache.misses if cache is not None else 0
        assert view(paths, cache) == everything  # warm: every layer from the cache
        assert cache is not None and cache.hits == layers > 0
    narrow = view(("/app",), None)
    assert narrow == {
        path: (*v[:2], v[2] if path.startswith("/app/") else None, *v[3:])
        for path, v in everything.items()
    }
