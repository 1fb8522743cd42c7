"""Lint rules: nginx (BG-NG001..BG-NG004).

When nginx resolves a host is :mod:`buildguard._lint.nginxhosts`; which location answers a
URI :mod:`buildguard._lint.nginxlocations`; the bundle's API calls come from
:mod:`buildguard._lint.jsurls`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from buildguard._lint import urlshape, webfacts
from buildguard._lint.ingressmodel import (
    Cluster,
    IngressPath,
    controller_of,
    nginx_regex_hosts,
    route,
)
from buildguard._lint.nginxconf import Directive
from buildguard._lint.nginxhosts import is_ip, needs_search_path, targets
from buildguard._lint.nginxlocations import Unknown, answering_location, spa_fallback
from buildguard._lint.rule import LintContext, Rule, finding
from buildguard._lint.workspace import Workspace
from buildguard._models.lintreport import LintFinding

DOCKER_DNS = "127.0.0.11"
MAX_PROBES = 200
_K8S_WORDS = re.compile(r"gke-deploy|kubectl|gcloud\s+container|\bhelm\s|kustomize|skaffold")


def _upstreams(workspace: Workspace) -> set[str]:
    names: set[str] = set()
    for config in webfacts.nginx_configs(workspace):
        names |= config.upstream_names()
    return names


def _check_runtime(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    upstreams = _upstreams(workspace)
    for config in webfacts.nginx_configs(workspace):
        for t in targets(config):
            if not t.runtime or t.host in upstreams or not needs_search_path(t.host):
                continue
            if t.host.lower() == "localhost":
                continue  # answered by most resolvers (RFC 6761); not this incident's cause
            yield finding(
                NG001,
                t.directive.path,
                t.directive.line,
                f"`{t.what}` is resolved per request by nginx's `resolver`, which sends "
                f"`{t.host}` as written: the pod's search domains (`…svc.cluster.local`) "
                "are not applied, so the lookup fails and the request gets 502",
                f"write the fully qualified name (`{t.host}.<namespace>.svc.cluster.local`) "
                "or use an `upstream` block",
            )


def _on_kubernetes(workspace: Workspace) -> bool:
    if workspace.of_kind("kubernetes"):
        return True
    if any(_K8S_WORDS.search(f.text) for f in workspace.of_kind("cloudbuild", "github-actions")):
        return True
    return any("svc.cluster.local" in f.text for f in workspace.of_kind("nginx"))


def _check_docker_dns(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    if not _on_kubernetes(workspace):
        return
    for config in webfacts.nginx_configs(workspace):
        for d, _ in config.walk():
            if d.name == "resolver" and any(
                a.split(":")[0] == DOCKER_DNS or a == f"[{DOCKER_DNS}]" for a in d.args
            ):
                yield finding(
                    NG002,
                    d.path,
                    d.line,
                    f"`resolver {DOCKER_DNS}` is Docker's embedded DNS, which exists only in "
                    "a Docker network; this config runs on Kubernetes (Kubernetes files or a "
                    "deploy step beside it), where nothing answers there",
                    "point `resolver` at the cluster DNS (`kube-dns.kube-system.svc."
                    "cluster.local`, or the nameserver of /etc/resolv.conf written into the "
                    "config at start-up)",
                )


def _check_short_names(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    upstreams = _upstreams(workspace)
    for config in webfacts.nginx_configs(workspace):
        for t in targets(config):
            host = t.host.lower()
            if t.runtime or host in upstreams or host == "localhost" or is_ip(host):
                continue
            if "." in host:
                continue
            yield finding(
                NG003,
                t.directive.path,
                t.directive.line,
                f"`{t.what}` names the short host `{t.host}`: nginx resolves it once, at "
                "start-up, through the search path of the pod's namespace, so it works only "
                "from that namespace and nginx refuses to start when it does not resolve",
                f"write `{t.host}.<namespace>.svc.cluster.local`",
            )


# -- BG-NG004 ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    uri: str
    source: str
    """Where the bundle calls it (``path:line``) or ``--api-prefix``."""


def api_probes(workspace: Workspace, context: LintContext) -> list[Probe]:
    """The API paths to ask nginx about: ``--api-prefix`` and the bundle's and sources'
    same-origin API calls."""
    probes: dict[str, Probe] = {}
    for prefix in context.api_prefixes:
        probes.setdefault(prefix, Probe(prefix, "--api-prefix"))
    for file in webfacts.script_files(workspace):
        for literal in webfacts.literals(workspace, file):
            uri = urlshape.api_probe(literal)
            if uri is not None and len(probes) < MAX_PROBES:
                probes.setdefault(uri, Probe(uri, f"{file.path}:{literal.line}"))
    return list(probes.values())


def _routed_elsewhere(cluster: Cluster, uri: str) -> bool:
    """Whether an Ingress beside it sends ``uri`` to a path of its own (not the catch-all
    ``/`` or ``/*``): then the API calls do not reach this nginx. Judged by the Ingress's
    controller where it is known, by the path's literal prefix where it is not."""
    for ingress in cluster.ingresses:
        controller = controller_of(ingress, cluster)
        regex = nginx_regex_hosts([ingress])
        hosts: dict[str, list[IngressPath]] = {}
        for p in ingress.paths:
            hosts.setdefault(p.host, []).append(p)
        for host, paths in hosts.items():
            if controller == "unknown":
                got = next((p for p in paths if _literal_prefix_of(p, uri)), None)
            else:
                got = route(paths, controller, uri, regex=host in regex)
            if got is not None and got.path.rstrip("*").rstrip("/"):
                return True
    return False


def _literal_prefix_of(p: IngressPath, uri: str) -> bool:
    literal = p.path.rstrip("*").rstrip("/")
    if not literal or re.search(r"[()\[\]|\\^$+?{}]", literal):
        return False
    return uri == literal or uri.startswith(literal + "/")


def _check_api_fallback(workspace: Workspace, context: LintContext) -> Iterator[LintFinding]:
    configs = webfacts.nginx_configs(workspace)
    if not configs:
        return
    cluster = webfacts.cluster(workspace)
    # an Ingress beside the config that routes a path elsewhere does so for every server
    probes = [p for p in api_probes(workspace, context) if not _routed_elsewhere(cluster, p.uri)]
    for config in configs:
        for server in config.servers():
            answered: dict[Directive, tuple[Directive, list[Probe]]] = {}
            for probe in probes:
                got = _fallback_for(server, probe)
                if got is not None:
                    answered.setdefault(got[1], (got[0], []))[1].append(probe)
            for fallback, (location, called) in answered.items():
                yield _fallback_finding(fallback, location, called)


def _fallback_for(server: Directive, probe: Probe) -> tuple[Directive, Directive] | None:
    """(location, its try_files) when the SPA fallback answers the probe. A path found in
    the sources may be a base the app extends (``/api/v5`` + ``/sessions``): it counts only
    when the path under it (``/api/v5/``) is answered by the fallback too."""
    uris = [probe.uri]
    if probe.source != "--api-prefix" and not probe.uri.endswith("/"):
        uris.append(probe.uri + "/")
    found = None
    for uri in uris:
        try:
            location = answering_location(server, uri)
        except Unknown:
            return None
        fallback = spa_fallback(location) if location is not None else None
        if location is None or fallback is None:
            return None
        found = found or (location, fallback)
    return found


def _fallback_finding(fallback: Directive, location: Directive, called: list[Probe]) -> LintFinding:
    first = max(called, key=lambda p: len(p.uri))
    prefix = urlshape.api_prefix(first.uri)
    where = "" if first.source == "--api-prefix" else f" (called at {first.source})"
    others = [p.uri for p in called if p is not first]
    more = f" (and {', '.join(others[:3])}{'…' if len(others) > 3 else ''})" if others else ""
    return finding(
        NG004,
        fallback.path,
        fallback.line,
        f"GET {first.uri}{where}{more} is answered by `location "
        f"{' '.join(location.args)}` and its SPA fallback `try_files … "
        f"{fallback.args[-1]}`: no location routes it to the API, so API calls "
        "get the entry page (HTML with status 200)",
        f"add `location {prefix} {{ proxy_pass …; }}` for the API service (the fallback "
        "then answers only the app's own routes)",
    )


NG001 = Rule(
    id="BG-NG001",
    severity="error",
    title="proxy_pass through a variable to a host name that is not fully qualified",
    help="With a variable in its URL, proxy_pass resolves the host per request through "
    "nginx's own `resolver`, which does not apply the pod's DNS search domains: a short "
    "Service name never resolves and every request gets 502. Write the fully qualified "
    "name (`api.<namespace>.svc.cluster.local`) or use an `upstream` block.",
    check=_check_runtime,
)
NG002 = Rule(
    id="BG-NG002",
    severity="warning",
    title="resolver 127.0.0.11 (Docker's DNS) in a config that runs on Kubernetes",
    help="127.0.0.11 answers only inside a Docker network; in a Kubernetes pod nothing "
    "listens there and every per-request lookup times out. Use the cluster DNS.",
    check=_check_docker_dns,
)
NG003 = Rule(
    id="BG-NG003",
    severity="warning",
    title="proxy_pass or upstream server by a short host name",
    help="A host without a domain is resolved once at start-up through the search path of "
    "the pod's namespace: it works only from that namespace, and nginx fails to start when "
    "the name does not resolve. Write the Service's fully qualified name.",
    check=_check_short_names,
)
NG004 = Rule(
    id="BG-NG004",
    severity="error",
    title="an API prefix the bundle calls is answered by the SPA fallback",
    help="When no location routes an API prefix, `try_files … /index.html` answers the "
    "bundle's API calls with the entry page (status 200, HTML), and the app fails far from "
    "the cause. Add the API location (proxy_pass to the API Service).",
    check=_check_api_fallback,
)

RULES: tuple[Rule, ...] = (NG001, NG002, NG003, NG004)
