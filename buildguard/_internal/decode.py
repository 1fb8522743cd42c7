"""Content-Encoding decoding with bounded memory: pull readers that never return more than
asked for, so a small compressed body that inflates to gigabytes (a bomb) costs one chunk.

httpx decodes gzip, deflate and zstd (br only with a brotli package) but each network chunk
in one call, without an output limit; here each coding is a reader over the one below it:
gzip through :class:`gzip.GzipFile` (multi-member), deflate with ``zlib`` and
``max_length`` (zlib-wrapped, or raw as some servers send it), br with ``brotli``'s
``output_buffer_limit``, zstd with ``zstandard``'s ``stream_reader`` (frames concatenated).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from typing import IO, Any, Protocol, cast

import brotli
import zstandard

SUPPORTED = ("gzip", "x-gzip", "deflate", "br", "zstd", "identity")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class DecodeError(Exception):
    """The body is not valid data of its Content-Encoding."""


class UnsupportedEncoding(Exception):
    """A Content-Encoding buildguard cannot decode."""


class IterReader:
    """A file-like ``read(n)`` over an iterator of byte chunks (the raw network body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._done = False

    def read(self, size: int = -1, /) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._done = True
                break
            self._buffer += chunk
            if size >= 0:
                break  # return what we have rather than wait for more
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def readable(self) -> bool:
        return True


class _DeflateReader:
    def __init__(self, source: Readable) -> None:
        self._source = source
        self._obj: Any = None
        self._pending = b""
        self._eof = False

    def read(self, size: int = -1, /) -> bytes:
        limit = size if size > 0 else 1 << 20
        while True:
            if self._pending:
                data, self._pending = self._pending, b""
            elif self._eof:
                return b""
            else:
                data = self._source.read(1 << 16)
                if not data:
                    self._eof = True
                    if self._obj is not None and not self._obj.eof:
                        raise DecodeError("deflate stream ends early")
                    return b""
            if self._obj is None:
                # RFC 9110 deflate is zlib-wrapped; some servers send raw deflate
                wrapped = (
                    len(data) >= 2
                    and (data[0] & 0x0F) == 8
                    and ((data[0] << 8) | data[1]) % 31 == 0
                )
                self._obj = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            try:
                out = self._obj.decompress(data, limit)
            except zlib.error as exc:
                raise DecodeError(f"deflate: {exc}") from None
            self._pending = self._obj.unconsumed_tail
            if self._obj.eof:
                if self._obj.unused_data.strip(b"\0"):
                    raise DecodeError("deflate: data after the end of the stream")
                self._eof = True
                self._pending = b""
            if out:
                return bytes(out)


class _BrotliReader:
    def __init__(self, source: Readable) -> None:
        self._source = source
        self._dec = brotli.Decompressor()
        self._eof = False
        self._over = b""  # brotli may return a little more than the limit

    def read(self, size: int = -1, /) -> bytes:
        limit = size if size > 0 else 1 << 20
        if not self._over:
            self._over = self._next(limit)
        out, self._over = self._over[:limit], self._over[limit:]
        return out

    def _next(self, limit: int) -> bytes:
        while not self._eof:
            try:
                if not self._dec.can_accept_more_data():
                    out = self._dec.process(b"", output_buffer_limit=limit)
                else:
                    data = self._source.read(1 << 16)
                    if not data:
                        # the decoder may still hold output for the input it has
                        out = (
                            b""
                            if self._dec.is_finished()
                            else self._dec.process(b"", output_buffer_limit=limit)
                        )
                        if out:
                            return bytes(out)
                        self._eof = True
                        if not self._dec.is_finished():
                            raise DecodeError("br stream ends early")
                        return b""
                    if self._dec.is_finished():
                        raise DecodeError("br: data after the end of the stream")
                    out = self._dec.process(data, output_buffer_limit=limit)
            except brotli.error as exc:
                raise DecodeError(f"br: {exc}") from None
            if out:
                return bytes(out)
        return b""


class _GzipReader:
    def __init__(self, source: Readable) -> None:
        self._file = gzip.GzipFile(fileobj=cast(IO[bytes], source), mode="rb")

    def read(self, size: int = -1, /) -> bytes:
        try:
            data: bytes = self._file.read(size if size > 0 else 1 << 20)
            return data
        except (OSError, EOFError, zlib.error) as exc:
            raise DecodeError(f"gzip: {exc}") from None


class _Tee:
    """Hands the source's bytes to a reader and to the frame walker."""

    def __init__(self, source: Readable, frames: ZstdFrames) -> None:
        self._source = source
        self._frames = frames

    def read(self, size: int = -1, /) -> bytes:
        data = self._source.read(size)
        self._frames.feed(data)
        return data


class _ZstdReader:
    def __init__(self, source: Readable) -> None:
        self._frames = ZstdFrames()
        self._reader = zstandard.ZstdDecompressor().stream_reader(
            cast(IO[bytes], _Tee(source, self._frames)),
            read_across_frames=True,
            closefd=False,
        )

    def read(self, size: int = -1, /) -> bytes:
        try:
            data: bytes = self._reader.read(size if size > 0 else 1 << 20)
        except zstandard.ZstdError as exc:
            raise DecodeError(f"zstd: {exc}") from None
        if not data:
            self._frames.finish()
        return data


ZSTD_MAGIC = 0xFD2FB528
SKIPPABLE_MAGIC = 0x184D2A50  # to 0x184D2A5F


class ZstdFrames:
    """Walks zstd frames (RFC 8878) over the compressed bytes, only to tell whether the
    stream ends where a frame ends: zstandard's streaming reader, which bounds the output
    we need, returns a cut-off stream's output without an error. Block contents are
    skipped, never decoded; the reader still decodes (and checks) everything."""

    def __init__(self) -> None:
        self._want = 4  # bytes of the next header part
        self._part = "magic"
        self._buf = b""
        self._skip = 0
        self._checksum = False

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._skip:
                step = min(self._skip, len(view))
                self._skip -= step
                view = view[step:]
                continue
            need = self._want - len(self._buf)
            self._buf += bytes(view[:need])
            view = view[need:]
            if len(self._buf) == self._want:
                head, self._buf = self._buf, b""
                self._header(head)

    def _header(self, head: bytes) -> None:
        if self._part == "magic":
            magic = int.from_bytes(head, "little")
            if magic == ZSTD_MAGIC:
                self._part, self._want = "descriptor", 1
            elif magic & 0xFFFFFFF0 == SKIPPABLE_MAGIC:
                self._part, self._want = "skippable", 4
            else:
                raise DecodeError("zstd: not a zstd frame")
        elif self._part == "skippable":
            self._skip = int.from_bytes(head, "little")
            self._part, self._want = "magic", 4
        elif self._part == "descriptor":
            flags = head[0]
            fcs, single, self._checksum, dict_id = (
                flags >> 6,
                flags >> 5 & 1,
                bool(flags & 4),
                flags & 3,
            )
            size = (
                (0 if single else 1) + (0, 1, 2, 4)[dict_id] + ((1 if single else 0), 2, 4, 8)[fcs]
            )
            self._skip = size
            self._part, self._want = "block", 3
        elif self._part == "block":
            value = int.from_bytes(head, "little")
            last, kind, size = value & 1, value >> 1 & 3, value >> 3
            if kind == 3:
                raise DecodeError("zstd: reserved block type")
            self._skip = 1 if kind == 1 else size
            if not last:
                self._want = 3
            elif self._checksum:
                self._part, self._want = "checksum", 4
            else:
                self._part, self._want = "magic", 4
        else:  # checksum
            self._part, self._want = "magic", 4

    def finish(self) -> None:
        if self._skip or self._buf or self._part != "magic":
            raise DecodeError("zstd stream ends early")


def parse_codings(header: str | None) -> list[str]:
    """``Content-Encoding: gzip, br`` → ``["gzip", "br"]`` (applied in that order)."""
    if not header:
        return []
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    for coding in codings:
        if coding not in SUPPORTED:
            raise UnsupportedEncoding(coding[:40])
    return [c for c in codings if c != "identity"]


def decoded(raw: Readable, codings: list[str]) -> Readable:
    """A reader of the body with every coding undone (the last one applied first)."""
    reader = raw
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            reader = _GzipReader(reader)
        elif coding == "deflate":
            reader = _DeflateReader(reader)
        elif coding == "br":
            reader = _BrotliReader(reader)
        elif coding == "zstd":
            reader = _ZstdReader(reader)
    return reader
