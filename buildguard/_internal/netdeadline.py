"""Deadlines on every socket operation of an httpx transport (see :mod:`.deadline`).

httpcore takes a network backend; httpx's ``HTTPTransport`` does not let us pass one, so
:func:`bound_transport` sets it on the transport's connection pool before any connection
is made (docs/decisions.md says why). Each connect, read, write and TLS handshake gets
``min(timeout, time left)`` of the nearest deadline; once one has passed, the operation
raises httpcore's timeout (httpx's ``ConnectTimeout`` / ``ReadTimeout`` /
``WriteTimeout``) with the deadline's words as its message.
"""

from __future__ import annotations

import ssl
import typing
from collections.abc import Callable

import httpcore
import httpx

from buildguard._internal.deadline import Deadline, nearest

_Timeout = type[httpcore.TimeoutException]
_T = typing.TypeVar("_T", bound=httpx.BaseTransport)
_R = typing.TypeVar("_R")


def _capped(timeout: float | None, overall: Deadline | None, error: _Timeout) -> float | None:
    deadline = nearest(overall)
    if deadline is None:
        return timeout
    left = deadline.remaining()
    if left <= 0:
        raise error(deadline.message())
    return left if timeout is None else min(timeout, left)


def _bounded(
    op: Callable[[float | None], _R],
    timeout: float | None,
    overall: Deadline | None,
    error: _Timeout,
) -> _R:
    """``op(timeout capped)``; a timeout that the deadline caused names the deadline."""
    capped = _capped(timeout, overall, error)
    try:
        return op(capped)
    except httpcore.TimeoutException:
        deadline = nearest(overall)
        if deadline is not None and capped != timeout:  # the deadline's, not the timeout's
            raise error(deadline.message()) from None
        raise


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, overall: Deadline | None) -> None:
        self._inner = inner
        self._overall = overall

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _bounded(
            lambda t: self._inner.read(max_bytes, t), timeout, self._overall, httpcore.ReadTimeout
        )

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _bounded(
            lambda t: self._inner.write(buffer, t), timeout, self._overall, httpcore.WriteTimeout
        )

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = _bounded(
            lambda t: self._inner.start_tls(ssl_context, server_hostname, t),
            timeout,
            self._overall,
            httpcore.ConnectTimeout,
        )
        return _Stream(inner, self._overall)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every operation bounded by the nearest deadline."""

    def __init__(self, overall: Deadline | None) -> None:
        self._inner = httpcore.SyncBackend()
        self.overall = overall

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = _bounded(
            lambda t: self._inner.connect_tcp(host, port, t, local_address, socket_options),
            timeout,
            self.overall,
            httpcore.ConnectTimeout,
        )
        return _Stream(stream, self.overall)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = _bounded(
            lambda t: self._inner.connect_unix_socket(path, t, socket_options),
            timeout,
            self.overall,
            httpcore.ConnectTimeout,
        )
        return _Stream(stream, self.overall)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bound_transport(transport: _T, overall: Deadline | None) -> _T:
    """``transport`` (an ``httpx.HTTPTransport``) with its sockets bounded; returned."""
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.ConnectionPool):  # HTTPProxy is one too
        raise TypeError(f"cannot bound the sockets of {transport!r}")
    pool._network_backend = DeadlineBackend(overall)
    return transport


def bound_client(client: httpx.Client, overall: Deadline | None) -> httpx.Client:
    """Every transport of ``client`` (its own and the environment's proxies) bounded."""
    bound_transport(client._transport, overall)
    for transport in client._mounts.values():
        if transport is not None:
            bound_transport(transport, overall)
    return client
