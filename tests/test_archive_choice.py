"""``docker-archive:PATH:NAME[:TAG]`` chooses one image of a multi-image ``docker save``
(issue 25, item 2): the image read is the one ``docker load`` tags NAME (checked against
``docker export``); no name, or a name that fits none or several, is refused with the list."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from clitools import buildguard_cli
from savecases import BY_NAME, EVIL, GOOD, TAG, Img, file_member
from services import Dockerd
from tarcraft import serialize

from buildguard._image import open_image
from buildguard._image.archive import parse_archive_ref
from buildguard.errors import ImageReadError, UsageError

GOOD_TAG = "buildguard-choice/good:1"
EVIL_TAG = "buildguard-choice/evil:2"


def two_images(path: Path) -> Path:
    good, evil = Img(GOOD), Img(EVIL)
    manifest = json.dumps(
        [
            {"Config": good.config_name, "RepoTags": [GOOD_TAG], "Layers": [good.layer_name]},
            {"Config": evil.config_name, "RepoTags": [EVIL_TAG], "Layers": [evil.layer_name]},
        ]
    ).encode()
    path.write_bytes(
        serialize([*good.members(), *evil.members(), file_member("manifest.json", manifest)])
    )
    return path


def _app_js(ref: str) -> bytes | None:
    with open_image(ref) as image:
        flat = image.read(paths=["/app"])
    entry = flat.tree["/app/app.js"]
    return {hashlib.sha256(b).hexdigest(): b for b in (GOOD, EVIL)}.get(entry.sha256 or "")


def test_name_chooses_the_image(tmp_path: Path) -> None:
    archive = two_images(tmp_path / "two.tar")
    assert _app_js(f"docker-archive:{archive}:{GOOD_TAG}") == GOOD
    assert _app_js(f"docker-archive:{archive}:{EVIL_TAG}") == EVIL


@pytest.mark.parametrize("suffix", ["", ":buildguard-choice/none:1", ":buildguard-choice/good"])
def test_no_choice_or_a_wrong_one_is_refused_with_the_list(tmp_path: Path, suffix: str) -> None:
    archive = two_images(tmp_path / "two.tar")
    with (
        open_image(f"docker-archive:{archive}{suffix}") as image,
        pytest.raises(ImageReadError) as caught,
    ):
        image.read()
    assert GOOD_TAG in caught.value.message and EVIL_TAG in caught.value.message
    assert "docker-archive:PATH:NAME" in (caught.value.hint or "")


def test_a_single_image_archive_must_carry_the_name_given(tmp_path: Path) -> None:
    good = Img(GOOD)
    path = tmp_path / "one.tar"
    path.write_bytes(
        serialize([*good.members(), file_member("manifest.json", good.manifest(tag=GOOD_TAG))])
    )
    assert _app_js(f"docker-archive:{path}") == GOOD
    assert _app_js(f"docker-archive:{path}:{GOOD_TAG}") == GOOD
    assert _app_js(f"docker-archive:{path}:docker.io/buildguard-choice/good:1") == GOOD
    with pytest.raises(ImageReadError, match="none is tagged other:1"):
        _app_js(f"docker-archive:{path}:other:1")


def test_a_name_finds_the_image_in_index_json_too(tmp_path: Path) -> None:
    """docker >= 25 writes both views; containerd names the image docker.io/…."""
    path = tmp_path / "both.tar"
    path.write_bytes(BY_NAME["index-agrees"].data)
    assert _app_js(f"docker-archive:{path}:{TAG}") == GOOD
    assert _app_js(f"docker-archive:{path}") == GOOD


def test_archive_reference_forms(tmp_path: Path) -> None:
    odd = tmp_path / "a:b.tar"
    odd.write_bytes(b"")
    assert parse_archive_ref(str(odd)) == (odd, None)
    assert parse_archive_ref(f"{odd}:app:1") == (odd, "app:1")
    assert parse_archive_ref(f"{tmp_path / 'x.tar'}:app") == (tmp_path / "x.tar:app", None)
    with pytest.raises(UsageError):
        parse_archive_ref(f"{odd}:")
    with pytest.raises(UsageError):
        parse_archive_ref("")


@pytest.mark.docker
def test_choice_agrees_with_docker_save_and_export(dockerd: Dockerd, tmp_path: Path) -> None:
    """Both images loaded into dockerd and saved again by it in one archive; each NAME reads
    what ``docker export`` of that image serves."""
    dockerd.docker("load", "-i", str(two_images(tmp_path / "two.tar")))
    saved = tmp_path / "saved.tar"
    try:
        dockerd.docker("save", "-o", str(saved), GOOD_TAG, EVIL_TAG)
        for tag in (GOOD_TAG, EVIL_TAG):
            cid = dockerd.docker("create", tag, "sh").stdout.strip()
            exported = subprocess.run(
                [dockerd.cli, "export", cid],
                env=dockerd.env,
                capture_output=True,
                timeout=300,
                check=True,
            ).stdout
            dockerd.docker("rm", cid)
            with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
                member = tar.extractfile("app/app.js")
                assert member is not None
                served = member.read()
            assert _app_js(f"docker-archive:{saved}:{tag}") == served
        done = buildguard_cli("inspect", f"docker-archive:{saved}")
        assert done.returncode == 3, done.stderr
        assert GOOD_TAG in done.stderr and EVIL_TAG in done.stderr
    finally:
        dockerd.docker("rmi", "-f", GOOD_TAG, EVIL_TAG, check=False)
