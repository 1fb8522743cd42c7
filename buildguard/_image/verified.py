"""The one place where a blob is checked against the descriptor that named it.

Every source hands out raw bytes; every byte buildguard uses passes through
:class:`VerifyingReader` (streams: layers, configs) or :func:`verify_bytes` (documents
already in memory: manifests, indexes), which compare the sha256 and the size with what the
manifest (or index, or archive member name) said. A reader never hands out more than one
byte past the declared size, so an endless or oversized blob cannot hold us; the check is
made once the blob is drained, so a tampered blob is reported as tampered, never as
whatever its corrupt bytes made a decoder say.
"""

from __future__ import annotations

import hashlib
from typing import IO

from buildguard.errors import BuildguardError, DigestMismatch, ImageReadError

TAMPERED = "the blob is corrupt or was tampered with; do not trust this image"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def verify_bytes(data: bytes, digest: str, size: int | None, what: str) -> None:
    """Raise :class:`DigestMismatch` unless ``data`` has ``digest`` (and ``size``)."""
    actual = sha256_digest(data)
    if actual != digest or (size is not None and size != len(data)):
        raise DigestMismatch(
            f"{what} {digest} does not match its bytes (got {actual}, {len(data)} bytes"
            + (f", expected {size})" if size is not None else ")"),
            hint=TAMPERED,
        )


class VerifyingReader:
    """Reads ``raw`` once, hashing and counting; :meth:`check` compares with the descriptor.

    ``digest`` and ``size`` may be ``None`` where nothing names them (a legacy ``docker
    save`` layer is named by its DiffID instead; the caller checks that). Reading stops one
    byte past ``size`` (:attr:`overflow`). I/O failures of the source become
    :class:`ImageReadError` naming ``what``.
    """

    def __init__(self, raw: IO[bytes], digest: str | None, size: int | None, what: str) -> None:
        self.raw = raw
        self.digest = digest
        self.size = size
        self.what = what
        self.count = 0
        self.overflow = False
        self._hasher = hashlib.sha256()
        self.eof = False

    def read(self, n: int) -> bytes:
        if self.eof:
            return b""
        if self.size is not None:
            room = self.size - self.count
            if room <= 0:
                self.eof = True
                if self._raw_read(1):
                    self.overflow = True
                return b""
            n = min(n, room)
        data = self._raw_read(n)
        if not data:
            self.eof = True
            return b""
        self._hasher.update(data)
        self.count += len(data)
        return data

    def _raw_read(self, n: int) -> bytes:
        try:
            return self.raw.read(n)
        except BuildguardError:
            raise
        except Exception as exc:
            raise ImageReadError(
                f"{self.what}: reading the blob failed after {self.count} bytes: {exc}",
                hint="check the connection or the file and try again",
            ) from exc

    def read_all(self, limit: int) -> bytes:
        """Everything, for a small blob (at most ``limit`` bytes, else an error)."""
        parts = []
        total = 0
        while chunk := self.read(1 << 20):
            total += len(chunk)
            if total > limit:
                raise ImageReadError(f"{self.what} is larger than {limit} bytes; refusing it")
            parts.append(chunk)
        return b"".join(parts)

    def drain(self) -> None:
        while self.read(1 << 20):
            pass

    @property
    def actual_digest(self) -> str:
        return "sha256:" + self._hasher.hexdigest()

    def matches(self) -> bool:
        """The bytes read so far (drained) are the blob the descriptor names."""
        return (
            not self.overflow
            and (self.size is None or self.count == self.size)
            and (self.digest is None or self.actual_digest == self.digest)
        )

    def check(self, what: str | None = None) -> None:
        """Raise :class:`DigestMismatch` unless the drained blob matches its descriptor
        (``what`` names it in the message; default: the name it was opened with)."""
        if self.matches():
            return
        name = self.digest or self.actual_digest
        digest = (
            "" if self.actual_digest == name else f" with digest {self.actual_digest}"
        )  # a size-only mismatch: once
        got = f"more than {self.size} bytes" if self.overflow else f"{self.count} bytes{digest}"
        sized = self.size is not None and not self.overflow
        want = f"; expected {self.size} bytes" if sized else ""
        raise DigestMismatch(
            f"{what or self.what}: blob {name} does not match its descriptor: read {got}{want}",
            hint=TAMPERED,
        )
