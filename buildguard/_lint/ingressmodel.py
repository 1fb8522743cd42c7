"""Kubernetes Ingresses, Services and IngressClasses read from (multi-document) YAML, and
how the controller that judges an Ingress matches a request path against it.

Which controller: the ``kubernetes.io/ingress.class`` annotation first (GKE's controller reads
only it and ignores ``spec.ingressClassName``), then ``spec.ingressClassName`` (through an
IngressClass given beside it where there is one); with neither, GKE's own controller (GCE)
takes the Ingress, unless the Ingress's annotations or a file beside it name another
controller, where the answer is unknown (and the rules say nothing).

How it matches (:func:`route`):
- GCE: ``ImplementationSpecific`` ``/p`` is the one path ``/p``; ``/p/*`` every path under
  ``/p/``; ``Prefix`` ``/p`` is ``/p`` and ``/p/*``; ``Exact`` ``/p`` is ``/p``; the longest
  match wins, whatever the order.
- ingress-nginx: ``Exact`` is nginx's ``location =``; the others are prefixes, longest match
  wins; with ``use-regex`` (or a ``rewrite-target``) on any Ingress of a host, every path of
  that host is a case-insensitive regex anchored at the start, tried longest path first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from buildguard._lint.yamlfile import TEMPLATE_VALUE, YMap

Controller = Literal["gce", "nginx", "unknown"]

CLASS_ANNOTATION = "kubernetes.io/ingress.class"
_GCE_CLASSES = {"gce", "gce-internal"}
_NGINX_CONTROLLERS = {"k8s.io/ingress-nginx"}
_OTHER_ANNOTATIONS = (
    "nginx.ingress.kubernetes.io/",
    "nginx.org/",
    "traefik.ingress.kubernetes.io/",
    "alb.ingress.kubernetes.io/",
    "haproxy.org/",
    "haproxy-ingress.github.io/",
    "konghq.com/",
    "projectcontour.io/",
    "ingress.kubernetes.io/",
    "appgw.ingress.kubernetes.io/",
)
_NGINX_REGEX = (
    "nginx.ingress.kubernetes.io/use-regex",
    "nginx.ingress.kubernetes.io/rewrite-target",
)


@dataclass(frozen=True)
class IngressPath:
    host: str
    path: str
    path_type: str
    service: str | None
    line: int

    @property
    def backend(self) -> str:
        return self.service or "(no service)"


@dataclass(frozen=True)
class Ingress:
    file: str
    line: int
    name: str
    namespace: str | None
    annotations: dict[str, str]
    class_annotation: str | None
    class_name: str | None
    paths: tuple[IngressPath, ...]
    default_service: tuple[str, int] | None = None


@dataclass(frozen=True)
class Service:
    file: str
    name: str
    namespace: str | None


@dataclass(frozen=True)
class IngressClass:
    name: str
    controller: str
    default: bool


@dataclass
class Cluster:
    """What the Kubernetes files given to lint define."""

    ingresses: list[Ingress] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    classes: list[IngressClass] = field(default_factory=list)
    other_controllers: list[str] = field(default_factory=list)
    """Non-GCE controllers named by files beside the Ingresses (IngressClass controllers,
    controller Deployments' images)."""


def _str(value: Any) -> str | None:
    """A string the file gives; None for none, and for what only a template fills."""
    if not isinstance(value, str) or not value or TEMPLATE_VALUE in value:
        return None
    return value


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _service_of(backend: Any) -> tuple[str | None, int]:
    backend = _map(backend)
    service = _map(backend.get("service"))
    name = _str(service.get("name")) or _str(backend.get("serviceName"))
    line = getattr(backend, "line", 1)
    return name, line


def read_cluster(documents: Iterable[tuple[str, list[Any]]]) -> Cluster:
    """The Ingresses, Services and IngressClasses of ``(path, documents)`` pairs."""
    cluster = Cluster()
    for path, docs in documents:
        for doc in _flatten(docs):
            kind = doc.get("kind")
            meta = _map(doc.get("metadata"))
            name = _str(meta.get("name")) or ""
            namespace = _str(meta.get("namespace"))
            if kind == "Service":
                cluster.services.append(Service(path, name, namespace))
            elif kind == "IngressClass":
                controller = _str(_map(doc.get("spec")).get("controller")) or ""
                default = str(
                    _map(meta.get("annotations")).get("ingressclass.kubernetes.io/is-default-class")
                ).lower()
                cluster.classes.append(IngressClass(name, controller, default == "true"))
            elif kind == "Ingress":
                cluster.ingresses.append(_ingress(path, doc, name, namespace))
            elif kind in ("Deployment", "DaemonSet"):
                text = repr(doc)
                if "ingress-nginx/controller" in text or "nginx-ingress" in text:
                    cluster.other_controllers.append("ingress-nginx")
                elif "traefik" in text:
                    cluster.other_controllers.append("traefik")
    cluster.other_controllers += [
        c.controller for c in cluster.classes if not c.controller.endswith("/gce")
    ]
    return cluster


def _flatten(docs: list[Any]) -> Iterator[YMap]:
    for doc in docs:
        if not isinstance(doc, YMap):
            continue
        if doc.get("kind") == "List" or str(doc.get("kind", "")).endswith("List"):
            yield from (d for d in _list(doc.get("items")) if isinstance(d, YMap))
        else:
            yield doc


def _ingress(path: str, doc: YMap, name: str, namespace: str | None) -> Ingress:
    meta = _map(doc.get("metadata"))
    annotations = {str(k): str(v) for k, v in _map(meta.get("annotations")).items()}
    spec = _map(doc.get("spec"))
    paths = []
    for rule in _list(spec.get("rules")):
        rule = _map(rule)
        host = _str(rule.get("host")) or "*"
        for entry in _list(_map(rule.get("http")).get("paths")):
            entry = _map(entry)
            service, _ = _service_of(entry.get("backend"))
            paths.append(
                IngressPath(
                    host=host,
                    path=_str(entry.get("path")) or "/",
                    # required in v1; v1beta1's default
                    path_type=_str(entry.get("pathType")) or "ImplementationSpecific",
                    service=service,
                    line=getattr(entry, "line", doc.line),
                )
            )
    default_backend = spec.get("defaultBackend") or spec.get("backend")
    default_service = None
    if default_backend is not None:
        service, line = _service_of(default_backend)
        default_service = (service, line) if service else None
    return Ingress(
        file=path,
        line=doc.line,
        name=name,
        namespace=namespace,
        annotations=annotations,
        class_annotation=annotations.get(CLASS_ANNOTATION),
        class_name=_str(spec.get("ingressClassName")),
        paths=tuple(paths),
        default_service=default_service,
    )


def controller_of(ingress: Ingress, cluster: Cluster) -> Controller:
    """Which controller judges ``ingress`` (see the module's docstring)."""
    named = ingress.class_annotation or ingress.class_name
    if named is not None:
        if named in _GCE_CLASSES:
            return "gce"
        for cls in cluster.classes:
            if cls.name == named:
                if cls.controller.endswith("/gce"):
                    return "gce"
                return "nginx" if cls.controller in _NGINX_CONTROLLERS else "unknown"
        return "nginx" if named == "nginx" else "unknown"
    if any(k.startswith(_OTHER_ANNOTATIONS) for k in ingress.annotations):
        if any(k.startswith("nginx.ingress.kubernetes.io/") for k in ingress.annotations):
            return "nginx"
        return "unknown"
    if cluster.other_controllers:
        return "unknown"
    return "gce"


# -- matching ----------------------------------------------------------------------------


def gce_matches(p: IngressPath, uri: str) -> int | None:
    """The length of the match when GCE's URL map sends ``uri`` to ``p``, else None."""
    path = p.path
    if p.path_type == "Exact":
        return len(path) if uri == path else None
    if p.path_type == "Prefix":
        base = path.rstrip("/")
        if uri in (base, path) or uri.startswith(base + "/"):
            return len(base) + 1
        return None
    if path.endswith("/*"):
        base = path[:-1]
        return len(path) if uri.startswith(base) else None
    return len(path) + 1 if uri == path else None


def nginx_regex_hosts(ingresses: Iterable[Ingress]) -> set[str]:
    """Hosts on which ingress-nginx reads every path as a regex."""
    hosts: set[str] = set()
    for ing in ingresses:
        if any(ing.annotations.get(k, "").lower() not in ("", "false") for k in _NGINX_REGEX):
            hosts |= {p.host for p in ing.paths}
    return hosts


def nginx_matches(p: IngressPath, uri: str, regex: bool) -> bool:
    if p.path_type == "Exact":
        return uri == p.path
    if regex:
        try:
            return re.match(p.path, uri, re.IGNORECASE) is not None
        except re.error:
            return False
    if p.path_type == "Prefix":
        base = p.path.rstrip("/")
        return uri == base or uri.startswith(base + "/") or base == ""
    return uri.startswith(p.path)


def route(
    paths: list[IngressPath], controller: Controller, uri: str, *, regex: bool = False
) -> IngressPath | None:
    """The path of one host that the controller sends ``uri`` to (None: the default backend,
    or an unknown controller)."""
    if controller == "gce":
        scored = [(n, i, p) for i, p in enumerate(paths) if (n := gce_matches(p, uri)) is not None]
        return max(scored, key=lambda t: (t[0], -t[1]))[2] if scored else None
    if controller == "nginx":
        exact = [p for p in paths if p.path_type == "Exact" and p.path == uri]
        if exact:
            return exact[0]
        order = sorted(paths, key=lambda p: -len(p.path))
        for p in order:
            if p.path_type != "Exact" and nginx_matches(p, uri, regex):
                return p
    return None
