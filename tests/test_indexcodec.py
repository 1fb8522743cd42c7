"""The cache entry codec: the payload keeps its documented layout, any index round-trips
(names that are not UTF-8, more paths than one encoding slice, a name longer than a read-
ahead), and a damaged entry is always an IndexFormatError, never another exception."""

from __future__ import annotations

import contextlib
import hashlib
import json
import struct
from unittest import mock

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from buildguard._image import indexcodec
from buildguard._image import layerindex as li
from buildguard._image.indexcodec import (
    FORMAT,
    MAGIC,
    PATH_SLICE,
    READ_SIZE,
    CachedLayer,
    IndexFormatError,
    decode,
    encode,
)
from buildguard._image.layerindex import LayerIndex

DIGEST = "sha256:" + "ab" * 32
DIFF_ID = "sha256:" + "cd" * 32
RULES = "0123456789abcdef"

# Names as the tar walker makes them: UTF-8, or surrogate escapes for bytes that are not.
_names = (
    st.binary(min_size=1, max_size=40)
    .filter(lambda b: b"\x00" not in b)
    .map(lambda b: "/" + b.decode("utf-8", "surrogateescape"))
)
_entry = st.tuples(
    _names,
    st.sampled_from([li.FILE, li.DIR, li.SYMLINK, li.HARDLINK, li.OTHER]),
    st.integers(0, 2**40),
    st.integers(0, 0o7777),
    st.integers(-(2**40), 2**40),
    st.integers(0, 2**32 - 1),
    st.integers(-5, 2**40),
    st.booleans(),
    st.binary(max_size=30),
)


def _index(entries: list[tuple[str, int, int, int, int, int, int, bool, bytes]]) -> LayerIndex:
    index = LayerIndex()
    for path, kind, size, mode, mtime, uid, gid, hashed, blob in entries:
        link = None
        if kind in (li.SYMLINK, li.HARDLINK):  # a target from bytes too, as the walker does
            link = path.encode("utf-8", "surrogateescape")[::-1].decode("utf-8", "surrogateescape")
        row = index.append(path, kind, size if kind == li.FILE else 0, mode, mtime, uid, gid, link)
        if kind == li.FILE and hashed:
            index.set_digest(row, hashlib.sha256(blob).digest())
            if blob:
                index.set_data(row, blob)
        elif kind == li.FILE:
            index.complete = False
    return index


