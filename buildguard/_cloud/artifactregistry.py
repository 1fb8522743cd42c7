"""Artifact Registry through ``google-cloud-artifact-registry``: put a tag on a version.

A Docker image ``LOCATION-docker.pkg.dev/PROJECT/REPO/IMAGE[/…]`` is the package ``IMAGE``
(its ``/`` escaped as ``%2F``) of repository ``REPO``; a digest is the version
``sha256:…``. Marking checks that the version exists, creates the tag, and moves it
(``PATCH`` with ``updateMask=version``) when it already exists.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from buildguard._cloud.clients import (
    ARTIFACTREGISTRY_EMULATOR_ENV,
    api_error,
    call_options,
    client_options,
    google_errors,
    make_client,
)
from buildguard._internal.distribution import ARTIFACT_REGISTRY, require_gcp

logger = logging.getLogger(__name__)

WRITER_ROLE = "roles/artifactregistry.writer"
_HOST = re.compile(r"^([a-z0-9-]+)-docker\.pkg\.dev$")


@dataclass(frozen=True)
class DockerPackage:
    location: str
    project: str
    repository: str
    image: str
    """The image path inside the repository, e.g. ``team/web``."""

    @property
    def package_id(self) -> str:
        return self.image.replace("/", "%2F")

    @property
    def name(self) -> str:
        return (
            f"projects/{self.project}/locations/{self.location}/repositories/"
            f"{self.repository}/packages/{self.package_id}"
        )


def docker_package(registry: str, repository: str) -> DockerPackage | None:
    """The package of an image on ``*-docker.pkg.dev``, else ``None``."""
    host = _HOST.match(registry.lower())
    parts = repository.split("/", 2)
    if host is None or len(parts) < 3:
        return None
    return DockerPackage(host[1], parts[0], parts[1], parts[2])


def tag_version(
    package: DockerPackage,
    digest: str,
    tag: str,
    *,
    endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Create or move ``tag`` onto version ``digest``; returns the tag's resource name.

    ``endpoint`` (a URL) talks to a stand-in with anonymous credentials, as does
    ``$BUILDGUARD_ARTIFACTREGISTRY_EMULATOR_HOST``.
    """
    require_gcp("--mark-verified on Artifact Registry", ARTIFACT_REGISTRY)
    from google.api_core import exceptions
    from google.cloud import artifactregistry_v1
    from google.protobuf import field_mask_pb2

    env = os.environ if environ is None else environ
    version = f"{package.name}/versions/{digest}"
    tag_name = f"{package.name}/tags/{tag}"
    what = f"cannot tag {package.image}@{digest} as {tag} in Artifact Registry"
    options = client_options(ARTIFACTREGISTRY_EMULATOR_ENV, env, endpoint)
    client = make_client(artifactregistry_v1.ArtifactRegistryClient, options, "Artifact Registry")
    wanted = artifactregistry_v1.Tag(name=tag_name, version=version)
    try:
        client.get_version(name=version, **call_options())
        try:
            client.create_tag(parent=package.name, tag_id=tag, tag=wanted, **call_options())
            logger.info("created tag %s on %s", tag_name, version)
        except exceptions.Conflict:  # over REST, ALREADY_EXISTS arrives as HTTP 409
            mask = field_mask_pb2.FieldMask(paths=["version"])
            client.update_tag(tag=wanted, update_mask=mask, **call_options())
            logger.info("moved tag %s to %s", tag_name, version)
    except google_errors() as exc:
        raise api_error(exc, what, WRITER_ROLE) from None
    finally:
        client.transport.close()  # type: ignore[no-untyped-call]
    return tag_name
