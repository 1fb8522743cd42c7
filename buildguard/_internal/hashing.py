"""Reading many files on every core: each read once for its sha256, size, mode and mtime.

Work goes out in batches (see :class:`Pool`): to helpers, one fewer than the cores, and
to the calling thread, which is the last core's. Three kinds of helper, chosen per run
(:func:`choose_mode`):

- ``process``: forked workers. Most source files are a few KiB, so the per-file Python work
  (open, fstat, read, hash, render) outweighs hashing, and only processes run it in
  parallel. Used only when fork is safe: a POSIX system and no other Python thread alive in
  this process (a lock held by another thread at fork time would stay held in the child).
- ``thread``: threads (hashlib and the reads release the GIL for large buffers).
- ``inline``: none; the calling thread reads everything (one core).

Each file is opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked to be a regular file with
``fstat`` on the open descriptor, so a file swapped for a symlink or a FIFO after the walk
is an error, never followed and never waited on. mode and mtime come from that ``fstat``.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, Generic, Literal, NamedTuple, TypeVar

CHUNK = 1 << 20
HEAD_BYTES = 4096
SEARCH = 1  # flag: look for the needle in this file
KEEP_HEAD = 2  # flag: return the first HEAD_BYTES (for sniffing a media type)
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

Mode = Literal["process", "thread", "inline"]


class FileHash(NamedTuple):
    """What reading one file gave, or ``error`` (a message) when it could not be read."""

    sha256: str  # hex
    size: int
    mode: int  # st_mode, type bits included
    mtime: float  # st_mtime, as os.stat gives it
    found: bool  # the needle occurs in the content (only for SEARCH jobs)
    head: bytes | None  # the first bytes (only for KEEP_HEAD jobs)
    error: str | None = None


_EMPTY = hashlib.sha256().hexdigest()
_local = threading.local()


def _buffer() -> tuple[bytearray, memoryview]:
    pair: tuple[bytearray, memoryview] | None = getattr(_local, "buffer", None)
    if pair is None:
        buf = bytearray(CHUNK)
        pair = (buf, memoryview(buf))
        _local.buffer = pair
    return pair


def read_file(path: bytes, flags: int, needle: bytes) -> FileHash:
    """Hash one regular file (never following a symlink); search ``needle`` if asked."""
    buf, view = _buffer()
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        return FileHash(_EMPTY, 0, 0, 0.0, False, None, _describe(path, exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return FileHash(_EMPTY, 0, 0, 0.0, False, None, "it is no longer a regular file")
        digest = hashlib.sha256()
        size = 0
        head: bytes | None = None
        search = bool(flags & SEARCH) and bool(needle)
        found = False
        keep = len(needle) - 1
        tail = b""
        while n := os.readv(fd, [buf]):
            size += n
            chunk = view[:n]
            digest.update(chunk)
            if head is None and flags & KEEP_HEAD:
                head = bytes(view[: min(n, HEAD_BYTES)])
            if search and not found:
                # an id straddling two reads: the last len-1 bytes before, the first after
                found = buf.find(needle, 0, n) != -1 or (
                    bool(tail) and needle in tail + bytes(view[: min(n, keep)])
                )
                tail = (tail + bytes(view[max(0, n - keep) : n]))[-keep:] if keep else b""
            if n < CHUNK and size == st.st_size:
                break  # a short read that ends at fstat's size is the end: no extra read
        if head is None and flags & KEEP_HEAD:
            head = b""
        return FileHash(digest.hexdigest(), size, st.st_mode, st.st_mtime, found, head)
    except OSError as exc:
        return FileHash(_EMPTY, 0, 0, 0.0, False, None, _describe(path, exc))
    finally:
        os.close(fd)


def _describe(path: bytes, exc: OSError) -> str:
    return f"cannot read it: {exc.strerror or exc}"


def _workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def choose_mode() -> Mode:
    """``process`` where forking is safe and there is more than one core, else ``thread``
    (several cores) or ``inline``. ``$BUILDGUARD_HASH_MODE`` overrides (for benchmarks)."""
    forced = os.environ.get("BUILDGUARD_HASH_MODE", "")
    if forced in ("process", "thread", "inline"):
        return forced  # type: ignore[return-value]
    if _workers() < 2:
        return "inline"
    return "process" if hasattr(os, "fork") and threading.active_count() == 1 else "thread"


T = TypeVar("T")
R = TypeVar("R")


class _Done(Future[R]):
    def __init__(self, value: R) -> None:
        super().__init__()
        self.set_result(value)


class Pool(Generic[T, R]):
    """Run ``work(batch, options)`` for batches, in order, on every core.

    Helpers (processes or threads) are one fewer than the cores: the calling thread is the
    last core's. It hands a batch to a helper while that helper has fewer than two queued
    (:meth:`offer`) and otherwise reads the batch itself (:meth:`here`), during the walk and
    after it, so no core idles and no more work is runnable than there are cores. Helpers
    start on the first offer. Use as a context manager so they are always stopped.
    """

    def __init__(self, work: Callable[[T, Any], R], options: Any, mode: Mode | None = None) -> None:
        self._work = work
        self._options = options
        self._mode: Mode = mode or choose_mode()
        self._executor: Executor | None = None
        self._helpers = max(1, _workers() - 1)
        self._inflight: list[Future[R]] = []

    @property
    def mode(self) -> Mode:
        return self._mode

    def _start(self) -> Executor:
        # imported here: a tree of one batch never needs them (start-up time)
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        if self._mode == "process":
            for stream in (sys.stdout, sys.stderr):  # the children must not flush our buffers
                if stream is not None:
                    stream.flush()
            return ProcessPoolExecutor(
                self._helpers, mp_context=multiprocessing.get_context("fork")
            )
        return ThreadPoolExecutor(self._helpers, thread_name_prefix="buildguard-read")

    def here(self, batch: T) -> Future[R]:
        """Read ``batch`` in the calling thread (a future that is already done)."""
        return _Done(self._work(batch, self._options))

    def offer(self, batch: T) -> Future[R] | None:
        """Queue ``batch`` on a helper if one has room, else None (then read it `here`)."""
        if self._mode == "inline":
            return None
        if self._executor is None:
            self._executor = self._start()
        self._inflight = [future for future in self._inflight if not future.done()]
        if len(self._inflight) >= 2 * self._helpers:
            return None
        future = self._executor.submit(self._work, batch, self._options)
        self._inflight.append(future)
        return future

    def __enter__(self) -> Pool[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
