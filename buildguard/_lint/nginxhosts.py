"""The hosts an nginx config sends requests to, and when nginx resolves each.

``ngx_http_proxy_module`` ``proxy_pass``: a URL without variables names an ``upstream``
group or a host resolved once, at start-up, by the system resolver (``/etc/resolv.conf``,
the pod's search domains); with a variable anywhere in it, the host (unless an ``upstream``
block's name) is looked up per request by ``resolver`` (``ngx_http_core_module``), which
sends the name as written. An ``upstream`` ``server … resolve`` is looked up by ``resolver``
too (``ngx_http_upstream_module``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

from buildguard._lint.nginxconf import TEMPLATE_VALUE, Directive, NginxConfig, template_values

_URL = re.compile(r"^(?:([A-Za-z][\w+.-]*)://)?([^/?#]*)(.*)$", re.S)
_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_PATH_VARS = re.compile(r"\$(?:\{)?(request_uri|uri|document_uri|is_args|args|query_string)\b\}?")


@dataclass(frozen=True)
class Target:
    """A host nginx sends requests to."""

    directive: Directive
    host: str
    runtime: bool
    """Resolved per request by ``resolver`` (not once at start-up)."""
    what: str


def needs_search_path(host: str) -> bool:
    """A name the resolver cannot answer as written: one label, or a Kubernetes name cut
    short (``api.team.svc``)."""
    name = host.lower()
    if name.endswith(".") or is_ip(name):
        return False
    return "." not in name or name.endswith((".svc", ".svc.cluster"))


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _host_of(hostport: str) -> str:
    hostport = hostport.rsplit("@", 1)[-1]
    if hostport.startswith("["):
        return hostport.split("]", 1)[0] + "]"
    return hostport.split(":", 1)[0]


def _sets(parents: tuple[Directive, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for block in parents:
        for d in block.children("set"):
            if len(d.args) >= 2 and d.args[0].startswith("$"):
                values[d.args[0][1:].strip("{}")] = d.args[1]
    return values


def _path_start(match: re.Match[str]) -> str:
    """What a variable that holds the request's path or query starts with."""
    return {"is_args": "?", "args": "", "query_string": ""}.get(match.group(1), "/")


def _expand(text: str, sets: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        value = sets.get(name)
        return value if value is not None and "$" not in value else match.group(0)

    return _VAR.sub(one, text)


def targets(config: NginxConfig) -> Iterator[Target]:
    for d, parents in config.walk():
        if d.name == "proxy_pass" and d.args:
            raw = template_values(d.args[0]) if config.template else d.args[0]
            runtime = "$" in raw
            match = _URL.match(_PATH_VARS.sub(_path_start, _expand(raw, _sets(parents))))
            if match is None or match.group(2).lower().startswith("unix:"):
                continue
            host = _host_of(match.group(2))
            if host and "$" not in host and TEMPLATE_VALUE not in host:
                yield Target(d, host, runtime, f"proxy_pass {d.args[0]}")
        elif d.name == "server" and parents and parents[-1].name == "upstream" and d.args:
            raw = template_values(d.args[0]) if config.template else d.args[0]
            if raw.startswith("unix:") or TEMPLATE_VALUE in raw or "$" in raw:
                continue
            runtime = "resolve" in d.args[1:]
            yield Target(d, _host_of(raw), runtime, f"upstream {parents[-1].args[0]}: server")
