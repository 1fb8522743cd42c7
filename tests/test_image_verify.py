"""Verification (digests, sizes, DiffIDs), compression sniffing, sources and the report."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from imagecorpus import (
    compress,
    d,
    f,
    find_in_file,
    flip_byte,
    sha,
    tar_bytes,
    write_docker_archive,
    write_layout,
)

import buildguard as inspect_mod
from buildguard import ReadOptions
from buildguard._image import open_image
from buildguard._models.inspectreport import InspectReport
from buildguard.errors import DigestMismatch, HostileImage, ImageReadError, UsageError

LAYERS = [
    tar_bytes(
        [
            d("app"),
            f("app/a.js", "a" * 5000),
            f("app/buildguard-manifest.json", b'{"build_id":"B1","commit":"c1"}'),
        ]
    ),
    tar_bytes([f("app/b.js", "b" * 3000), f("etc/conf", "x")]),
]


def layout_ref(root: Path, tag: str = "latest") -> str:
    return f"oci-layout:{root}:{tag}"


def read_all(ref: str, **kw: object) -> object:
    with open_image(ref, ReadOptions(**kw)) as image:  # type: ignore[arg-type]
        return image.read()


@pytest.mark.parametrize("how", ["gzip", "zstd", "none"])
def test_each_compression_reads_and_is_sniffed(tmp_path: Path, how: str) -> None:
    write_layout(tmp_path / "l", LAYERS, compression=how)  # type: ignore[arg-type]
    with open_image(layout_ref(tmp_path / "l")) as image:
        flat = image.read()
    assert [layer.compression for layer in flat.info.layers] == [how, how]
    assert flat.tree["/app/b.js"].sha256 == hashlib.sha256(b"b" * 3000).hexdigest()


@pytest.mark.parametrize(
    "plain_type",
    [
        "application/vnd.docker.image.rootfs.diff.tar",
        "application/vnd.oci.image.layer.v1.tar",
    ],
)
def test_compression_sniffed_not_trusted_from_media_type(tmp_path: Path, plain_type: str) -> None:
    """gzip layers relabelled as plain tar: dockerd and containerd sniff Docker's type, so it
    is read as gzip; containerd takes OCI's plain type at its word and would fail on the
    bytes, so that one is refused (the runtimes would differ)."""
    built = write_layout(tmp_path / "l", LAYERS, compression="gzip")
    # Rewrite the manifest so the gzip layers claim to be plain tar, re-digesting it.
    index = json.loads((tmp_path / "l/index.json").read_text())
    mpath = tmp_path / "l/blobs/sha256" / index["manifests"][0]["digest"].split(":")[1]
    doc = json.loads(mpath.read_bytes())
    for layer in doc["layers"]:
        layer["mediaType"] = plain_type
    data = json.dumps(doc).encode()
    new = tmp_path / "l/blobs/sha256" / sha(data).split(":")[1]
    new.write_bytes(data)
    index["manifests"][0].update(digest=sha(data), size=len(data))
    (tmp_path / "l/index.json").write_text(json.dumps(index))
    with open_image(layout_ref(tmp_path / "l")) as image:
        if "oci" in plain_type:
            with pytest.raises(HostileImage, match="containerd would not"):
                image.read()
            return
        flat = image.read()
    assert [layer.compression for layer in flat.info.layers] == ["gzip", "gzip"]
    assert built.layer_digests == [layer.digest for layer in flat.info.layers]


def test_digests_and_history_reported(tmp_path: Path) -> None:
    history = [
        {"created_by": "ADD rootfs", "created": "2024-05-06T07:08:09.123456789Z"},
        {"created_by": "ENV X=1", "empty_layer": True},
        {"created_by": "COPY dist /app"},
        {"created_by": 'CMD ["sh"]', "empty_layer": True},
    ]
    built = write_layout(tmp_path / "l", LAYERS, history=history, media_type_in_manifest=False)
    report = inspect_mod.inspect(layout_ref(tmp_path / "l"))
    assert report.image.digest == built.manifest_digest
    assert report.image.config_digest == built.config_digest
    assert report.image.platform == "linux/amd64"
    assert [(x.digest, x.diff_id, x.created_by) for x in report.layers] == [
        (built.layer_digests[0], built.diff_ids[0], "ADD rootfs"),
        (built.layer_digests[1], built.diff_ids[1], "COPY dist /app"),
    ]
    assert report.layers[0].created is not None
    assert [(m.path, m.build_id, m.commit) for m in report.manifests] == [
        ("/app/buildguard-manifest.json", "B1", "c1")
    ]
    files = {x.path: x for x in report.files}
    assert files["/app/b.js"].layer == 1 and files["/app/b.js"].type == "file"
    assert files["/app/a.js"].mtime.isoformat() == "2023-11-14T22:13:20+00:00"
    doc = json.loads(report.model_dump_json())
    assert doc["schema_version"] == 1
    assert doc["files"][0]["mtime"].endswith("Z")
    assert InspectReport.model_validate_json(report.model_dump_json()) == report


def test_inspect_paths_limit_listing_and_hashing(tmp_path: Path) -> None:
    write_layout(tmp_path / "l", LAYERS)
    report = inspect_mod.inspect(layout_ref(tmp_path / "l"), ReadOptions(paths=["/etc"]))
    assert [x.path for x in report.files] == ["/etc", "/etc/conf"]
    assert report.files[1].sha256 == hashlib.sha256(b"x").hexdigest()
    assert len(report.manifests) == 1  # manifests are always found


# -- tampering ------------------------------------------------------------------------------


def test_flipped_byte_in_layout_layer(tmp_path: Path) -> None:
    built = write_layout(tmp_path / "l", LAYERS)
    flip_byte(built.layer_paths[1], 40)
    with pytest.raises(DigestMismatch, match=rf"layer 1: blob {built.layer_digests[1]}"):
        read_all(layout_ref(tmp_path / "l"))


@pytest.mark.parametrize("offset", [0, 10, -9])
def test_flipped_byte_anywhere_in_gzip_layer_is_mismatch(tmp_path: Path, offset: int) -> None:
    """Header, body or trailer: always the digest error, never a decoder error."""
    built = write_layout(tmp_path / "l", LAYERS)
    path = built.layer_paths[0]
    flip_byte(path, offset % path.stat().st_size)
    with pytest.raises(DigestMismatch, match="layer 0"):
        read_all(layout_ref(tmp_path / "l"))


def test_flipped_byte_in_layout_config(tmp_path: Path) -> None:
    built = write_layout(tmp_path / "l", LAYERS)
    assert built.config_path is not None
    flip_byte(built.config_path, find_in_file(built.config_path, b"linux"))
    with pytest.raises(DigestMismatch, match="config"):
        read_all(layout_ref(tmp_path / "l"))


def test_flipped_byte_in_manifest(tmp_path: Path) -> None:
    built = write_layout(tmp_path / "l", LAYERS)
    assert built.manifest_digest is not None
    path = tmp_path / "l/blobs/sha256" / built.manifest_digest.split(":")[1]
    flip_byte(path, find_in_file(path, b"schemaVersion"))
    with pytest.raises(DigestMismatch, match="manifest"):
        read_all(layout_ref(tmp_path / "l"))


def test_wrong_diff_id(tmp_path: Path) -> None:
    ids = [sha(LAYERS[0]), sha(b"something else")]
    write_layout(tmp_path / "l", LAYERS, diff_ids=ids)
    with pytest.raises(DigestMismatch, match=r"layer 1.*DiffID"):
        read_all(layout_ref(tmp_path / "l"))


def test_blob_longer_than_descriptor(tmp_path: Path) -> None:
    built = write_layout(tmp_path / "l", LAYERS, compression="none")
    with built.layer_paths[0].open("ab") as fh:
        fh.write(b"\0" * 10)
    with pytest.raises(DigestMismatch, match="layer 0"):
        read_all(layout_ref(tmp_path / "l"))


def test_flipped_byte_in_archive_layer_and_config(tmp_path: Path) -> None:
    built = write_docker_archive(tmp_path / "a.tar", LAYERS)
    ref = f"docker-archive:{tmp_path / 'a.tar'}"
    flat = read_all(ref)
    assert flat.info.config_digest == built.config_digest  # type: ignore[attr-defined]
    shutil.copy(tmp_path / "a.tar", tmp_path / "b.tar")
    flip_byte(tmp_path / "a.tar", find_in_file(tmp_path / "a.tar", b"b" * 3000) + 7)
    with pytest.raises(DigestMismatch, match=r"layer 1.*DiffID"):
        read_all(ref)
    # dockerd names a config by the digest of its bytes, not by its file name (issue 25):
    # the changed config is another image, reported as such.
    flip_byte(tmp_path / "b.tar", find_in_file(tmp_path / "b.tar", b'"architecture"') + 2)
    changed = read_all(f"docker-archive:{tmp_path / 'b.tar'}")
    assert changed.info.config_digest != built.config_digest  # type: ignore[attr-defined]


def test_wrong_diff_id_in_archive(tmp_path: Path) -> None:
    write_docker_archive(tmp_path / "a.tar", LAYERS, diff_ids=[sha(b"x"), sha(LAYERS[1])])
    with pytest.raises(DigestMismatch, match="layer 0"):
        read_all(f"docker-archive:{tmp_path / 'a.tar'}")


def test_truncated_gzip_with_matching_digest_is_read_error(tmp_path: Path) -> None:
    """A cut gzip stream whose blob digest matches: the DiffID check fails and the error
    also says the stream was truncated (never a traceback)."""
    blob = compress(LAYERS[0], "gzip")[:-30]
    root = tmp_path / "l"
    write_layout(root, [LAYERS[0]])
    _swap_layer(root, blob)
    with pytest.raises(ImageReadError, match=r"layer 0.*truncated"):
        read_all(layout_ref(root))


def test_bad_header_checksum_with_matching_digests_is_hostile(tmp_path: Path) -> None:
    tar = bytearray(LAYERS[1])
    tar[2] ^= 0x01  # a name byte of the first header
    root = tmp_path / "l"
    write_layout(root, [bytes(tar)], compression="gzip")
    with pytest.raises(HostileImage, match=r"layer 0 .*checksum"):
        read_all(layout_ref(root))


def test_garbage_layer_is_clean_error(tmp_path: Path) -> None:
    root = tmp_path / "l"
    write_layout(root, [b"\x1f\x8bnot really gzip" * 100], compression="none")
    with pytest.raises(ImageReadError, match=r"layer 0.*gzip"):
        read_all(layout_ref(root))


def _swap_layer(root: Path, blob: bytes) -> None:
    """Replace the only layer's blob, fixing the manifest (not the DiffID) to match."""
    index = json.loads((root / "index.json").read_text())
    mpath = root / "blobs/sha256" / index["manifests"][0]["digest"].split(":")[1]
    doc = json.loads(mpath.read_bytes())
    (root / "blobs/sha256" / sha(blob).split(":")[1]).write_bytes(blob)
    doc["layers"][0].update(digest=sha(blob), size=len(blob))
    data = json.dumps(doc).encode()
    (root / "blobs/sha256" / sha(data).split(":")[1]).write_bytes(data)
    index["manifests"][0].update(digest=sha(data), size=len(data))
    (root / "index.json").write_text(json.dumps(index))


