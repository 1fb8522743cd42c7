"""The minimal tar walker against the stdlib tarfile, on every header flavour layers use."""

from __future__ import annotations

import hashlib
import io
import random
import tarfile

import pytest
from imagecorpus import E, d, f, hard, sym, tar_bytes

from buildguard._image.layerindex import Row
from buildguard._image.tarwalk import WANT_HASH, WANT_KEEP, TarWalker
from buildguard.errors import HostileImage, ImageReadError


def walk(data: bytes, chunk: int = 1 << 20, want: int = WANT_HASH) -> TarWalker:
    walker = TarWalker(lambda name: want, "layer 0 (test)")
    for i in range(0, len(data), chunk):
        walker.feed(data[i : i + chunk])
    walker.finish()
    return walker


def rows(walker: TarWalker) -> list[Row]:
    """The entries the walker returned, globals (PAX 'g' headers) left out."""
    return [r for r in walker.index.rows() if r.kind_name != "global"]


def sample_entries() -> list[E]:
    rng = random.Random(7)
    long_dir = "deep/" + "/".join("d" * 40 for _ in range(5))
    return [
        d("app"),
        f("app/a.txt", "hello"),
        f("app/empty", b""),
        f("app/big.bin", rng.randbytes(70_000), mode=0o755),
        d(long_dir),
        f(long_dir + "/" + "n" * 150, "long name"),
        sym("app/link", "a.txt"),
        sym("app/longlink", "/" + "t" * 200),
        hard("app/hl", "app/a.txt"),
        f("app/caf\u00e9.js", "utf8 name"),
        f("app/bad-\udcff.js", "non-utf8 name"),
        f("app/bigid", "x", uid=3_000_000, gid=4_000_000),
        f("app/future", "y", mtime=2**33 + 5),
        E("app/fifo", "fifo"),
    ]


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
@pytest.mark.parametrize("chunk", [1, 511, 512, 4096, 1 << 20])
def test_walker_matches_tarfile(fmt: int, chunk: int) -> None:
    entries = sample_entries()
    if fmt == tarfile.GNU_FORMAT:  # GNU cannot hold the surrogate name byte-exactly
        entries = [e for e in entries if "\udcff" not in e.name]
    data = tar_bytes(entries, fmt=fmt)
    walker = walk(data, chunk=chunk)
    with tarfile.open(
        fileobj=io.BytesIO(data), mode="r:", encoding="utf-8", errors="surrogateescape"
    ) as tar:
        expected = []
        for m in tar:
            digest = None
            if m.isreg():
                fobj = tar.extractfile(m)
                assert fobj is not None
                digest = hashlib.sha256(fobj.read()).hexdigest()
            expected.append(
                (
                    "/" + m.name.rstrip("/"),
                    m.size if m.isreg() else 0,
                    m.mode,
                    int(m.mtime),
                    m.uid,
                    m.gid,
                    m.linkname if m.islnk() or m.issym() else None,
                    digest,
                )
            )
    got = [
        (
            e.path,
            e.size,
            e.mode,
            e.mtime,
            e.uid,
            e.gid,
            e.link,
            e.sha256.hex() if e.sha256 else None,
        )
        for e in rows(walker)
    ]
    assert got == expected
    assert [e.kind_name for e in rows(walker)][-1] == "other"
    assert walker.ended


def test_keep_returns_bytes_and_skip_hashes_nothing() -> None:
    data = tar_bytes([f("a", "payload")])
    assert rows(walk(data, want=WANT_KEEP))[0].data == b"payload"
    skipped = rows(walk(data, want=0))[0]
    assert skipped.sha256 is None and skipped.data is None and skipped.size == 7


def test_bad_checksum_is_hostile_and_names_layer() -> None:
    data = bytearray(tar_bytes([f("a", "x")]))
    data[0] ^= 0x20  # the name changes, the stored checksum does not
    with pytest.raises(HostileImage, match=r"layer 0 \(test\).*checksum"):
        walk(bytes(data))


def test_bad_octal_field_is_hostile() -> None:
    data = bytearray(tar_bytes([f("a", "x")], fmt=tarfile.USTAR_FORMAT))
    data[124:136] = b"9999999999z\x00"
    with pytest.raises(HostileImage):
        walk(bytes(data))


@pytest.mark.parametrize("cut", [100, 512, 700, 1024 + 3])
def test_truncated_stream_is_read_error(cut: int) -> None:
    data = tar_bytes([f("a", b"x" * 600), f("b", "y")])
    with pytest.raises(ImageReadError, match=r"truncated|ends"):
        walk(data[:cut])


def test_base256_size_field() -> None:
    payload = b"z" * 1000
    data = bytearray(tar_bytes([f("a", payload)], fmt=tarfile.USTAR_FORMAT))
    data[124:136] = b"\x80" + (1000).to_bytes(11, "big")
    data[148:156] = b"        "
    data[148:156] = f"{sum(data[:512]):06o}\x00 ".encode()
    entry = rows(walk(bytes(data)))[0]
    assert entry.size == 1000
    assert entry.sha256 == hashlib.sha256(payload).digest()


def test_global_pax_header_is_ignored() -> None:
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "global"}
    ) as tar:
        info = tarfile.TarInfo("x")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"1"))
    assert [e.path for e in rows(walk(buf.getvalue()))] == ["/x"]
