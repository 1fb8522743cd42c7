"""Read one layer blob exactly once: verify, decompress, walk its tar.

Two threads share the work, joined by a bounded queue of uncompressed chunks (hashlib,
isal and zstandard release the GIL):

- the producer reads the raw blob, hashes it (compressed digest and size), sniffs the
  compression from the first bytes (gzip ``1f 8b``, zstd ``28 b5 2f fd``, else plain tar),
  inflates, and puts chunks on the queue;
- the consumer (the calling thread) hashes the uncompressed bytes (the DiffID) and feeds the
  tar walker, which hashes only the files the caller wants.

Nothing here raises for a problem in the blob's *content*: the producer always drains the
blob to its end (or to one byte past the declared size), and problems found on the way are
returned in :attr:`LayerResult.error`. The caller compares the digests first — a digest
mismatch wins over anything a corrupt stream made the walker say — and only then raises the
content error. I/O failures of the source itself are raised at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Literal

import isal.isal_zlib as isal_zlib
import zstandard

from buildguard.errors import BuildguardError, ImageReadError
from buildguard.image.tarwalk import TarEntry, TarWalker

CHUNK = 1 << 20
QUEUE_DEPTH = 8
ZSTD_SLICE = 4096
"""zstd input is fed in slices this big: zstandard's decompressobj has no output limit, and
a slice this small inflates to at most ~128 MiB even for a maximally redundant frame."""

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

Compression = Literal["gzip", "zstd", "none"]


@dataclass
class LayerResult:
    """What reading one blob found. Digests are of the bytes actually read."""

    digest: str
    size: int
    diff_id: str
    compression: Compression
    entries: list[TarEntry]
    error: ImageReadError | None
    overflow: bool
    """The blob was longer than its declared size (reading stopped one byte past it)."""


def sniff(first: bytes) -> Compression:
    if first.startswith(GZIP_MAGIC):
        return "gzip"
    if first.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


class _Stopped(Exception):
    pass


class _Producer:
    def __init__(self, raw: IO[bytes], label: str, limit: int | None) -> None:
        self.raw = raw
        self.label = label
        self.limit = limit
        self.hasher = hashlib.sha256()
        self.size = 0
        self.overflow = False
        self.compression: Compression = "none"
        self.error: ImageReadError | None = None
        self.fatal: BaseException | None = None
        self.stop = False

    def _read(self, n: int) -> bytes:
        if self.limit is not None:
            room = self.limit - self.size
            if room <= 0:
                if not self.overflow and self._raw_read(1):
                    self.overflow = True
                return b""
            n = min(n, room)
        data = self._raw_read(n)
        if data:
            self.hasher.update(data)
            self.size += len(data)
        return data

    def _raw_read(self, n: int) -> bytes:
        if self.stop:
            raise _Stopped
        try:
            return self.raw.read(n)
        except BuildguardError:
            raise
        except Exception as exc:
            raise ImageReadError(
                f"{self.label}: reading the blob failed after {self.size} bytes: {exc}",
                hint="check the connection or the file and try again",
            ) from exc

    def _content_error(self, what: str) -> None:
        if self.error is None:
            self.error = ImageReadError(
                f"{self.label}: {what}",
                hint="the blob is corrupt or truncated; rebuild and push the image again",
            )

    def run(self, emit: Callable[[bytes], None]) -> None:
        first = self._read(CHUNK)
        while first and len(first) < 512:  # short network reads: sniff on enough bytes
            more = self._read(CHUNK)
            if not more:
                break
            first += more
        self.compression = sniff(first)
        if self.compression == "gzip":
            self._gunzip(first, emit)
        elif self.compression == "zstd":
            self._unzstd(first, emit)
        else:
            data = first
            while data:
                emit(data)
                data = self._read(CHUNK)
        while self._read(CHUNK):  # drain: the digest check must see every byte
            pass

    def _gunzip(self, first: bytes, emit: Callable[[bytes], None]) -> None:
        buf = first
        inflater: Any = None
        try:
            while True:
                if not buf:
                    buf = self._read(CHUNK)
                    if not buf:
                        break
                if inflater is None:
                    if not buf.startswith(GZIP_MAGIC):
                        if not buf.strip(b"\x00"):
                            buf = b""
                            continue
                        self._content_error("unexpected data after the end of the gzip stream")
                        return
                    inflater = isal_zlib.decompressobj(wbits=31)
                out = inflater.decompress(buf, CHUNK)
                if out:
                    emit(out)
                if inflater.eof:
                    buf = inflater.unused_data
                    inflater = None
                else:
                    buf = inflater.unconsumed_tail
            if inflater is not None:
                while True:
                    out = inflater.decompress(b"", CHUNK)
                    if not out:
                        break
                    emit(out)
                if not inflater.eof:
                    self._content_error(
                        f"the gzip stream ends before its end marker after {self.size} "
                        "compressed bytes (truncated)"
                    )
        except isal_zlib.error as exc:  # type: ignore[misc]
            self._content_error(f"the gzip stream is corrupt: {exc}")

    def _unzstd(self, first: bytes, emit: Callable[[bytes], None]) -> None:
        buf = first
        dctx = zstandard.ZstdDecompressor()
        inflater: Any = None
        pending: list[bytes] = []
        pending_len = 0
        try:
            while True:
                if not buf:
                    buf = self._read(CHUNK)
                    if not buf:
                        break
                off = 0
                while off < len(buf):
                    if inflater is None:
                        inflater = dctx.decompressobj()
                    out = inflater.decompress(buf[off : off + ZSTD_SLICE])
                    off += ZSTD_SLICE
                    if out:
                        pending.append(out)
                        pending_len += len(out)
                        if pending_len >= CHUNK:
                            emit(b"".join(pending))
                            pending.clear()
                            pending_len = 0
                    if inflater.eof:
                        rest = inflater.unused_data
                        inflater = None
                        if rest:
                            buf = rest + buf[off:]
                            off = 0
                buf = b""
            if pending:
                emit(b"".join(pending))
            if inflater is not None and not inflater.eof:
                self._content_error(
                    f"the zstd stream ends inside a frame after {self.size} compressed bytes "
                    "(truncated)"
                )
        except zstandard.ZstdError as exc:
            self._content_error(f"the zstd stream is corrupt: {exc}")


_END = object()


def read_layer(
    raw: IO[bytes],
    *,
    label: str,
    want: Callable[[str], int],
    expected_size: int | None = None,
    threaded: bool = True,
) -> LayerResult:
    """Read ``raw`` to its end once; return digests, compression and the tar's entries.

    ``want`` decides per regular file whether it is skipped, hashed or hashed and kept (see
    :class:`~buildguard.image.tarwalk.TarWalker`). ``threaded=False`` runs everything in the
    calling thread (used by the benchmark).
    """
    producer = _Producer(raw, label, expected_size)
    walker = TarWalker(want, label)
    diff = hashlib.sha256()
    walk_error: list[ImageReadError] = []

    def consume(chunk: bytes) -> None:
        if producer.compression != "none":
            diff.update(chunk)
        if not walk_error:
            try:
                walker.feed(chunk)
            except ImageReadError as exc:
                walk_error.append(exc)

    if threaded:
        chunks: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_DEPTH)

        def put(chunk: bytes) -> None:
            while True:
                if producer.stop:
                    raise _Stopped
                try:
                    chunks.put(chunk, timeout=0.2)
                    return
                except queue.Full:
                    continue

        def work() -> None:
            try:
                producer.run(put)
            except _Stopped:
                pass
            except BaseException as exc:
                producer.fatal = exc
            finally:
                while True:
                    try:
                        chunks.put(_END, timeout=0.2)
                        break
                    except queue.Full:
                        if producer.stop:
                            break

        thread = threading.Thread(target=work, name=f"buildguard-read {label}", daemon=True)
        thread.start()
        done = False
        try:
            while True:
                item = chunks.get()
                if item is _END:
                    break
                consume(item)
            done = True
        finally:
            if not done:
                producer.stop = True
                while thread.is_alive():
                    with contextlib.suppress(queue.Empty):
                        chunks.get(timeout=0.1)
            thread.join()
    else:
        producer.run(consume)

    if producer.fatal is not None:
        raise producer.fatal
    if not walk_error and producer.error is None:
        try:
            walker.finish()
        except ImageReadError as exc:
            walk_error.append(exc)
    digest = "sha256:" + producer.hasher.hexdigest()
    diff_id = digest if producer.compression == "none" else "sha256:" + diff.hexdigest()
    return LayerResult(
        digest=digest,
        size=producer.size,
        diff_id=diff_id,
        compression=producer.compression,
        entries=walker.entries,
        error=producer.error or (walk_error[0] if walk_error else None),
        overflow=producer.overflow,
    )
