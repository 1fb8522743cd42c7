"""The ``httpx.Client`` of one registry: TLS and proxies below, retries above them, the
auth flow on top.

Stack (outermost first): ``httpx.Client`` (redirects, bounded) → :class:`RegistryAuth` →
:class:`RetryingTransport` → a plain-HTTP or verifying-HTTPS transport (through
``HTTPS_PROXY`` / ``HTTP_PROXY`` unless ``NO_PROXY`` says otherwise). A loopback registry
is never sent to a proxy, and its client does not load the CA bundle (~0.1 s) unless a
redirect or token realm leads to HTTPS.
"""

from __future__ import annotations

import urllib.request

import httpx

from buildguard._image.transport.authflow import RegistryAuth
from buildguard._image.transport.hosts import is_loopback
from buildguard._image.transport.retry import RetryingTransport, RetryPolicy
from buildguard._internal.useragent import USER_AGENT

MAX_REDIRECTS = 10


class LazyTLSTransport(httpx.BaseTransport):
    """A verifying HTTPS transport whose SSL context is made on first use."""

    def __init__(self) -> None:
        self._inner: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = httpx.HTTPTransport(verify=True, http1=True, http2=False)
        return self._inner.handle_request(request)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


class ProxyRouting(httpx.BaseTransport):
    """Direct or through the environment's proxy, per request (the standard library's
    ``getproxies()`` / ``proxy_bypass()`` rules, which are curl's and requests')."""

    def __init__(self) -> None:
        self._proxies = {k: v for k, v in urllib.request.getproxies().items()
                         if k in ("http", "https")}  # fmt: skip
        self._direct = httpx.HTTPTransport(verify=True, http1=True, http2=False)
        self._via: dict[str, httpx.HTTPTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        proxy = self._proxies.get(request.url.scheme)
        if proxy is None or urllib.request.proxy_bypass(request.url.host):
            return self._direct.handle_request(request)
        if proxy not in self._via:
            self._via[proxy] = httpx.HTTPTransport(verify=True, proxy=proxy)
        return self._via[proxy].handle_request(request)

    def close(self) -> None:
        self._direct.close()
        for transport in self._via.values():
            transport.close()


def make_client(registry: str, auth: RegistryAuth, policy: RetryPolicy) -> httpx.Client:
    """The client for ``registry`` (``host[:port]``); see the module docstring."""
    common = {"timeout": policy.timeout(), "max_redirects": MAX_REDIRECTS,
              "headers": {"User-Agent": USER_AGENT}, "auth": auth, "trust_env": False}  # fmt: skip
    if is_loopback(registry):
        plain = RetryingTransport(httpx.HTTPTransport(verify=False), policy)  # http:// only
        return httpx.Client(
            transport=plain,
            mounts={"https://": RetryingTransport(LazyTLSTransport(), policy)},
            **common,  # type: ignore[arg-type]
        )
    return httpx.Client(transport=RetryingTransport(ProxyRouting(), policy), **common)  # type: ignore[arg-type]
