"""Bodies a hostile server sends, made at test time (a few KB each, never stored on disk).

Bombs: a small encoded body that decodes to half a gigabyte or more (:func:`bomb`). Streams that
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
def bomb(coding: str, mib: int | None = None) -> tuple[str, bytes]:
    """``(Content-Encoding, body)``: a few KB that decode to ``mib`` MiB of zeros. br and
    zstd in one coding (1 GiB: ~1.6 KB, ~32 KB); gzip and deflate twice (``gzip, gzip``;
    512 MiB: ~6 KB), as their ratio is only about 1:1000 per pass."""
    block = b"\0" * MIB
    if coding == "br":
        c = brotli.Compressor(quality=5)
        return "br", b"".join(c.process(block) for _ in range(mib or 1024)) + c.finish()
    if coding == "zstd":
        z = zstandard.ZstdCompressor(level=3).compressobj()
        return "zstd", b"".join(z.compress(block) for _ in range(mib or 1024)) + z.flush()
    wbits = 31 if coding == "gzip" else 15
    d = zlib.compressobj(1, zlib.DEFLATED, wbits)
    inner = b"".join(d.compress(block) for _ in range(mib or 512)) + d.flush()
    d = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return f"{coding}, {coding}", d.compress(inner) + d.flush()


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
