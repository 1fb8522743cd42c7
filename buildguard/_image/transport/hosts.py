"""Which registry hosts are loopback, named insecure, or Google's: ``host[:port]`` matching."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence

INSECURE_REGISTRIES_ENV = "BUILDGUARD_INSECURE_REGISTRIES"
GOOGLE_REGISTRIES_ENV = "BUILDGUARD_GOOGLE_REGISTRIES"


def split_env_list(value: str | None) -> tuple[str, ...]:
    """A comma-separated ``host[:port]`` list, stripped, lower-cased, empty items dropped."""
    if not value:
        return ()
    return tuple(item.strip().lower() for item in value.split(",") if item.strip())


def host_only(hostport: str) -> str:
    """``host[:port]`` or ``[v6]:port`` without the port and brackets."""
    if hostport.startswith("["):
        return hostport[1 : hostport.index("]")]
    return hostport.rsplit(":", 1)[0] if ":" in hostport else hostport


def _has_port(hostport: str) -> bool:
    if hostport.startswith("["):
        return "]:" in hostport
    return ":" in hostport


def host_matches(registry: str, patterns: Sequence[str]) -> bool:
    """``registry`` (``host[:port]``) equals a pattern, or its host equals a port-less one."""
    registry = registry.lower()
    host = host_only(registry)
    for pattern in patterns:
        pattern = pattern.lower().removeprefix("http://").removeprefix("https://").rstrip("/")
        if registry == pattern or (host == pattern and not _has_port(pattern)):
            return True
    return False


def is_loopback(hostport: str) -> bool:
    host = host_only(hostport.lower())
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_registries_from_env() -> tuple[str, ...]:
    """Hosts named in ``$BUILDGUARD_INSECURE_REGISTRIES`` (comma-separated ``host[:port]``)."""
    value = os.environ.get(INSECURE_REGISTRIES_ENV, "")
    return tuple(item.strip() for item in value.split(",") if item.strip())


def uses_plain_http(registry: str, insecure_registries: Sequence[str] = ()) -> bool:
    """Whether ``registry`` (``host[:port]``) is reached over plain HTTP."""
    return is_loopback(registry) or host_matches(
        registry, (*insecure_registries, *insecure_registries_from_env())
    )


def is_google_registry(registry: str) -> bool:
    """``*.pkg.dev``, ``gcr.io``, ``*.gcr.io``, or named in ``$BUILDGUARD_GOOGLE_REGISTRIES``."""
    host = host_only(registry.lower())
    if host == "gcr.io" or host.endswith((".gcr.io", ".pkg.dev")):
        return True
    return host_matches(registry, split_env_list(os.environ.get(GOOGLE_REGISTRIES_ENV)))
