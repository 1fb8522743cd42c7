"""The one way buildguard writes a file, and times as the models hold them.

Every file buildguard writes (``--report``, ``--junit``, ``--out``, ``--env-file``, the sealed
bundle's manifest, layer-cache entries) goes through :func:`atomic_write`. The rules
(``docs/reliability.md``, "Writing files"):

- the target is checked first: an existing target that is not a regular file (a device such
  as ``/dev/full``, a FIFO, a folder, a socket) or that is a symbolic link is refused, and so
  is a path that names a folder (``out/``) or lies under a regular file;
- the data goes to a new temporary file in the target's folder, created exclusively
  (``O_CREAT|O_EXCL|O_NOFOLLOW``) under an unpredictable name, so nothing planted at a guessed
  name is opened or followed; it is flushed with ``fsync`` and renamed over the target, so
  readers see the old file or the whole new one; the folder is then synced too;
- on any failure (a write error, a full disk, the data's own iterator raising, an interrupt)
  the temporary file is removed and the target is left as it was.

Every :class:`OSError` on the way is a :class:`UsageError` (exit 2) naming the path: a setting
to fix, never a crash.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from buildguard.errors import UsageError

_HINT = "name a regular file in a folder that exists or can be made, and that is writable"
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_TEMP_TRIES = 20
_BUFFER = 1 << 20


def _refuse(path: str, why: str, hint: str = _HINT) -> UsageError:
    return UsageError(f"cannot write {path}: {why}", hint=hint)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "it is a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device, not a regular file (it is left as it is)"
    if stat.S_ISFIFO(mode):
        return "it is a FIFO (named pipe), not a regular file"
    if stat.S_ISSOCK(mode):
        return "it is a socket, not a regular file"
    return "it exists and is not a regular file"


def _check_target(shown: str, name: str, dir_fd: int) -> int | None:
    """The permission bits of the regular file at ``name`` (``None`` when there is none);
    :class:`UsageError` for anything that must not be replaced."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        try:
            points = os.readlink(name, dir_fd=dir_fd)
        except OSError:
            points = "?"
        raise _refuse(
            shown,
            f"it is a symbolic link (to {points}); buildguard neither writes through "
            "a link nor replaces one",
            hint="name the file the link points to, or remove the link first",
        )
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(shown, _kind(info.st_mode))
    return stat.S_IMODE(info.st_mode)


def _open_temp(name: str, dir_fd: int) -> tuple[str, int]:
    """A new file beside ``name``: exclusive, never through a link, unpredictable name."""
    for _ in range(_TEMP_TRIES):
        temp = f".{name[:200]}.{secrets.token_hex(8)}.tmp"
        try:
            return temp, os.open(temp, _TEMP_FLAGS, 0o666, dir_fd=dir_fd)
        except FileExistsError:
            continue
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise OSError(exc.errno, f"no new file can be made in its folder ({why})") from None
    raise OSError(errno.EEXIST, "could not create a temporary file beside it")


def _write_out(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_all(fd: int, data: bytes | Iterable[bytes]) -> None:
    """Write ``data``; small chunks (a record yields one per file) are gathered first."""
    if isinstance(data, bytes):
        _write_out(fd, data)
        return
    pending = bytearray()
    for chunk in data:
        pending += chunk
        if len(pending) >= _BUFFER:
            _write_out(fd, pending)
            pending.clear()
    _write_out(fd, pending)


def _sync_dir(dir_fd: int) -> None:
    try:
        os.fsync(dir_fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise


def _open_folder(shown: str, folder: Path) -> int:
    """The target's folder (made when missing), open for the ``*at`` calls."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return os.open(folder, _DIR_FLAGS)
    except (FileExistsError, NotADirectoryError):
        raise _refuse(shown, "the path lies under something that is not a folder") from None
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise _refuse(shown, f"its folder cannot be made or opened ({why})") from None


def atomic_write(path: str | os.PathLike[str], data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` (bytes, or chunks of it) to ``path`` so that readers see the old file
    or the whole new one, by the rules of this module. A new file gets the usual permissions
    (``0666`` less the umask); a replaced one keeps its own."""
    shown = os.fspath(path)
    if not shown or shown.endswith(("/", "/.", "/..")) or shown in (".", ".."):
        raise _refuse(shown or "''", "the path names a folder, not a file")
    target = Path(shown)
    dir_fd = _open_folder(shown, target.parent)
    temp: str | None = None
    try:
        mode = _check_target(shown, target.name, dir_fd)
        temp, fd = _open_temp(target.name, dir_fd)
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        _check_target(shown, target.name, dir_fd)  # nothing else appeared there meanwhile
        os.replace(temp, target.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        temp = None
        _sync_dir(dir_fd)
    except OSError as exc:
        raise _refuse(shown, exc.strerror or str(exc)) from None
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=dir_fd)
        os.close(dir_fd)
