"""``open_image(ref)``: one entry point that dispatches on the reference's prefix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO

from buildguard._image.archive import StreamImage
from buildguard._image.manifest import Platform
from buildguard._image.reader import Image, SourceImage
from buildguard._internal.redact import hide_userinfo
from buildguard.errors import ImageReadError, UsageError

ARCHIVE = "docker-archive:"
LAYOUT = "oci-layout:"
DAEMON = "docker-daemon:"


def _platform(platform: str | Platform | None) -> Platform | None:
    if platform is None or isinstance(platform, Platform):
        return platform
    return Platform.parse(platform)


def open_image(
    ref: str,
    *,
    platform: str | Platform | None = None,
    insecure_registries: Sequence[str] = (),
) -> Image:
    """Open ``ref`` (``docker-archive:PATH``, ``oci-layout:DIR[:TAG]``,
    ``docker-daemon:NAME[:TAG]`` or ``HOST[:PORT]/REPO[:TAG|@sha256:…]``).

    ``platform`` (``OS/ARCH[/VARIANT]``) picks the image from an index (default
    ``linux/amd64``); for a single-platform image it must match when given. Nothing is read
    until :meth:`Image.read`, except what is needed to fail early on a bad reference.
    """
    wanted = _platform(platform)
    if ref.startswith(ARCHIVE):
        path = Path(ref[len(ARCHIVE) :])
        if not ref[len(ARCHIVE) :]:
            raise UsageError("docker-archive: needs a path, e.g. docker-archive:image.tar")
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

        return StreamImage(ref, open_file, wanted)
    if ref.startswith(LAYOUT):
        from buildguard._image.layout import LayoutSource, parse_layout_ref

        directory, tag = parse_layout_ref(ref[len(LAYOUT) :])
        if not directory.is_dir():
            raise ImageReadError(
                f"{ref}: no such OCI layout directory ({directory})",
                hint="check the path; create the layout with `skopeo copy ... oci:DIR:TAG`",
            )
        return SourceImage(LayoutSource(directory, tag, ref), wanted)
    if ref.startswith(DAEMON):
        from buildguard._image.daemon import open_save_stream, parse_daemon_ref

        name = parse_daemon_ref(ref[len(DAEMON) :])
        return StreamImage(ref, lambda: open_save_stream(name), wanted, tag=name)
    if "/" not in ref:
        raise UsageError(
            f"image reference {hide_userinfo(ref)!r} is not HOST[:PORT]/REPO[:TAG|@sha256:DIGEST], "
            "docker-archive:PATH, oci-layout:DIR[:TAG] or docker-daemon:NAME[:TAG]",
            hint="registry references need the registry host, e.g. "
            "europe-docker.pkg.dev/project/repo/app:tag",
        )
    from buildguard._image.registry import RegistrySource

    source = RegistrySource(ref, insecure_registries=tuple(insecure_registries))
    return SourceImage(source, wanted)
