"""``docker save`` archives (``docker-archive:PATH[:NAME[:TAG]]``, ``docker-daemon:``), read
front to back in one pass.

The archive's tar is read as ``docker load`` extracts it (``savetar.py``: compression,
Go-faithful headers, names). Two formats are read:

- Docker's (``docker load`` in every version reads it): ``manifest.json`` naming a config
  file and layer files (``<id>/layer.tar``, or ``blobs/sha256/<hex>`` in Docker ≥ 25), which
  Docker 20.10 writes *last*;
- OCI (``oci-layout`` + ``index.json`` + ``blobs/``), which containerd's importer (dockerd
  ≥ 24 with the containerd image store) reads *instead of* ``manifest.json`` when
  ``oci-layout`` is there. An archive holding both is read only when both name the same
  image config; an OCI archive without ``manifest.json`` is read as an OCI layout.

Because the order is known only at the end, every layer-sized member is indexed
(:class:`~buildguard._image.layers.LayerResult`) as it streams past, keyed by its member
name; small members (JSON documents) are kept in memory. Nothing is written to disk. Once
the stream ends, the chosen format yields an :class:`ImageMeta` and a layer opener, and
:func:`~buildguard._image.reader.read_resolved` — the one layer loop of every source —
verifies and flattens the layers in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from buildguard._image.flatten import make_want, wanted
from buildguard._image.imageinfo import FlatImage, Progress
from buildguard._image.layercache import LayerCache
from buildguard._image.manifest import Platform
from buildguard._image.reader import Image, read_resolved
from buildguard._image.saveplan import collect, plan_image
from buildguard._image.tarwalk import Want
from buildguard.errors import ImageReadError, UsageError

ARCHIVE = "docker-archive:"


def read_save_stream(
    stream: IO[bytes],
    *,
    reference: str,
    want: Want,
    platform: Platform | None = None,
    tag: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> FlatImage:
    """Read a ``docker save`` stream once; verify and flatten the image ``tag`` names
    (``strict``: it must be tagged so; else it only chooses among several)."""
    contents = collect(stream, reference, want, progress)
    plan = plan_image(contents, want, platform, tag, strict)
    return read_resolved(plan.info, plan.open_layer, want)


class StreamImage(Image):
    """A ``docker save`` stream (archive file or daemon), read front to back once."""

    def __init__(
        self,
        reference: str,
        opener: Callable[[], IO[bytes]],
        platform: Platform | None = None,
        *,
        tag: str | None = None,
        strict: bool = False,
    ) -> None:
        self._reference = reference
        self._opener = opener
        self.platform = platform
        self.tag = tag
        self.strict = strict

    @property
    def reference(self) -> str:
        return self._reference

    def read(
        self,
        paths: Sequence[str] = (),
        progress: Progress | None = None,
        cache: LayerCache | None = None,
    ) -> FlatImage:
        """The stream is read whole whatever is cached (its layers arrive in its order and
        must be hashed to be verified), so ``cache`` is not used for ``docker save``."""
        del cache
        stream = self._opener()
        try:
            return read_save_stream(
                stream,
                reference=self._reference,
                want=make_want(wanted(paths)),
                platform=self.platform,
                tag=self.tag,
                strict=self.strict,
                progress=progress,
            )
        finally:
            stream.close()


def parse_archive_ref(rest: str) -> tuple[Path, str | None]:
    """``PATH[:NAME[:TAG]]`` → (path, name). A path that exists whole wins; else the
    longest prefix before a colon that is an existing file."""
    if not rest:
        raise UsageError("docker-archive: needs a path, e.g. docker-archive:image.tar")
    if Path(rest).exists() or ":" not in rest:
        return Path(rest), None
    for cut in (i for i, char in enumerate(rest) if char == ":"):
        path, name = rest[:cut], rest[cut + 1 :]
        if path and Path(path).is_file():
            if not name:
                raise UsageError(f"docker-archive:{rest}: the image name after ':' is empty")
            return Path(path), name
    return Path(rest), None


def open_archive(ref: str, platform: Platform | None) -> StreamImage:
    """``docker-archive:PATH[:NAME[:TAG]]`` (the form skopeo uses)."""
    path, name = parse_archive_ref(ref[len(ARCHIVE) :])
    if not path.is_file():
        raise ImageReadError(
            f"{ref}: no such archive file ({path})",
            hint="check the path; create the archive with `docker save -o FILE IMAGE`",
        )

    def open_file() -> IO[bytes]:
        try:
            return open(path, "rb", buffering=1 << 20)
        except OSError as exc:
            raise ImageReadError(f"{ref}: cannot open the archive: {exc}") from None

    return StreamImage(ref, open_file, platform, tag=name, strict=name is not None)
