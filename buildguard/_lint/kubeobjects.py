"""The container images of Kubernetes workloads, with their lines.

A Pod's ``spec.containers[]``/``initContainers[]``, a Deployment's (and the other
controllers') ``spec.template.spec``, a CronJob's ``spec.jobTemplate.spec.template.spec``;
``kind: List`` items are read too. A file may hold many documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from buildguard._lint.workspace import Workspace, WorkspaceFile, normalise
from buildguard._lint.yamlfile import YList, YMap, load_templated_documents

WORKLOADS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
)


def _pod_spec(document: YMap) -> Any:
    kind = document.get("kind")
    spec = document.get("spec")
    if kind == "Pod":
        return spec
    if not isinstance(spec, YMap):
        return None
    if kind == "CronJob":
        job = spec.get("jobTemplate")
        spec = job.get("spec") if isinstance(job, YMap) else None
        if not isinstance(spec, YMap):
            return None
    template = spec.get("template")
    return template.get("spec") if isinstance(template, YMap) else None


def workload_images(documents: list[Any]) -> Iterator[tuple[str, int, str]]:
    """(image, line, kind) of every container of every workload in ``documents``."""
    for document in documents:
        if not isinstance(document, YMap):
            continue
        if document.get("kind") == "List" and isinstance(document.get("items"), YList):
            yield from workload_images(list(document["items"]))
            continue
        kind = document.get("kind")
        if not isinstance(kind, str) or kind not in WORKLOADS:
            continue
        spec = _pod_spec(document)
        if not isinstance(spec, YMap):
            continue
        for key in ("initContainers", "containers"):
            containers = spec.get(key)
            if not isinstance(containers, YList):
                continue
            for container in containers:
                if isinstance(container, YMap) and isinstance(container.get("image"), str):
                    yield container["image"], container.line_of("image"), str(kind)


def images_in(workspace: Workspace, path: str) -> Iterator[tuple[str, int, WorkspaceFile]]:
    """Workload images in the Kubernetes file ``path``, or in those under the folder."""
    relative = normalise(path)
    if relative is None:
        return
    files = [f for f in workspace.of_kind("kubernetes") if f.path == relative]
    if not files:
        prefix = "" if relative == "." else f"{relative}/"
        files = [f for f in workspace.of_kind("kubernetes") if f.path.startswith(prefix)]
    for file in files:
        documents = workspace.parsed(file, load_templated_documents)
        for image, line, _ in workload_images(documents or []):
            yield image, line, file
