"""``open_image(ref)``: one entry point that dispatches on the reference's prefix."""

from __future__ import annotations

from buildguard._image.archive import ARCHIVE, StreamImage, open_archive
from buildguard._image.manifest import Platform
from buildguard._image.options import ReadOptions
from buildguard._image.otherforms import FORMS, bare_name_hint, translate
from buildguard._image.reader import Image, SourceImage
from buildguard._internal.redact import hide_userinfo
from buildguard.errors import ImageReadError, UsageError

LAYOUT = "oci-layout:"
DAEMON = "docker-daemon:"


def _platform(platform: str | None) -> Platform | None:
    return None if platform is None else Platform.parse(platform)


def open_image(
    ref: str,
    options: ReadOptions | None = None,
) -> Image:
    """Open ``ref`` (``docker-archive:PATH[:NAME[:TAG]]``, ``oci-layout:DIR[:TAG]``,
    ``docker-daemon:NAME[:TAG]`` or ``HOST[:PORT]/REPO[:TAG|@sha256:…]``).

    Of ``options``, ``platform`` (``OS/ARCH[/VARIANT]``) picks the image from an index (default
    ``linux/amd64``); for a single-platform image it must match when given. Nothing is read
    until :meth:`Image.read`, except what is needed to fail early on a bad reference.
    """
    options = options or ReadOptions()
    other = translate(ref)
    if other is not None:
        raise other
    wanted = _platform(options.platform)
    if ref.startswith(ARCHIVE):
        return open_archive(ref, wanted)
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
            f"image reference {hide_userinfo(ref)!r} is not {FORMS}: it names no registry "
            "(buildguard has no implicit Docker Hub)",
            hint=bare_name_hint(ref),
        )
    from buildguard._image.registry import RegistrySource

    source = RegistrySource(ref, insecure_registries=tuple(options.insecure_registries))
    return SourceImage(source, wanted)
