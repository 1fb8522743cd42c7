"""The bytes of a cached layer index: deterministic, versioned, compact.

A cache entry holds one :class:`~buildguard.image.layerindex.LayerIndex` and what identifies
the layer it came from (compressed digest, DiffID, compression). The same index always gives
the same bytes (fixed-width little-endian columns, NUL-joined names, zstd at a fixed level),
so concurrent writers of one layer write identical entries.

Layout of the payload (before compression)::

    b"BGLI" u32 FORMAT
    u32 len + header JSON (digest, diff_id, compression, rows, hashed, links, data)
    kind u8[rows] | size i64[rows] | mode u16[rows] | mtime i64[rows] | uid i64[rows]
    | gid i64[rows] | hash_at i32[rows] | digests (32 bytes each)
    | paths (NUL-terminated, UTF-8 with surrogateescape)
    | links: (u32 row, NUL-terminated target)* | data: (u32 row, u64 length, bytes)*

:func:`decode` checks every length and raises :class:`IndexFormatError` on anything else,
so a damaged entry is never half-trusted.
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from dataclasses import dataclass

import zstandard

from buildguard.image.layerindex import LayerIndex

FORMAT = 1
"""Bump when the layout or the meaning of an index changes: old entries are then ignored."""
MAGIC = b"BGLI"
ZSTD_LEVEL = 3
MAX_ENTRY = 2 << 30
"""The largest decompressed entry accepted (a 10M-entry layer is ~1.5 GB)."""


class IndexFormatError(Exception):
    """The bytes are not a layer index of this format (damaged, truncated, other version)."""


@dataclass(frozen=True)
class CachedLayer:
    digest: str
    diff_id: str
    compression: str
    index: LayerIndex


def _le(column: array[int], typecode: str) -> bytes:
    out = array(typecode, column) if column.typecode != typecode else column
    if sys.byteorder != "little":  # pragma: no cover - the columns are stored little-endian
        out = array(typecode, out)
        out.byteswap()
    return out.tobytes()


def _from_le(data: bytes, typecode: str) -> array[int]:
    out = array(typecode)
    out.frombytes(data)
    if sys.byteorder != "little":  # pragma: no cover
        out.byteswap()
    return out


def encode(layer: CachedLayer) -> bytes:
    index = layer.index
    columns = index.columns()
    links = sorted(columns.links.items())
    data = sorted(columns.data.items())
    header = json.dumps(
        {"digest": layer.digest, "diff_id": layer.diff_id, "compression": layer.compression,
         "rows": len(index), "hashed": len(columns.digests) // 32, "links": len(links),
         "data": len(data), "complete": index.complete},
        sort_keys=True, separators=(",", ":"),
    ).encode()
    parts = [
        MAGIC, struct.pack("<II", FORMAT, len(header)), header,
        _le(columns.kind, "B"), _le(columns.size, "q"), _le(columns.mode, "H"),
        _le(columns.mtime, "q"), _le(columns.uid, "q"), _le(columns.gid, "q"),
        _le(columns.hash_at, "i"), bytes(columns.digests),
        b"".join(p.encode("utf-8", "surrogateescape") + b"\x00" for p in index.paths),
    ]
    for row, target in links:
        parts += [struct.pack("<I", row), target.encode("utf-8", "surrogateescape"), b"\x00"]
    for row, blob in data:
        parts += [struct.pack("<IQ", row, len(blob)), blob]
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(b"".join(parts))


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise IndexFormatError("the entry is truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def cstring(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise IndexFormatError("the entry is truncated")
        out = self.data[self.pos : end]
        self.pos = end + 1
        return out.decode("utf-8", "surrogateescape")


def decode(raw: bytes) -> CachedLayer:
    try:
        data = zstandard.ZstdDecompressor().decompress(raw, max_output_size=MAX_ENTRY)
    except zstandard.ZstdError as exc:
        raise IndexFormatError(f"not a zstd frame: {exc}") from None
    cur = _Cursor(data)
    if cur.take(4) != MAGIC:
        raise IndexFormatError("not a buildguard layer index")
    version, header_len = struct.unpack("<II", cur.take(8))
    if version != FORMAT:
        raise IndexFormatError(f"index format {version}, this buildguard reads {FORMAT}")
    try:
        head = json.loads(cur.take(header_len))
        rows, hashed = int(head["rows"]), int(head["hashed"])
        nlinks, ndata = int(head["links"]), int(head["data"])
        digest, diff_id = str(head["digest"]), str(head["diff_id"])
        compression, complete = str(head["compression"]), bool(head["complete"])
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexFormatError(f"bad header: {exc}") from None
    kind = _from_le(cur.take(rows), "B")
    size = _from_le(cur.take(8 * rows), "q")
    mode = _from_le(cur.take(2 * rows), "H")
    mtime = _from_le(cur.take(8 * rows), "q")
    uid = _from_le(cur.take(8 * rows), "q")
    gid = _from_le(cur.take(8 * rows), "q")
    hash_at = _from_le(cur.take(4 * rows), "i")
    digests = bytearray(cur.take(32 * hashed))
    paths = [cur.cstring() for _ in range(rows)]
    links = {}
    for _ in range(nlinks):
        (row,) = struct.unpack("<I", cur.take(4))
        links[row] = cur.cstring()
    blobs = {}
    for _ in range(ndata):
        row, length = struct.unpack("<IQ", cur.take(12))
        blobs[row] = cur.take(length)
    if cur.pos != len(data):
        raise IndexFormatError("trailing bytes after the index")
    if any(not -1 <= at < hashed for at in hash_at) or any(k > 5 for k in kind) or any(
        r >= rows for r in (*links, *blobs)
    ):
        raise IndexFormatError("a row refers to nothing")
    try:
        index = LayerIndex.from_columns(
            paths, kind, size, mode, mtime, uid, gid, hash_at, digests, links, blobs, complete
        )
    except ValueError as exc:
        raise IndexFormatError(str(exc)) from None
    return CachedLayer(digest, diff_id, compression, index)
