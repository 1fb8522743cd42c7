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
from buildguard._image.transport.errors import MAX_ERROR_BODY
from buildguard._image.transport.hosts import is_loopback
from buildguard._image.transport.retry import RetryingTransport, RetryPolicy
from buildguard._internal.bodyread import settle_quietly
from buildguard._internal.deadline import Deadline
from buildguard._internal.netdeadline import bound_transport
from buildguard._internal.useragent import USER_AGENT

MAX_REDIRECTS = 10


class LazyTLSTransport(httpx.BaseTransport):
    """A verifying HTTPS transport whose SSL context is made on first use."""

    def __init__(self, deadline: Deadline | None) -> None:
        self._inner: httpx.BaseTransport | None = None
        self._deadline = deadline

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = bound_transport(
                httpx.HTTPTransport(verify=True, http1=True, http2=False), self._deadline
            )
        return self._inner.handle_request(request)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


class ProxyRouting(httpx.BaseTransport):
    """Direct or through the environment's proxy, per request (the standard library's
    ``getproxies()`` / ``proxy_bypass()`` rules, which are curl's and requests')."""

    def __init__(self, deadline: Deadline | None) -> None:
        self._proxies = {
            k: v for k, v in urllib.request.getproxies().items() if k in ("http", "https")
        }
        self._deadline = deadline
        self._direct = bound_transport(
            httpx.HTTPTransport(verify=True, http1=True, http2=False), deadline
        )
        self._via: dict[str, httpx.BaseTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        proxy = self._proxies.get(request.url.scheme)
        if proxy is None or urllib.request.proxy_bypass(request.url.host):
            return self._direct.handle_request(request)
        if proxy not in self._via:
            self._via[proxy] = bound_transport(
                httpx.HTTPTransport(verify=True, proxy=proxy), self._deadline
            )
        return self._via[proxy].handle_request(request)

    def close(self) -> None:
        self._direct.close()
        for transport in self._via.values():
            transport.close()


def _bounded_redirect_body(response: httpx.Response) -> None:
    """httpx reads the body of a redirect it follows whole, decoded, with no limit: read it
    first, within the error-body limit (a response hook runs before httpx looks)."""
    if response.has_redirect_location:
        settle_quietly(response, MAX_ERROR_BODY)


def make_client(
    registry: str, auth: RegistryAuth, policy: RetryPolicy, deadline: Deadline | None = None
) -> httpx.Client:
    """The client for ``registry`` (``host[:port]``); see the module docstring. Every
    socket operation ends by ``deadline`` (and each attempt by the policy's)."""
    common = {
        "timeout": policy.timeout(),
        "max_redirects": MAX_REDIRECTS,
        "headers": {"User-Agent": USER_AGENT},
        "auth": auth,
        "trust_env": False,
        "event_hooks": {"response": [_bounded_redirect_body]},
    }
    if is_loopback(registry):
        direct = bound_transport(httpx.HTTPTransport(verify=False), deadline)  # http:// only
        return httpx.Client(
            transport=RetryingTransport(direct, policy, deadline),
            mounts={"https://": RetryingTransport(LazyTLSTransport(deadline), policy, deadline)},
            **common,  # type: ignore[arg-type]
        )
    return httpx.Client(
        transport=RetryingTransport(ProxyRouting(deadline), policy, deadline),
        **common,  # type: ignore[arg-type]
    )