# -- index and platforms ----------------------------------------------------------------------


def _multi_platform(root: Path) -> dict[str, str]:
    amd = write_layout(root, [tar_bytes([f("arch", "amd64")])], arch="amd64")
    arm = write_layout(root, [tar_bytes([f("arch", "arm64")])], arch="arm64")
    att = write_layout(root, [tar_bytes([f("att", "x")])], arch="amd64")

    def desc(digest: str | None, platform: dict[str, str], **extra: object) -> dict[str, object]:
        assert digest is not None
        size = (root / "blobs/sha256" / digest.split(":")[1]).stat().st_size
        return {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
            "platform": platform,
            **extra,
        }

    inner = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                desc(att.manifest_digest, {"os": "unknown", "architecture": "unknown"}),
                desc(
                    arm.manifest_digest, {"os": "linux", "architecture": "arm64", "variant": "v8"}
                ),
                desc(amd.manifest_digest, {"os": "linux", "architecture": "amd64"}),
            ],
        }
    ).encode()
    digest = sha(inner)
    (root / "blobs/sha256" / digest.split(":")[1]).write_bytes(inner)
    (root / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "digest": digest,
                        "size": len(inner),
                        "annotations": {"org.opencontainers.image.ref.name": "multi"},
                    }
                ],
            }
        )
    )
    return {"amd64": str(amd.manifest_digest), "arm64": str(arm.manifest_digest)}


