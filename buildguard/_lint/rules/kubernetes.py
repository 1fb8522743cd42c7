"""BG-K8S001: a Deployment or Pod runs an image by a mutable tag, not the verified digest."""

from __future__ import annotations

from collections.abc import Iterator

from buildguard._lint.imagerefs import parse_ref
from buildguard._lint.kubeobjects import workload_images
from buildguard._lint.rule import LintContext, Rule, finding
from buildguard._lint.workspace import Workspace
from buildguard._lint.yamlfile import load_templated_documents
from buildguard._models.lintreport import LintFinding

JUDGED = frozenset({"Deployment", "Pod"})


def _check(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    for file in workspace.of_kind("kubernetes"):
        documents = workspace.parsed(file, load_templated_documents)
        for image, line, kind in workload_images(documents or []):
            if kind in JUDGED and parse_ref(image).mutable:
                yield finding(
                    RULE,
                    file,
                    line,
                    f"the {kind} runs {image}, a mutable tag: the pods run whatever the tag "
                    "names when they start, not the image that was verified",
                    "deploy the verified digest (`image: REPO@sha256:...`, e.g. with "
                    "`kubectl set image` or `gke-deploy run --image REPO@DIGEST`)",
                )


RULE = Rule(
    id="BG-K8S001",
    severity="warning",
    title="A Deployment or Pod image by a mutable tag instead of the verified digest",
    help=(
        "In the incident the pods ran the new image name, and nobody could see which build "
        "it held. An image by `:latest` or by no tag is resolved when each pod starts, so "
        "pods of one Deployment can run different builds and none is the one verify "
        "checked. Fix: deploy by digest (`REPO@sha256:...`)."
    ),
    check=_check,
)

RULES = (RULE,)