def _reference_payload(layer: CachedLayer) -> bytes:
    """The payload exactly as the module docstring lays it out, written independently."""
    index = layer.index
    rows = list(index.rows())
    empty = hashlib.sha256(b"").digest()  # -2 in hash_at, no digest stored
    hashed = [r.sha256 for r in rows if r.sha256 is not None and r.sha256 != empty]
    links = sorted((i, r.link) for i, r in enumerate(rows) if r.link is not None)
    data = sorted((i, r.data) for i, r in enumerate(rows) if r.data is not None)
    header = json.dumps(
        {
            "digest": layer.digest,
            "diff_id": layer.diff_id,
            "compression": layer.compression,
            "size": layer.size,
            "rules": layer.rules,
            "rows": len(rows),
            "hashed": len(hashed),
            "links": len(links),
            "data": len(data),
            "complete": index.complete,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    out = [MAGIC, struct.pack("<II", FORMAT, len(header)), header]
    out.append(bytes(r.kind for r in rows))
    out.append(b"".join(struct.pack("<q", r.size) for r in rows))
    out.append(b"".join(struct.pack("<H", r.mode) for r in rows))
    out.append(b"".join(struct.pack("<q", r.mtime) for r in rows))
    out.append(b"".join(struct.pack("<q", r.uid) for r in rows))
    out.append(b"".join(struct.pack("<q", r.gid) for r in rows))
    positions, seen = [], 0
    for r in rows:
        stored = r.sha256 is not None and r.sha256 != empty
        positions.append(-1 if r.sha256 is None else seen if stored else -2)
        seen += stored
    out.append(b"".join(struct.pack("<i", p) for p in positions))
    out.append(b"".join(h for h in hashed if h is not None))
    out.append(b"".join(r.path.encode("utf-8", "surrogateescape") + b"\x00" for r in rows))
    for i, target in links:
        assert target is not None
        out.append(struct.pack("<I", i) + target.encode("utf-8", "surrogateescape") + b"\x00")
    for i, blob in data:
        assert blob is not None
        out.append(struct.pack("<IQ", i, len(blob)) + blob)
    return b"".join(out)


def _rows(index: LayerIndex) -> tuple[object, ...]:
    """Everything an index holds, column by column (the arrays' widths may differ)."""
    c = index.columns()
    return (
        index.paths,
        *(
            getattr(c, name).tolist()
            for name in ("kind", "size", "mode", "mtime", "uid", "gid", "hash_at")
        ),
        bytes(c.digests),
        c.links,
        c.data,
        index.complete,
    )


@settings(derandomize=True, max_examples=150, deadline=None)
@given(st.lists(_entry, max_size=40), st.sampled_from(["gzip", "zstd", "none"]))
def test_any_index_round_trips_in_the_documented_layout(
    entries: list[tuple[str, int, int, int, int, int, int, bool, bytes]], compression: str
) -> None:
    layer = CachedLayer(DIGEST, DIFF_ID, compression, _index(entries), 1234, RULES)
    raw = encode(layer)
    payload = zstandard.ZstdDecompressor().decompress(raw, max_output_size=1 << 30)
    assert payload == _reference_payload(layer)
    back = decode(raw)
    assert (back.digest, back.diff_id, back.compression) == (DIGEST, DIFF_ID, compression)
    assert (back.size, back.rules) == (1234, RULES)
    assert back.index.paths == layer.index.paths
    assert _rows(back.index) == _rows(layer.index)
    assert back.index.complete == layer.index.complete
    assert encode(back) == raw
    with mock.patch.object(indexcodec, "READ_SIZE", 64):  # strings across read-aheads
        assert _rows(decode(raw).index) == _rows(layer.index)


def test_a_large_index_round_trips_across_slices_and_read_aheads() -> None:
    """More paths than PATH_SLICE, a payload of several READ_SIZE, names that are not UTF-8
    at slice edges, and one name longer than a read-ahead (the real sizes, then tiny ones)."""
    entries = []
    for i in range(PATH_SLICE * 2 + 77):
        name = f"/app/node_modules/pkg{i % 997}/f{i}-" + ("é" if i % 3 else "\udcff") + ".js"
        entries.append((name, li.FILE if i % 5 else li.SYMLINK, i, 0o644, i, 0, 0, i % 2 == 0, b""))
    entries.insert(
        PATH_SLICE - 1, ("/" + "x" * (READ_SIZE + 10), li.DIR, 0, 0o755, 0, 0, 0, False, b"")
    )
    layer = CachedLayer(DIGEST, DIFF_ID, "gzip", _index(entries), 1234, RULES)
    raw = encode(layer)
    assert len(zstandard.ZstdDecompressor().decompress(raw, max_output_size=1 << 30)) > (
        3 * READ_SIZE
    )
    for path_slice, read_size in ((PATH_SLICE, READ_SIZE), (7, 333)):
        with (
            mock.patch.object(indexcodec, "PATH_SLICE", path_slice),
            mock.patch.object(indexcodec, "READ_SIZE", read_size),
        ):
            assert encode(layer) == raw  # the bytes do not depend on how the input is cut
            back = decode(raw)
        assert back.index.paths == layer.index.paths
        assert _rows(back.index) == _rows(layer.index)


def _payload_entry(payload: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=indexcodec.ZSTD_LEVEL).compress(payload)


def test_every_truncation_or_trailing_byte_is_an_index_format_error() -> None:
    entries = [
        (f"/d/f{i}\udcfe", li.FILE, i, 0o644, 0, 0, 0, True, b"x" * i) for i in range(50)
    ] + [("/d/l", li.SYMLINK, 0, 0o777, 0, 0, 0, False, b"")]
    layer = CachedLayer(DIGEST, DIFF_ID, "gzip", _index(entries), 1234, RULES)
    raw = encode(layer)
    payload = _reference_payload(layer)
    for cut in range(0, len(payload), 7):  # a payload cut short, sealed in a whole frame
        with pytest.raises(IndexFormatError):
            decode(_payload_entry(payload[:cut]))
    with pytest.raises(IndexFormatError, match="trailing"):
        decode(_payload_entry(payload + b"\x00"))
    for cut in range(0, len(raw), max(1, len(raw) // 40)):  # a frame cut short
        with pytest.raises(IndexFormatError):
            decode(raw[:cut])
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    with contextlib.suppress(IndexFormatError):  # refused, or other bytes the seal catches:
        decode(bytes(flipped))  # anything else would be a crash
