"""The bytes of a cached layer index: deterministic, versioned, compact.

A cache entry holds one :class:`~buildguard._image.layerindex.LayerIndex` and what identifies
the layer it came from (compressed digest and size, DiffID, compression) and the reading
rules it was made under. The same index always gives
the same bytes (fixed-width little-endian columns, NUL-joined names, zstd at a fixed level),
so concurrent writers of one layer write identical entries.

Layout of the payload (before compression)::

    b"BGLI" u32 FORMAT
    u32 len + header JSON (digest, diff_id, compression, size, rules, rows, hashed, links,
                           data, complete)
    kind u8[rows] | size i64[rows] | mode u16[rows] | mtime i64[rows] | uid i64[rows]
    | gid i64[rows] | hash_at i32[rows] (-1 not hashed, -2 empty) | digests (32 bytes each)
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
from collections.abc import Iterator
from dataclasses import dataclass

import zstandard

from buildguard._image.layerindex import LayerIndex

FORMAT = 3
"""Bump when the layout or the meaning of an index changes: old entries are then ignored."""
MAGIC = b"BGLI"
ZSTD_LEVEL = 3
MAX_ENTRY = 2 << 30
"""The largest decompressed entry accepted (a 10M-entry layer is ~1.5 GB)."""
PATH_SLICE = 65536
"""Paths are encoded this many at a time (one C call each, no per-path temporaries)."""
READ_SIZE = 1 << 20
"""Decompressed bytes read ahead at a time when decoding."""
ZSTD_SLICE = 4096
"""Compressed bytes fed to zstd per call: zstd has no output bound per call, and a slice this
small inflates to a bounded size even for a maximally redundant frame."""


class IndexFormatError(Exception):
    """The bytes are not a layer index of this format (damaged, truncated, other version)."""


@dataclass(frozen=True)
class CachedLayer:
    digest: str
    diff_id: str
    compression: str
    index: LayerIndex
    size: int
    """The compressed blob's size in bytes (a descriptor naming another size is not this
    layer: the runtime would refuse the pull)."""
    rules: str
    """The reading rules the index was made under (:func:`~buildguard._image.readingrules.
    reading_rules`)."""


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


def _payload(layer: CachedLayer) -> Iterator[bytes]:
    """The uncompressed entry, in parts (never joined: a million-entry index is ~120 MB)."""
    index = layer.index
    columns = index.columns()
    links = sorted(columns.links.items())
    data = sorted(columns.data.items())
    header = json.dumps(
        {
            "digest": layer.digest,
            "diff_id": layer.diff_id,
            "compression": layer.compression,
            "size": layer.size,
            "rules": layer.rules,
            "rows": len(index),
            "hashed": len(columns.digests) // 32,
            "links": len(links),
            "data": len(data),
            "complete": index.complete,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    yield MAGIC + struct.pack("<II", FORMAT, len(header)) + header
    yield _le(columns.kind, "B")
    yield _le(columns.size, "q")
    yield _le(columns.mode, "H")
    yield _le(columns.mtime, "q")
    yield _le(columns.uid, "q")
    yield _le(columns.gid, "q")
    yield _le(columns.hash_at, "i")
    yield bytes(columns.digests)
    paths = index.paths
    for start in range(0, len(paths), PATH_SLICE):  # one C call per slice, not per path
        yield (
            "\x00".join(paths[start : start + PATH_SLICE]).encode("utf-8", "surrogateescape")
            + b"\x00"
        )
    for row, target in links:
        yield struct.pack("<I", row) + target.encode("utf-8", "surrogateescape") + b"\x00"
    for row, blob in data:
        yield struct.pack("<IQ", row, len(blob))
        yield blob


def encode(layer: CachedLayer) -> bytes:
    """The entry's bytes: the payload streamed through one zstd compressor (at a fixed level,
    cut into the same parts for the same index, so the same index gives the same bytes)."""
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()
    out = [compressor.compress(part) for part in _payload(layer)]
    out.append(compressor.flush())
    return b"".join(out)


class _Reader:
    """The payload of an entry, decompressed as it is read: the whole payload is never in
    memory at once, and each zstd input slice is small (bounded output per call)."""

    def __init__(self, raw: bytes) -> None:
        self._raw = memoryview(raw)
        self._fed = 0
        self._inflater = zstandard.ZstdDecompressor().decompressobj()
        self._buf = b""
        self._pos = 0
        self._total = 0

    def _inflate(self) -> bytes:
        """The next decompressed bytes (about READ_SIZE); ``b""`` at the end of the frame."""
        pieces = []
        got = 0
        while got < READ_SIZE and not self._inflater.eof:
            if self._fed >= len(self._raw):
                raise IndexFormatError("not a zstd frame: the frame is truncated")
            piece = self._raw[self._fed : self._fed + ZSTD_SLICE]
            self._fed += len(piece)
            try:
                out = self._inflater.decompress(piece)
            except zstandard.ZstdError as exc:
                raise IndexFormatError(f"not a zstd frame: {exc}") from None
            if out:
                pieces.append(out)
                got += len(out)
        self._total += got
        if self._total > MAX_ENTRY:
            raise IndexFormatError(f"the entry is larger than {MAX_ENTRY} bytes")
        return b"".join(pieces)

    def _fill(self, n: int) -> bool:
        """At least ``n`` unread bytes in the buffer; False if the payload ends first."""
        have = len(self._buf) - self._pos
        if have >= n:
            return True
        parts = [self._buf[self._pos :]]
        while have < n:
            more = self._inflate()
            if not more:
                break
            parts.append(more)
            have += len(more)
        self._buf = b"".join(parts)
        self._pos = 0
        return have >= n

    def take(self, n: int) -> bytes:
        if n < 0 or not self._fill(n):
            raise IndexFormatError("the entry is truncated")
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        return out

    def cstring(self) -> str:
        while (end := self._buf.find(b"\x00", self._pos)) < 0:
            if not self._fill(2 * (len(self._buf) - self._pos) + 1):  # doubling: linear
                raise IndexFormatError("the entry is truncated")
        out = self._buf[self._pos : end]
        self._pos = end + 1
        return out.decode("utf-8", "surrogateescape")

    def cstrings(self, count: int) -> list[str]:
        """``count`` NUL-terminated strings, decoded up to READ_SIZE bytes at a time (a NUL
        byte never occurs inside a UTF-8 sequence, so slicing at NULs decodes the same)."""
        out: list[str] = []
        while (need := count - len(out)) > 0:
            self._fill(READ_SIZE)
            end = self._buf.rfind(b"\x00", self._pos, self._pos + READ_SIZE)
            if need < 64 or end < 0:  # a few strings, or one longer than a slice
                out.append(self.cstring())
                continue
            text = self._buf[self._pos : end].decode("utf-8", "surrogateescape")
            parts = text.split("\x00", need)
            if len(parts) > need:  # more strings in the slice than asked for
                rest = parts.pop()
                self._pos = end - len(rest.encode("utf-8", "surrogateescape"))
            else:
                self._pos = end + 1
            out.extend(parts)
        return out

    def at_end(self) -> bool:
        return self._pos == len(self._buf) and not self._inflate()


def _narrow(column: array[int]) -> array[int]:
    """A 64-bit column as the 32-bit unsigned one the index keeps while every value fits
    (half the memory; the index widens it again if a value ever needs it)."""
    if not column or (min(column) >= 0 and max(column) < 1 << 32):
        return array("I", column)
    return column


def decode(raw: bytes) -> CachedLayer:
    cur = _Reader(raw)
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
        blob_size, rules = int(head["size"]), str(head["rules"])
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexFormatError(f"bad header: {exc}") from None
    kind = _from_le(cur.take(rows), "B")
    size = _narrow(_from_le(cur.take(8 * rows), "q"))
    mode = _from_le(cur.take(2 * rows), "H")
    mtime = _narrow(_from_le(cur.take(8 * rows), "q"))
    uid = _narrow(_from_le(cur.take(8 * rows), "q"))
    gid = _narrow(_from_le(cur.take(8 * rows), "q"))
    hash_at = _from_le(cur.take(4 * rows), "i")
    digests = bytearray(cur.take(32 * hashed))
    paths = cur.cstrings(rows)
    links = {}
    for _ in range(nlinks):
        (row,) = struct.unpack("<I", cur.take(4))
        links[row] = cur.cstring()
    blobs = {}
    for _ in range(ndata):
        row, length = struct.unpack("<IQ", cur.take(12))
        blobs[row] = cur.take(length)
    if not cur.at_end():
        raise IndexFormatError("trailing bytes after the index")
    if (rows and (min(hash_at) < -2 or max(hash_at) >= hashed or max(kind) > 5)) or any(
        r >= rows for r in (*links, *blobs)
    ):
        raise IndexFormatError("a row refers to nothing")
    try:
        index = LayerIndex.from_columns(
            paths, kind, size, mode, mtime, uid, gid, hash_at, digests, links, blobs, complete
        )
    except ValueError as exc:
        raise IndexFormatError(str(exc)) from None
    return CachedLayer(digest, diff_id, compression, index, blob_size, rules)
