"""OCI layout references as podman/skopeo write them, and the Docker uncompressed layer type.

Hand-made layouts here; images built by podman/buildah themselves are in
``test_podman_images.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from imagecorpus import f, tar_bytes, write_layout

from buildguard._image import open_image
from buildguard._image.layout import parse_layout_ref
from buildguard.errors import ImageReadError


def _two_images(root: Path, names: tuple[str, str]) -> None:
    """One layout holding two images, named as given (index.json entries in that order)."""
    entries = []
    for i, name in enumerate(names):
        built = write_layout(root, [tar_bytes([f("which", f"image {i}")])], tag=name)
        entries.append(json.loads((root / "index.json").read_text())["manifests"][0])
        assert built.manifest_digest == entries[-1]["digest"]
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))


def _which(ref: str) -> str:
    with open_image(ref) as image:
        entry = image.read().tree["/which"]
    return str(entry.sha256)


def test_a_ref_name_with_a_colon_is_selectable(tmp_path: Path) -> None:
    _two_images(tmp_path / "l", ("localhost/app:fresh", "localhost/app:stale"))
    fresh = _which(f"oci-layout:{tmp_path / 'l'}:localhost/app:fresh")
    stale = _which(f"oci-layout:{tmp_path / 'l'}:localhost/app:stale")
    assert fresh != stale
    assert _which(f"oci-layout:{tmp_path / 'l'}:fresh") == fresh, "a unique short tag works"


@pytest.mark.parametrize("order", [0, 1])
def test_a_short_tag_naming_two_images_is_ambiguous_whatever_the_order(
    tmp_path: Path, order: int
) -> None:
    names = ("localhost/app:fresh", "example.com/other:fresh")
    _two_images(tmp_path / "l", names if order == 0 else names[::-1])
    with pytest.raises(ImageReadError, match="ambiguous") as info:
        _which(f"oci-layout:{tmp_path / 'l'}:fresh")
    assert "localhost/app:fresh" in str(info.value) and "example.com/other:fresh" in str(info.value)
    assert _which(f"oci-layout:{tmp_path / 'l'}:localhost/app:fresh")  # the full name works


def test_parse_layout_ref_takes_the_existing_directory(tmp_path: Path) -> None:
    (tmp_path / "lay:out").mkdir()
    assert parse_layout_ref(f"{tmp_path}/lay:out") == (tmp_path / "lay:out", None)
    assert parse_layout_ref(f"{tmp_path}/lay:out:localhost/a:b") == (
        tmp_path / "lay:out",
        "localhost/a:b",
    )


def test_docker_uncompressed_layer_media_type_is_read(tmp_path: Path) -> None:
    built = write_layout(tmp_path / "l", [tar_bytes([f("app/a.js", "a")])], compression="none")
    manifest_path = tmp_path / "l" / "blobs" / "sha256" / built.manifest_digest.split(":")[1]
    doc = json.loads(manifest_path.read_text())
    doc["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
    doc["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
    doc["layers"][0]["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar"
    data = json.dumps(doc).encode()
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    (tmp_path / "l" / "blobs" / "sha256" / digest).write_bytes(data)
    index = json.loads((tmp_path / "l" / "index.json").read_text())
    index["manifests"][0].update(
        digest=f"sha256:{digest}",
        size=len(data),
        mediaType="application/vnd.docker.distribution.manifest.v2+json",
    )
    (tmp_path / "l" / "index.json").write_text(json.dumps(index))
    with open_image(f"oci-layout:{tmp_path / 'l'}:latest") as image:
        flat = image.read()
    assert flat.tree["/app/a.js"].size == 1
    assert flat.info.layers[0].media_type == "application/vnd.docker.image.rootfs.diff.tar"