def test_platform_selection(tmp_path: Path) -> None:
    digests = _multi_platform(tmp_path / "l")
    ref = layout_ref(tmp_path / "l", "multi")
    default = inspect_mod.inspect(ref)
    assert default.image.digest == digests["amd64"]
    assert default.image.platform == "linux/amd64"
    arm = inspect_mod.inspect(ref, ReadOptions(platform="linux/arm64"))
    assert arm.image.digest == digests["arm64"]
    assert {x.path: x.sha256 for x in arm.files}["/arch"] == hashlib.sha256(b"arm64").hexdigest()
    with pytest.raises(ImageReadError, match="no image for platform linux/s390x"):
        inspect_mod.inspect(ref, ReadOptions(platform="linux/s390x"))
    with pytest.raises(UsageError):
        inspect_mod.inspect(ref, ReadOptions(platform="linux"))


def test_tampered_child_manifest_of_index(tmp_path: Path) -> None:
    digests = _multi_platform(tmp_path / "l")
    path = tmp_path / "l/blobs/sha256" / digests["amd64"].split(":")[1]
    flip_byte(path, find_in_file(path, b"schemaVersion"))
    with pytest.raises(DigestMismatch):
        read_all(layout_ref(tmp_path / "l", "multi"))


def test_missing_sources_are_clean_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="no such archive"):
        read_all(f"docker-archive:{tmp_path / 'nope.tar'}")
    with pytest.raises(ImageReadError, match="no such OCI layout"):
        read_all(f"oci-layout:{tmp_path / 'nope'}")
    write_layout(tmp_path / "l", LAYERS)
    with pytest.raises(ImageReadError, match="no image tagged 'other'"):
        read_all(layout_ref(tmp_path / "l", "other"))
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(ImageReadError):
        read_all(f"docker-archive:{tmp_path / 'junk.tar'}")
    with pytest.raises(UsageError):
        open_image("just-a-name")


