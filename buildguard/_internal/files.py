"""Writing files atomically, and times as the models hold them."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from buildguard.errors import UsageError


def utc_from_timestamp(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def atomic_write(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or chunks of it) to ``path`` so that readers see the old file
    or the whole new one. A path that cannot be written (its folder is a file, read-only, the
    path is a folder) is a :class:`UsageError` (exit 2): a setting to fix, not a bug."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                for chunk in data:
                    handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="name a file in a folder that exists or can be made, and that is writable",
        ) from exc
    finally:
        if tmp.exists():
            tmp.unlink()
