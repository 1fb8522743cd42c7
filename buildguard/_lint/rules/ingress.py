"""Lint rules: Kubernetes Ingress (BG-IN001..BG-IN003), judged by the controller that takes
each Ingress (:func:`buildguard._lint.ingressmodel.controller_of`); an Ingress whose
controller is unknown is not judged."""

from __future__ import annotations

import re
from collections.abc import Iterator

from buildguard._lint import webfacts
from buildguard._lint.ingressmodel import (
    Controller,
    Ingress,
    IngressPath,
    controller_of,
    nginx_regex_hosts,
    route,
)
from buildguard._lint.rule import LintContext, Rule, finding
from buildguard._lint.workspace import Workspace
from buildguard._models.lintreport import LintFinding

_REGEX_CHARS = re.compile(r"[()\[\]|\\^$+?{}*]")


def _by_host(ingress: Ingress) -> dict[str, list[IngressPath]]:
    hosts: dict[str, list[IngressPath]] = {}
    for p in ingress.paths:
        hosts.setdefault(p.host, []).append(p)
    return hosts


def _check_exact_gce(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    cluster = webfacts.cluster(workspace)
    for ingress in cluster.ingresses:
        if controller_of(ingress, cluster) != "gce":
            continue
        for paths in _by_host(ingress).values():
            stars = {p.path[:-2] for p in paths if p.path.endswith("/*")}
            for p in paths:
                if p.path_type != "ImplementationSpecific" or p.path.endswith("/*"):
                    continue
                last = p.path.rstrip("/").rsplit("/", 1)[-1]
                if p.path.rstrip("/") in stars or "." in last:
                    continue  # the /p + /p/* pair, or a file such as /robots.txt
                star = p.path.rstrip("/") + "/*"
                yield finding(
                    IN001,
                    ingress.file,
                    p.line,
                    f"Ingress {ingress.name}: on GKE's controller (class gce), the "
                    f"ImplementationSpecific path `{p.path}` matches only the one path "
                    f"`{p.path}`, not `{p.path.rstrip('/')}/…`: those requests go to another "
                    "rule or the default backend",
                    f"write `{star}` (or `pathType: Prefix`)",
                )


def _check_services(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    cluster = webfacts.cluster(workspace)
    if not cluster.services:
        return
    for ingress in cluster.ingresses:
        wanted = [(p.service, p.line) for p in ingress.paths if p.service]
        if ingress.default_service is not None:
            wanted.append(ingress.default_service)
        for name, line in wanted:
            if any(
                s.name == name
                and (
                    s.namespace is None
                    or ingress.namespace is None
                    or s.namespace == ingress.namespace
                )
                for s in cluster.services
            ):
                continue
            files = sorted({s.file for s in cluster.services})
            yield finding(
                IN002,
                ingress.file,
                line,
                f"Ingress {ingress.name} sends traffic to Service `{name}`, which none of the "
                f"Kubernetes files given defines (Services are in {', '.join(files[:3])}): "
                "the controller answers 503/404 for it",
                f"name the Service as it is defined, or add the `{name}` Service",
            )


def _check_overlap(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    cluster = webfacts.cluster(workspace)
    nginx_ingresses = [i for i in cluster.ingresses if controller_of(i, cluster) == "nginx"]
    regex_hosts = nginx_regex_hosts(nginx_ingresses)
    groups: list[tuple[Controller, list[IngressPath], str]] = []
    merged: dict[str, list[IngressPath]] = {}
    files: dict[IngressPath, Ingress] = {}
    for ingress in cluster.ingresses:
        controller = controller_of(ingress, cluster)
        for host, paths in _by_host(ingress).items():
            files.update({p: ingress for p in paths})
            if controller == "gce":  # each GCE Ingress is its own load balancer
                groups.append(("gce", paths, host))
            elif controller == "nginx":  # ingress-nginx merges the Ingresses of a host
                merged.setdefault(host, []).extend(paths)
    groups += [("nginx", paths, host) for host, paths in merged.items()]
    for controller, paths, host in groups:
        for narrow in paths:
            if narrow.path_type == "Exact" or _REGEX_CHARS.search(narrow.path.rstrip("*")):
                continue
            base = narrow.path.rstrip("*").rstrip("/")
            if not base:
                continue
            probe = base + "/x"
            got = route(paths, controller, probe, regex=host in regex_hosts)
            if got is None or got is narrow or got.service == narrow.service:
                continue
            ingress = files[narrow]
            yield finding(
                IN003,
                ingress.file,
                narrow.line,
                f"Ingress {ingress.name}: requests under `{base}/` go to Service "
                f"`{got.backend}` (path `{got.path}` at line {got.line}), not to "
                f"`{narrow.backend}` of the narrower path `{narrow.path}`: "
                + (
                    "GKE's controller reads an ImplementationSpecific path without `/*` as "
                    "that one path only"
                    if controller == "gce"
                    else "ingress-nginx tries the regex paths of this host longest first"
                ),
                f"make `{narrow.path}` a prefix (`{base}/*` on GKE, `pathType: Prefix`)",
            )


IN001 = Rule(
    id="BG-IN001",
    severity="error",
    title="a GKE Ingress ImplementationSpecific path without /* matches one path only",
    help="GKE's Ingress controller turns an ImplementationSpecific path `/api` into a URL "
    "map rule for exactly `/api`; `/api/v5/sessions` goes elsewhere (often the frontend, "
    "which answers with the entry page). Write `/api/*` or use `pathType: Prefix`.",
    check=_check_exact_gce,
)
IN002 = Rule(
    id="BG-IN002",
    severity="error",
    title="an Ingress backend names a Service none of the files defines",
    help="An Ingress whose backend Service does not exist answers with an error for its "
    "paths. Fix the name, or add the Service.",
    check=_check_services,
)
IN003 = Rule(
    id="BG-IN003",
    severity="error",
    title="overlapping Ingress paths: the narrower prefix's traffic goes to the broader rule",
    help="How the controller matches decides which backend takes `/api/v5/…` when both "
    "`/api` and `/api/v5` are routed: on GKE an ImplementationSpecific path without `/*` "
    "matches itself only, so the broader `/api/*` takes the rest. Make the narrower path a "
    "prefix.",
    check=_check_overlap,
)

RULES: tuple[Rule, ...] = (IN001, IN002, IN003)
