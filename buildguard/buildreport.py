"""The report of ``verify --from-build``: one verify report per image the build pushed,
each with its verdict; the build's verdict is the worst of them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from buildguard._internal.modeltypes import Digest, FrozenModel
from buildguard.models import Finding, VerifyReport

Verdict = Literal["pass", "fail", "error"]
"""``pass`` (exit 0), ``fail`` (a check failed, exit 1), ``error`` (not verified: the
image could not be read, exit 3, or was named wrongly, exit 2)."""


def verdict_of(exit_code: int) -> Verdict:
    return "pass" if exit_code == 0 else "fail" if exit_code == 1 else "error"


class Mark(FrozenModel):
    """A tag put on a verified digest by ``--mark-verified``."""

    tag: str
    digest: Digest
    via: Literal["artifact-registry", "registry-api"]
    target: str = Field(
        description="The Artifact Registry tag's resource name, or HOST/REPO:TAG."
    )


class BuildSummary(FrozenModel):
    id: str
    project: str
    region: str | None = Field(description="None for a global build.")
    status: str = Field(description="The build's status, e.g. SUCCESS.")
    commit: str | None
    commit_source: str | None = Field(
        description="Where the commit came from, e.g. sourceProvenance.resolvedRepoSource."
        "commitSha, or substitutions.COMMIT_SHA."
    )


class BuildImageResult(FrozenModel):
    name: str = Field(description="As the build lists it in results.images[].name.")
    digest: str
    reference: str = Field(description="What was verified: HOST/REPO@DIGEST.")
    verdict: Verdict
    exit_code: int
    error: str | None = Field(default=None, description="Why the image was not verified.")
    report: VerifyReport | None = None
    mark: Mark | None = None


class BuildVerifyReport(FrozenModel):
    """What ``verify --from-build`` found; ``ok`` only when every image passed."""

    schema_version: Literal[1] = 1
    ok: bool
    verdict: Verdict
    exit_code: int = Field(description="The worst exit code of the images (1 for none).")
    build: BuildSummary
    images: tuple[BuildImageResult, ...] = Field(description="In the build's order.")
    findings: tuple[Finding, ...] = Field(
        default=(), description="About the build as a whole (NOTHING_CHECKED)."
    )
