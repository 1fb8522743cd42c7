"""Read one layer blob exactly once: verify, decompress, walk its tar.

Four stages overlap, joined by bounded queues (hashlib, isal and zstandard release the GIL):
a fetcher reads the blob through a :class:`~buildguard._image.verified.VerifyingReader`
(compressed digest and size); the producer sniffs the compression from the first bytes
(gzip ``1f 8b``, zstd ``28 b5 2f fd``, else plain tar) and inflates; a hasher computes the
DiffID; the calling thread walks the tar into a
:class:`~buildguard._image.layerindex.LayerIndex`, hashing only the files the caller wants.

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
from dataclasses import dataclass
from typing import IO, Any

from buildguard._image.decompress import CHUNK, Compression, Inflater, Stopped
from buildguard._image.layerindex import LayerIndex
from buildguard._image.tarwalk import TarWalker, Want
from buildguard._image.verified import VerifyingReader
from buildguard.errors import ImageReadError

QUEUE_DEPTH = 4


@dataclass
class LayerResult:
    """What reading one blob found. Digests are of the bytes actually read."""

    digest: str
    size: int
    diff_id: str
    compression: Compression
    index: LayerIndex
    error: ImageReadError | None
    blob: VerifyingReader
    """The reader the blob came through: :meth:`~VerifyingReader.check` compares it with
    its descriptor."""


_END = object()


class _Failure:
    """An exception raised in a helper thread, handed to the thread that must raise it."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Handoff:
    """A bounded queue between two threads; either side gives up once ``stop`` is set."""

    def __init__(self, stop: threading.Event) -> None:
        self.items: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_DEPTH)
        self.stop = stop

    def put(self, item: Any) -> None:
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                self.items.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def get(self) -> Any:
        while True:
            if self.stop.is_set():
                raise Stopped
            try:
                return self.items.get(timeout=0.2)
            except queue.Empty:
                continue


class _Prefetched:
    """``raw.read`` run ahead in its own thread (socket reads, HTTP parsing)."""

    def __init__(self, raw: VerifyingReader, stop: threading.Event) -> None:
        self.raw = raw
        self.chunks = _Handoff(stop)
        self.pending = b""
        self.eof = False

    def fetch(self) -> None:
        try:
            while True:
                data = self.raw.read(CHUNK)
                self.chunks.put(data)
                if not data:
                    return
        except Stopped:
            return
        except BaseException as exc:
            with contextlib.suppress(Stopped):
                self.chunks.put(_Failure(exc))

    def read(self, n: int) -> bytes:
        if not self.pending and not self.eof:
            item = self.chunks.get()
            if isinstance(item, _Failure):
                self.eof = True
                raise item.exc
            if not item:
                self.eof = True
            self.pending = item
        data, self.pending = self.pending[:n], self.pending[n:]
        return data


def read_layer(
    raw: IO[bytes],
    *,
    label: str,
    want: Want,
    expected_size: int | None = None,
    expected_digest: str | None = None,
    threaded: bool = True,
) -> LayerResult:
    """Read ``raw`` to its end once; return digests, compression and the tar's index.

    ``want`` decides per regular file whether it is skipped, hashed or hashed and kept (see
    :class:`~buildguard._image.tarwalk.TarWalker`). ``threaded=False`` runs everything in the
    calling thread (small in-memory blobs, the benchmark).

    Threaded, four stages overlap (hashlib, isal and zstandard release the GIL): a fetcher
    reads the blob through its verifying reader (digest and size); the producer inflates it;
    a hasher computes the DiffID; the calling thread walks the tar and hashes the files wanted.
    """
    blob = VerifyingReader(raw, expected_digest, expected_size, label)
    producer = Inflater(blob, blob, label)
    walker = TarWalker(want, label)
    diff = hashlib.sha256()
    walk_error: list[ImageReadError] = []

    def walk(chunk: bytes) -> None:
        if not walk_error:
            try:
                walker.feed(chunk)
            except ImageReadError as exc:
                walk_error.append(exc)

    if threaded:
        stop = threading.Event()
        fetcher = _Prefetched(blob, stop)
        producer.source = fetcher
        to_walker = _Handoff(stop)
        to_hasher = _Handoff(stop)

        def emit(chunk: bytes) -> None:
            to_hasher.put(chunk)
            to_walker.put(chunk)

        def produce() -> None:
            try:
                producer.run(emit)
            except Stopped:
                return
            except BaseException as exc:
                producer.fatal = exc
            with contextlib.suppress(Stopped):
                to_hasher.put(_END)
                to_walker.put(_END)

        def hash_diff() -> None:
            with contextlib.suppress(Stopped):
                while (chunk := to_hasher.get()) is not _END:
                    if producer.compression != "none":
                        diff.update(chunk)

        threads = [
            threading.Thread(target=target, name=f"buildguard-{role} {label}", daemon=True)
            for role, target in (
                ("fetch", fetcher.fetch),
                ("inflate", produce),
                ("diffid", hash_diff),
            )
        ]
        for thread in threads:
            thread.start()
        try:
            while (item := to_walker.get()) is not _END:
                walk(item)
            threads[2].join()
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    else:

        def consume(chunk: bytes) -> None:
            if producer.compression != "none":
                diff.update(chunk)
            walk(chunk)

        producer.run(consume)

    if producer.fatal is not None:
        raise producer.fatal
    if not walk_error and producer.error is None:
        try:
            walker.finish()
        except ImageReadError as exc:
            walk_error.append(exc)
    digest = blob.actual_digest
    diff_id = digest if producer.compression == "none" else "sha256:" + diff.hexdigest()
    return LayerResult(
        digest=digest,
        size=blob.count,
        diff_id=diff_id,
        compression=producer.compression,
        index=walker.index,
        error=producer.error or (walk_error[0] if walk_error else None),
        blob=blob,
    )