def test_truncated_archive_is_clean_error(tmp_path: Path) -> None:
    write_docker_archive(tmp_path / "a.tar", LAYERS)
    data = (tmp_path / "a.tar").read_bytes()
    (tmp_path / "a.tar").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError):
        read_all(f"docker-archive:{tmp_path / 'a.tar'}")


def test_oci_layout_inside_save_tar(tmp_path: Path) -> None:
    """The format newer Dockers write: an OCI layout as a tar (here without manifest.json)."""
    big = tar_bytes([f("big.bin", bytes(range(256)) * 8192)])  # > 1 MiB: walked on arrival
    built = write_layout(tmp_path / "l", [LAYERS[0], big], compression=["gzip", "none"])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(tmp_path / "l", arcname=".")
    (tmp_path / "oci.tar").write_bytes(buf.getvalue())
    with open_image(f"docker-archive:{tmp_path / 'oci.tar'}") as image:
        flat = image.read()
    assert flat.info.manifest_digest == built.manifest_digest
    assert flat.tree["/big.bin"].size == 256 * 8192
    flip_byte(tmp_path / "oci.tar", find_in_file(tmp_path / "oci.tar", bytes(range(256))) + 5)
    with pytest.raises(DigestMismatch, match="layer 1"):
        read_all(f"docker-archive:{tmp_path / 'oci.tar'}")


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo not installed")
def test_skopeo_zstd_layout(tmp_path: Path) -> None:
    """A real tool's zstd layout: skopeo re-compresses every layer with zstd."""
    write_layout(tmp_path / "src", LAYERS)
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--dest-compress-format",
            "zstd",
            "--dest-compress",
            f"oci:{tmp_path / 'src'}:latest",
            f"oci:{tmp_path / 'dst'}:z",
        ],
        check=True,
        capture_output=True,
    )
    with open_image(layout_ref(tmp_path / "dst", "z")) as image:
        flat = image.read()
    assert {layer.compression for layer in flat.info.layers} == {"zstd"}
    assert flat.tree["/app/a.js"].sha256 == hashlib.sha256(b"a" * 5000).hexdigest()


def test_multi_member_gzip(tmp_path: Path) -> None:
    tar = LAYERS[0]
    half = len(tar) // 2
    blob = gzip.compress(tar[:half]) + gzip.compress(tar[half:])
    root = tmp_path / "l"
    write_layout(root, [tar])
    _swap_layer(root, blob)
    assert read_all(layout_ref(root)).tree["/app/a.js"].size == 5000  # type: ignore[attr-defined]


@pytest.mark.parametrize("history", [5, "step", True, [1], [{"created_by": "x"}, "y"]])
def test_a_config_history_the_runtimes_cannot_read_is_exit_3(history: object) -> None:
    """Found by bench/fuzz.py: a non-list history used to crash (exit 4)."""
    from buildguard._image.manifest import parse_config

    doc = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": history,
    }
    with pytest.raises(ImageReadError, match="history"):
        parse_config(json.dumps(doc).encode(), "config x")
