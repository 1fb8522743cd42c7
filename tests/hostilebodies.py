"""Bodies a hostile server sends, made at test time (a few KB each, never stored on disk).

Bombs: a small encoded body that decodes to a gigabyte or more (:func:`bomb`). Streams that
decode to nothing, forever (:func:`nothing_forever`): empty gzip members, empty deflate
stored blocks, empty brotli metadata blocks, zstd skippable frames — each a short unit
repeated without end. Both per Content-Encoding: ``gzip``, ``deflate``, ``br``, ``zstd``.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from collections.abc import Iterator

import brotli
import zstandard

CODINGS = ("gzip", "deflate", "br", "zstd")
MIB = 1 << 20


@functools.cache
def bomb(coding: str, mib: int | None = None, fill: bytes = b"\0") -> bytes:
    """``mib`` MiB of ``fill`` bytes, encoded: by default 1 GiB for br (~1.6 KB) and zstd
    (~32 KB); 64 MiB for gzip and deflate (~65 KB: their ratio is about 1:1000)."""
    if mib is None:
        mib = 1024 if coding in ("br", "zstd") else 64
    block = fill * MIB
    if coding == "br":
        c = brotli.Compressor(quality=5)
        return b"".join(c.process(block) for _ in range(mib)) + c.finish()
    if coding == "zstd":
        z = zstandard.ZstdCompressor(level=3).compressobj()
        return b"".join(z.compress(block) for _ in range(mib)) + z.flush()
    wbits = 31 if coding == "gzip" else 15
    d = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(d.compress(block) for _ in range(mib)) + d.flush()


_UNITS = {
    # an empty gzip member: header, an empty final deflate block, CRC and size
    "gzip": (b"", gzip.compress(b"", mtime=0)),
    # zlib header, then non-final empty stored blocks (BFINAL 0, BTYPE 00, LEN 0, NLEN ~0)
    "deflate": (b"\x78\x9c", b"\x00\x00\x00\xff\xff"),
    # window bits, then empty metadata blocks (ISLAST 0, MNIBBLES 0, MSKIPBYTES 0)
    "br": (b"\x0c", b"\x06"),
    # skippable frames of no content
    "zstd": (b"", (0x184D2A50).to_bytes(4, "little") + bytes(4)),
}


def nothing_forever(coding: str, chunk: int = 64 << 10) -> Iterator[bytes]:
    """An endless valid stream of ``coding`` that decodes to no bytes at all."""
    head, unit = _UNITS[coding]
    block = unit * max(1, chunk // len(unit))
    yield head + block
    while True:
        yield block
