"""Reading an HTTP body within bounds, whatever its Content-Encoding and framing.

httpx decodes a whole network chunk in one call, with no output limit, so 1.6 KB of brotli
becomes a gigabyte before any size check runs. Here the body is read raw
(``response.iter_raw()``), counted as it arrives, and decoded by the pull readers of
:mod:`buildguard._internal.decode`, which never return more than asked for: a decoded limit
is enforced before the bytes exist. An encoded limit cuts a stream that decodes to nothing
forever (empty gzip members, empty deflate or brotli blocks, zstd skippable frames), and the
deadlines of :mod:`buildguard._internal.deadline` cut a body sent slowly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx

from buildguard._internal.decode import (
    DecodeError,
    IterReader,
    Readable,
    UnsupportedEncoding,
    decoded,
    parse_codings,
)

CHUNK = 64 << 10


def encoded_limit_for(limit: int) -> int:
    """The encoded bytes allowed for a body of at most ``limit`` decoded bytes: every
    coding we decode (gzip, deflate, br, zstd) grows incompressible data by well under 1%,
    so 1/8 more and 64 KiB is generous and still bounds a stream that decodes to nothing."""
    return limit + limit // 8 + (64 << 10)


class BodyTooLarge(Exception):
    """The decoded body passed its limit (``size`` bytes were read when it was seen)."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"the body is {size} bytes or more, above the {limit}-byte limit")


class EncodedTooLarge(Exception):
    """The encoded body passed its limit while its decoded bytes stayed within theirs."""

    def __init__(self, encoded: int, limit: int, decoded: int) -> None:
        self.encoded = encoded
        self.limit = limit
        self.decoded = decoded
        super().__init__(
            f"the encoded body passed {limit} bytes while decoding to only {decoded}: "
            "reading stopped (a stream that decodes to little or nothing)"
        )


class Sizes:
    """Bytes read so far: ``encoded`` (raw) and ``decoded``."""

    def __init__(self) -> None:
        self.encoded = 0
        self.decoded = 0


class CountingReader(IterReader):
    """The raw body, counted in ``sizes``; :class:`EncodedTooLarge` past ``limit``.

    It refers to no reader above it: a decoder written in C (zstandard's) is invisible to
    the garbage collector, so a cycle through one would never be freed.
    """

    def __init__(self, chunks: Iterator[bytes], limit: int, sizes: Sizes) -> None:
        super().__init__(chunks)
        self._limit = limit
        self._sizes = sizes

    def read(self, size: int = -1, /) -> bytes:
        data = super().read(size)
        self._sizes.encoded += len(data)
        if self._sizes.encoded > self._limit:
            raise EncodedTooLarge(self._sizes.encoded, self._limit, self._sizes.decoded)
        return data


class BodyReader:
    """The decoded body of ``response`` in pieces of at most ``CHUNK`` bytes.

    Raises :class:`~buildguard._internal.decode.UnsupportedEncoding` for a coding we do
    not decode, :class:`~buildguard._internal.decode.DecodeError` for bytes that are not
    data of their coding, :class:`EncodedTooLarge` past ``encoded_limit``; httpx's
    errors (timeouts, a broken connection) pass through.
    """

    def __init__(self, response: httpx.Response, encoded_limit: int) -> None:
        codings = parse_codings(response.headers.get("content-encoding"))
        self.sizes = Sizes()
        raw = CountingReader(response.iter_raw(CHUNK), encoded_limit, self.sizes)
        self._reader: Readable = decoded(raw, codings)

    @property
    def size(self) -> int:
        """Decoded bytes returned so far."""
        return self.sizes.decoded

    def read(self, size: int = CHUNK) -> bytes:
        data = self._reader.read(min(size, CHUNK))
        self.sizes.decoded += len(data)
        return data


def read_bounded(response: httpx.Response, limit: int, encoded_limit: int | None = None) -> bytes:
    """The whole decoded body, at most ``limit`` bytes (:class:`BodyTooLarge` past it).

    A ``Content-Length`` above the encoded limit is refused before a byte is read. The
    response is closed in every case.
    """
    encoded = encoded_limit_for(limit) if encoded_limit is None else encoded_limit
    try:
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > encoded:
            raise BodyTooLarge(int(length), limit)
        reader = BodyReader(response, encoded)
        body = bytearray()
        while data := reader.read(limit + 1 - len(body)):
            body += data
            if len(body) > limit:
                raise BodyTooLarge(len(body), limit)
        return bytes(body)
    finally:
        response.close()


def read_for_httpx(response: httpx.Response, limit: int) -> bytes:
    """Read a response httpx will read again itself (one answered by an auth flow, a
    redirect it follows) within ``limit``, and hand httpx what was read.

    httpx calls ``Response.read()`` on those, which decodes the whole body with no limit;
    ``read()`` returns ``_content`` when it is set, so it is set here to the bounded bytes
    (empty when the body was refused or broke). The response is closed.
    """
    body = b""
    try:
        body = read_bounded(response, limit)
    finally:
        response._content = body  # what httpx's read() returns (docs/decisions.md)
    return body


def settle_quietly(response: httpx.Response, limit: int) -> None:
    """:func:`read_for_httpx` for a body nobody needs: every failure ignored."""
    with contextlib.suppress(
        httpx.HTTPError,
        httpx.StreamError,
        BodyTooLarge,
        EncodedTooLarge,
        DecodeError,
        UnsupportedEncoding,
    ):
        read_for_httpx(response, limit)
