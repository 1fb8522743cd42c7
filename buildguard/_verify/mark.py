"""``--mark-verified TAG``: put TAG on the digest a passing verify checked.

On ``LOCATION-docker.pkg.dev`` through the Artifact Registry API (tags create or move);
on any other registry with a manifest PUT of the verified digest's exact bytes
(:func:`buildguard._image.registry.put_manifest`), with the same credentials as the read.
Never after a failing verify. A mark that fails is :class:`MarkFailed` (exit 3), whose
message says that the verify itself passed.
"""

from __future__ import annotations

from collections.abc import Mapping

from buildguard._image.options import ReadOptions
from buildguard._image.reference import parse_reference
from buildguard.errors import ImageReadError, UsageError
from buildguard.models import BuildVerifyReport, Mark, VerifyReport

NOT_REGISTRY_PREFIXES = ("docker-archive:", "oci-layout:", "docker-daemon:")


class MarkFailed(ImageReadError):
    """The verify passed, the tag could not be written (exit 3)."""

    partial: BuildVerifyReport | None = None
    """For a build: the report with the marks made before this one failed."""


def require_registry_image(reference: str) -> None:
    """:class:`UsageError` unless ``reference`` names an image in a registry that can be
    marked here (``*.pkg.dev`` needs the ``[gcp]`` extra: :class:`MissingExtra`)."""
    if reference.startswith(NOT_REGISTRY_PREFIXES):
        raise UsageError(
            f"--mark-verified needs an image in a registry, not {reference}",
            hint="verify the pushed image: HOST/REPO@sha256:…",
        )
    ref = parse_reference(reference)
    from buildguard._cloud.artifactregistry import docker_package

    if docker_package(ref.registry, ref.repository) is not None:
        from buildguard._internal.distribution import ARTIFACT_REGISTRY, require_gcp

        require_gcp("--mark-verified on Artifact Registry", ARTIFACT_REGISTRY)


def mark_digest(
    reference: str,
    digest: str,
    tag: str,
    *,
    options: ReadOptions | None = None,
    environ: Mapping[str, str] | None = None,
) -> Mark:
    """Put ``tag`` on ``digest`` in the repository of ``reference`` (of ``options``, only
    ``insecure_registries`` applies)."""
    options = options or ReadOptions()
    ref = parse_reference(reference)
    from buildguard._cloud.artifactregistry import docker_package

    package = docker_package(ref.registry, ref.repository)
    try:
        if package is not None:
            from buildguard._cloud.artifactregistry import tag_version

            name = tag_version(package, digest, tag, environ=environ)
            return Mark(tag=tag, digest=digest, via="artifact-registry", target=name)
        from buildguard._image.registry import put_manifest

        put_manifest(
            f"{ref.registry}/{ref.repository}@{digest}",
            tag,
            insecure_registries=options.insecure_registries,
        )
        return Mark(
            tag=tag,
            digest=digest,
            via="registry-api",
            target=f"{ref.registry}/{ref.repository}:{tag}",
        )
    except ImageReadError as exc:
        raise MarkFailed(
            f"the verify passed, but {tag!r} could not be put on {ref.registry}/"
            f"{ref.repository}@{digest}: {exc.message}",
            hint=exc.hint,
        ) from None


def mark_verified(
    report: VerifyReport,
    tag: str,
    *,
    options: ReadOptions | None = None,
    environ: Mapping[str, str] | None = None,
) -> Mark:
    """Put ``tag`` on the digest ``report`` verified (the index's with ``--platform all``)."""
    if not report.ok:
        raise UsageError(f"refusing to mark {report.image.reference}: its verify did not pass")
    if report.image.digest is None:
        raise UsageError(f"{report.image.reference} has no manifest digest to tag")
    require_registry_image(report.image.reference)
    return mark_digest(
        report.image.reference, report.image.digest, tag, options=options, environ=environ
    )
