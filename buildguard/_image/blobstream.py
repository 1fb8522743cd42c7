"""A registry blob as a raw byte stream that survives a broken connection.

The stream counts the bytes it has handed out (``N``). When the body breaks (a reset, a
read timeout, a body that ends before the descriptor's size) it asks again with
``Range: bytes=N-``: a ``206`` whose ``Content-Range`` starts at or before ``N`` is used
(skipping the overlap); a ``200`` means the server ignored the range, so the body is read
from zero and the first ``N`` bytes are dropped. Every request and every break is spent
from one :class:`~buildguard._image.transport.retry.RetryBudget`; progress between breaks
starts its count of failures in a row again. A body longer than the descriptor's size is a
:class:`~buildguard.errors.DigestMismatch` as soon as it passes that size. The bytes are
not verified here: the caller hashes the whole stream, so a resume cannot smuggle in wrong
bytes unnoticed.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Protocol

import httpx

from buildguard._image.transport.errors import (
    RegistryError,
    Repo,
    Subject,
    describe_exception,
    status_error,
)
from buildguard._image.transport.retry import RetryBudget
from buildguard.errors import DigestMismatch

logger = logging.getLogger(__name__)

CHUNK_SIZE = 256 * 1024


class BlobGetter(Protocol):
    """What the stream needs from its source: one GET of the blob, redirects followed."""

    repo: Repo

    def get_blob(self, digest: str, headers: dict[str, str], budget: RetryBudget) -> httpx.Response:
        """The response (any status), or :class:`RegistryError` when none came."""
        ...

    def new_budget(self) -> RetryBudget: ...


def content_range_start(value: str | None) -> int | None:
    """``START`` of ``bytes START-END/TOTAL``, else ``None``."""
    if not value or not value.startswith("bytes "):
        return None
    start, _, _end = value[6:].split("/", 1)[0].partition("-")
    return int(start) if start.isdigit() else None


def _skipping(chunks: Iterator[bytes], skip: int) -> Iterator[bytes]:
    for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        if skip:
            chunk = chunk[skip:]
            skip = 0
        yield chunk


class BlobStream(io.RawIOBase):
    """Raw bytes of one blob (see the module docstring)."""

    def __init__(self, getter: BlobGetter, digest: str, size: int | None) -> None:
        super().__init__()
        self._getter = getter
        self._digest = digest
        self._size = size
        self._subject = Subject("blob", digest)
        self._budget = getter.new_budget()
        self._pos = 0  # bytes handed to the caller
        self._response: httpx.Response | None = None
        self._chunks: Iterator[bytes] | None = None
        self._pending = memoryview(b"")
        self._eof = False
        self._breaks = 0
        self._progress_mark = 0

    def __repr__(self) -> str:
        return f"<{self._subject} of {self._getter.repo}>"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("I/O operation on closed blob stream")
        view = memoryview(buffer).cast("B")
        while not self._pending:
            if self._eof:
                return 0
            self._next_chunk()
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._pos += n
        if self._size is not None and self._pos > self._size:
            self._close_response()
            raise DigestMismatch(
                f"{self._subject} from {self._getter.repo} is longer than the {self._size} "
                "bytes its descriptor says",
                hint="the blob was altered in the registry or on the way; treat the image as "
                "tampered and push it again",
            )
        return n

    def _next_chunk(self) -> None:
        if self._chunks is None:
            self._open()
            return
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._close_response()
            if self._size is not None and self._pos < self._size:
                self._broken(f"the body ended after {self._pos} of {self._size} bytes")
                return
            self._eof = True
            return
        except httpx.TransportError as exc:
            self._close_response()
            self._broken(describe_exception(exc))
            return
        self._pending = memoryview(chunk)

    def _broken(self, why: str) -> None:
        """The body broke at ``self._pos``: spend it from the budget, then reopen there."""
        self._breaks += 1
        if self._pos > self._progress_mark:
            self._progress_mark = self._pos
            self._budget.progress()
        what = f"{self._subject} from {self._getter.repo} broke at byte {self._pos} ({why})"
        if not self._budget.spend(what):
            raise RegistryError(
                f"could not read {self._subject} from {self._getter.repo}: the stream broke at "
                f"byte {self._pos} ({why}) and did not recover after {self._breaks} attempts "
                "to resume",
                repo=self._getter.repo,
                subject=self._subject,
                attempts=self._budget.attempts,
                temporary=True,
                hint="the network or the registry's storage is failing; retry later",
            )
        self._chunks = None

    def _get(self, offset: int) -> httpx.Response:
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        return self._getter.get_blob(self._digest, headers, self._budget)

    def _open(self) -> None:
        offset = self._pos
        response = self._get(offset)
        skip = 0
        if offset and response.status_code == 206:
            start = content_range_start(response.headers.get("content-range"))
            if start is None or start > offset:
                response.close()  # a range we did not ask for: start over without one
                logger.info("%s: unusable Content-Range; re-reading from zero", self._subject)
                response, skip = self._get(0), offset
                if response.status_code != 200:
                    raise status_error(
                        response, self._getter.repo, self._subject, attempts=self._budget.attempts
                    )
            else:
                skip = offset - start
        elif response.status_code == 200:
            skip = offset  # the server ignored Range: re-read and drop what we handed out
            if offset:
                logger.info(
                    "%s: the server ignored Range; re-reading and skipping %d bytes",
                    self._subject,
                    offset,
                )
        else:
            raise status_error(
                response, self._getter.repo, self._subject, attempts=self._budget.attempts
            )
        self._response = response
        self._chunks = _skipping(response.iter_raw(CHUNK_SIZE), skip)

    def _close_response(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def close(self) -> None:
        self._close_response()
        self._chunks = None
        self._pending = memoryview(b"")
        super().close()
