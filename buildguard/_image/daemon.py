"""``docker-daemon:NAME[:TAG]`` — ``docker save`` streamed from a daemon through docker-py.

The daemon's save stream goes straight into the one-pass archive reader (``archive.py``);
no layer is written to disk. The daemon is found like the docker CLI finds it
(``DOCKER_HOST`` and friends, via :func:`docker.from_env`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

from buildguard._image.reference import is_valid_sha256_digest
from buildguard._internal.redact import hide_userinfo
from buildguard.errors import ImageReadError, UsageError

SAVE_CHUNK = 1 << 20


class _IterReader(io.RawIOBase):
    """A raw, read-only file over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes], on_close: Any = None) -> None:
        super().__init__()
        self._chunks = chunks
        self._buf = b""
        self._pos = 0
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._pos >= len(self._buf):
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
            except Exception as exc:
                raise ImageReadError(
                    f"the docker daemon's save stream broke: {exc}",
                    hint="check that dockerd is still running and try again",
                ) from exc
            self._pos = 0
        n = min(len(view), len(self._buf) - self._pos)
        view[:n] = self._buf[self._pos : self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close()
        super().close()


def parse_daemon_ref(rest: str) -> str:
    if not rest:
        raise UsageError("docker-daemon: needs an image name, e.g. docker-daemon:app:latest")
    name, _, digest = rest.rpartition("@")
    if "@" in name or (name and not is_valid_sha256_digest(digest)):
        # docker's reference grammar has '@' only before a digest: this is user-info
        raise UsageError(
            f"bad image name docker-daemon:{hide_userinfo(rest)}: it holds credentials "
            "(user:password@) or a stray '@'",
            hint="name the image as `docker images` lists it, e.g. docker-daemon:app:latest",
        )
    return rest


def open_save_stream(name: str) -> IO[bytes]:
    """Start ``docker save NAME`` on the daemon; return its tar stream."""
    import docker
    import docker.errors

    reference = f"docker-daemon:{name}"
    try:
        client = docker.from_env()
    except docker.errors.DockerException as exc:
        raise ImageReadError(
            f"{reference}: cannot reach the docker daemon: {exc}",
            hint="start dockerd or set DOCKER_HOST to its socket",
        ) from None
    try:
        client.api.inspect_image(name)
        chunks = client.api.get_image(name, chunk_size=SAVE_CHUNK)
    except docker.errors.ImageNotFound:
        client.close()
        raise ImageReadError(
            f"{reference}: the daemon has no image {name!r}",
            hint="check the name and tag with `docker images`",
        ) from None
    except docker.errors.DockerException as exc:
        client.close()
        raise ImageReadError(
            f"{reference}: the docker daemon refused to save the image: {exc}",
            hint="check that dockerd is running and DOCKER_HOST points to it",
        ) from None
    return io.BufferedReader(_IterReader(iter(chunks), on_close=client.close), SAVE_CHUNK)
