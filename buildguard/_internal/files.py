"""Reading files from disk once: digest, size, sniffed media type, optional needle search."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from buildguard.models import FileEntry

CHUNK = 1 << 20
SNIFF_BYTES = 4096


@lru_cache(maxsize=1)
def _magic() -> Any:
    import magic  # python-magic; loads libmagic once

    return magic.Magic(mime=True)


def sniff(head: bytes) -> str | None:
    """The media type libmagic sees in the first bytes of a file (informational)."""
    if not head:
        return "inode/x-empty"
    try:
        result = _magic().from_buffer(head)
    except Exception:  # libmagic can fail on odd input; the type is informational only
        return None
    return str(result) if result else None


def utc_from_timestamp(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass(frozen=True)
class ReadResult:
    entry: FileEntry
    contains_needle: bool


def read_entry(
    path: Path, rel: str, st: os.stat_result, *, needle: bytes | None = None
) -> ReadResult:
    """Hash ``path`` (a regular file or symlink, never followed) into a :class:`FileEntry`.

    When ``needle`` is given, also report whether the content contains it; the file is read
    once for both.
    """
    mode = stat.S_IMODE(st.st_mode)
    mtime = utc_from_timestamp(st.st_mtime)
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(path)
        raw = os.fsencode(target)
        return ReadResult(
            FileEntry(
                path=rel,
                type="symlink",
                sha256=hashlib.sha256(raw).hexdigest(),
                size=len(raw),
                mode=mode,
                mtime=mtime,
                media_type="inode/symlink",
                link_target=target,
            ),
            False,
        )
    digest = hashlib.sha256()
    size = 0
    head = b""
    found = False
    tail = b""
    keep = max(len(needle) - 1, 0) if needle else 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            if not head:
                head = chunk[:SNIFF_BYTES]
            digest.update(chunk)
            size += len(chunk)
            if needle and not found:
                window = tail + chunk
                found = needle in window
                tail = window[-keep:] if keep else b""
    return ReadResult(
        FileEntry(
            path=rel,
            sha256=digest.hexdigest(),
            size=size,
            mode=mode,
            mtime=mtime,
            media_type=sniff(head),
        ),
        found,
    )


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
