"""Read a past build through ``google-cloud-build``: its id, status, pushed images and
commit, for ``verify --from-build``.

Global builds are read by ``projects/{p}/builds/{id}``, regional ones by the name
``projects/{p}/locations/{r}/builds/{id}`` (only ``name`` is set: with ``project_id`` too
the client would take the global path). The commit is the first of
``sourceProvenance.resolvedRepoSource.commitSha``, ``resolvedGitSource.revision``,
``resolvedConnectedRepository.revision`` and the ``COMMIT_SHA`` substitution.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from buildguard._cloud.clients import (
    CLOUDBUILD_EMULATOR_ENV,
    api_error,
    call_options,
    client_options,
    google_errors,
    make_client,
)
from buildguard._internal.distribution import CLOUD_BUILD, require_gcp
from buildguard.errors import ImageReadError, UsageError

logger = logging.getLogger(__name__)

VIEWER_ROLE = "roles/cloudbuild.builds.viewer"
UNFINISHED = frozenset({"STATUS_UNKNOWN", "PENDING", "QUEUED", "WORKING"})


@dataclass(frozen=True)
class PushedImage:
    name: str
    """As the build lists it (``results.images[].name``), possibly with a tag."""
    digest: str


@dataclass(frozen=True)
class BuildInfo:
    id: str
    project: str
    region: str | None
    status: str
    images: tuple[PushedImage, ...]
    commit: str | None
    commit_source: str | None
    """Which field the commit came from (``resolvedRepoSource.commitSha``, …)."""


def default_project(project: str | None, environ: Mapping[str, str]) -> str:
    """``--project``, ``$PROJECT_ID``, ``$GOOGLE_CLOUD_PROJECT``, then the ADC project."""
    found = project or environ.get("PROJECT_ID") or environ.get("GOOGLE_CLOUD_PROJECT")
    if found:
        return found
    from buildguard._image.transport.google import default_credentials

    notes: list[str] = []
    adc = default_credentials(notes)
    if adc is not None and adc[1]:
        return adc[1]
    raise UsageError(
        "no project for --from-build: pass --project, or set $PROJECT_ID or "
        "$GOOGLE_CLOUD_PROJECT" + (f" ({'; '.join(notes)})" if notes else ""),
        hint="in Cloud Build pass it to the step: env: [PROJECT_ID=$PROJECT_ID], or options: "
        "automapSubstitutions: true",
    )


def build_name(build_id: str, project: str, region: str | None) -> str:
    if region:
        return f"projects/{project}/locations/{region}/builds/{build_id}"
    return f"projects/{project}/builds/{build_id}"


def read_build(
    build_id: str,
    *,
    project: str | None = None,
    region: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> BuildInfo:
    """The build, or :class:`ImageReadError` (not found, refused, unreachable);
    :class:`MissingExtra` without the ``[gcp]`` extra."""
    require_gcp("verify --from-build", CLOUD_BUILD)
    env = os.environ if environ is None else environ
    project = default_project(project, env)
    region = region or env.get("LOCATION") or None
    if region == "global":
        region = None
    from google.cloud.devtools import cloudbuild_v1

    name = build_name(build_id, project, region)
    what = f"build {build_id} in project {project}" + (f", region {region}" if region else "")
    client = make_client(
        cloudbuild_v1.CloudBuildClient, client_options(CLOUDBUILD_EMULATOR_ENV, env), "Cloud Build"
    )
    try:
        if region:
            build = client.get_build(request={"name": name}, **call_options())
        else:
            build = client.get_build(project_id=project, id=build_id, **call_options())
    except google_errors() as exc:
        raise api_error(exc, f"cannot read {what}", VIEWER_ROLE) from None
    finally:
        client.transport.close()  # type: ignore[no-untyped-call]
    info = _info(build, project, region)
    logger.info(
        "%s: %s, %d image(s), commit %s",
        name,
        info.status,
        len(info.images),
        info.commit or "unknown",
    )
    if info.status in UNFINISHED:
        raise ImageReadError(
            f"{what} has not finished (status {info.status}); its images are not final",
            hint="run verify --from-build after the build ends (e.g. from a follow-up build or "
            "a deploy hook on the cloud-builds Pub/Sub topic)",
        )
    return info


def _info(build: Any, project: str, region: str | None) -> BuildInfo:
    provenance = build.source_provenance
    candidates = (
        (
            "sourceProvenance.resolvedRepoSource.commitSha",
            provenance.resolved_repo_source.commit_sha,
        ),
        ("sourceProvenance.resolvedGitSource.revision", provenance.resolved_git_source.revision),
        (
            "sourceProvenance.resolvedConnectedRepository.revision",
            provenance.resolved_connected_repository.revision,
        ),
        ("substitutions.COMMIT_SHA", build.substitutions.get("COMMIT_SHA", "")),
    )
    source, commit = next(((s, c) for s, c in candidates if c), (None, None))
    return BuildInfo(
        id=build.id,
        project=project,
        region=region,
        status=build.status.name,
        images=tuple(PushedImage(i.name, i.digest) for i in build.results.images),
        commit=commit,
        commit_source=source,
    )
