"""What a layer refusal says (issue 25, item 4): its prefix once, a size-only mismatch
without the same digest twice, the header's real offset."""

from __future__ import annotations

from pathlib import Path

import pytest
from imagecorpus import sha, write_docker_archive, write_layout
from tarcraft import Header, Member, serialize

from buildguard._image import open_image
from buildguard.errors import BuildguardError, DigestMismatch, HostileImage

GOOD = serialize([Member(Header(name=b"app/a.js"), b"a" * 3000)])
BAD_AT_3584 = serialize(
    [
        Member(Header(name=b"app/a.js"), b"a" * 3000),
        Member(Header(name=b"app/b.js", size=b"zz\x00")),
    ]
)
"""The second header starts at byte 512 + 3072 = 3584; its size is not octal."""


def _refusal(ref: str) -> BuildguardError:
    with open_image(ref) as image, pytest.raises(BuildguardError) as caught:
        image.read()
    return caught.value


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_layer_refusal_names_the_layer_once_and_the_header_offset(
    tmp_path: Path, compression: str
) -> None:
    built = write_layout(tmp_path / "l", [GOOD, BAD_AT_3584], compression=compression)
    err = _refusal(f"oci-layout:{tmp_path / 'l'}:latest")
    assert isinstance(err, HostileImage)
    assert err.message.count("layer 1 (") == 1, err.message
    assert err.message.startswith(f"layer 1 ({built.layer_digests[1]}): ")
    assert "the tar header at byte 3584:" in err.message, err.message


def test_archive_layer_refusal_names_the_layer_once(tmp_path: Path) -> None:
    write_docker_archive(tmp_path / "a.tar", [BAD_AT_3584])
    err = _refusal(f"docker-archive:{tmp_path / 'a.tar'}")
    assert isinstance(err, HostileImage)
    assert err.message.count("layer 0 (") == 1, err.message
    assert "at byte 3584:" in err.message


def test_size_only_mismatch_prints_the_digest_once(tmp_path: Path) -> None:
    write_layout(tmp_path / "l", [GOOD], compression="none", sizes=[len(GOOD) + 512])
    err = _refusal(f"oci-layout:{tmp_path / 'l'}:latest")
    assert isinstance(err, DigestMismatch)
    assert err.message.count(sha(GOOD)) == 1, err.message
    assert f"read {len(GOOD)} bytes; expected {len(GOOD) + 512} bytes" in err.message


def test_diff_id_mismatch_of_an_unreadable_plain_layer_says_each_thing_once(tmp_path: Path) -> None:
    cut = BAD_AT_3584[:3000]
    built = write_layout(tmp_path / "l", [cut], compression="none", diff_ids=[sha(GOOD)])
    err = _refusal(f"oci-layout:{tmp_path / 'l'}:latest")
    assert isinstance(err, DigestMismatch)
    assert err.message.count(built.layer_digests[0]) == 1, err.message
    assert err.message.count("layer 0") == 1, err.message
    assert "reading it also failed: the tar ends in the middle of an entry" in err.message
