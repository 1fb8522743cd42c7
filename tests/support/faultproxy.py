"""A real fault-injecting HTTP reverse proxy on 127.0.0.1, in a thread, for registry tests.

It forwards every request to an upstream (a real ``docker-registry``) and applies the first
matching :class:`Fault` to the answer: return a status N times (``503``, ``429`` with
``Retry-After``), flip a byte of the body, reset the TCP connection after N body bytes,
truncate the body (close after N bytes while ``Content-Length`` promises more), ignore
``Range`` requests, answer ``401`` with the upstream's challenge (an expired token),
rewrite a response header (e.g. drop ``service`` from ``WWW-Authenticate``), stall before
answering (``stall``: a read timeout), redirect (``redirect`` to ``location``, where
``{path}`` is the request's path: another host, or itself for a loop), send more bytes
than the upstream did (``extend``: ``body`` appended, ``Content-Length`` to match), or
answer with anything (``replace``: ``status``, ``headers`` such as ``Content-Encoding``,
``body`` or an endless ``chunks()``, framed by ``Content-Length`` or ``chunked``, optionally
a byte at a time: ``header_delay`` between bytes of the head, ``delay`` between pieces).
``redirect`` and ``unauthorized`` send ``error_body`` (with ``headers``) when it is given.

``FaultProxy(upstream, bind="127.0.0.2", upstream_headers={...})`` makes a second loopback
host that adds its own credentials upstream, like a storage backend behind a signed URL.

Usage::

    with FaultProxy(registry.url) as proxy:
        proxy.add(Fault(path=r"/blobs/", action="status", status=503, times=2))
        RegistrySource(f"{proxy.host}/repo:tag", ...)
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from loopbackserver import LoopbackServer, QuietHandler

HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
    }
)

ACTIONS = frozenset(
    {
        "status",
        "flip",
        "reset",
        "truncate",
        "no_range",
        "unauthorized",
        "header",
        "drop_header",
        "stall",
        "redirect",
        "extend",
        "replace",
    }
)


@dataclass
class Fault:
    """One fault. ``times=None`` applies it to every matching request."""

    action: str
    path: str = ""
    """Regex searched in the request path (``/manifests/``, ``/blobs/sha256:…``)."""
    method: str | None = None
    times: int | None = 1
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers for ``status`` (e.g. ``Retry-After``)."""
    body: bytes = b'{"errors":[{"code":"UNAVAILABLE","message":"injected by faultproxy"}]}'
    offset: int = 0
    """Byte offset for ``flip``, byte count for ``reset`` / ``truncate``."""
    header: str = ""
    """Response header for ``header`` (rewrite) / ``drop_header``."""
    rewrite: Callable[[str], str] | None = None
    delay: float = 0.0
    """Seconds ``stall`` waits before answering."""
    location: str = ""
    """``Location`` for ``redirect``; ``{path}`` is replaced by the request's path."""
    chunks: Callable[[], Iterator[bytes]] | None = None
    """``replace``: the body as chunks (possibly endless) instead of ``body``."""
    chunked: bool = False
    """``replace``: ``Transfer-Encoding: chunked`` instead of ``Content-Length``."""
    header_delay: float = 0.0
    """``replace``: seconds between bytes of the status line and headers."""
    piece: int = 64 << 10
    """``replace``: body pieces of this many bytes, ``delay`` seconds apart."""
    error_body: bytes | None = None
    hits: int = 0

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}")

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method != method:
            return False
        return re.search(self.path, path) is not None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # connections we reset on purpose end in errors in the handler thread


class FaultProxy(LoopbackServer):
    """Reverse proxy from ``127.0.0.1:<free port>`` to ``upstream`` (``http://host:port``)."""

    server_class = _QuietServer

    def __init__(
        self,
        upstream: str,
        *,
        bind: str = "127.0.0.1",
        upstream_headers: dict[str, str] | None = None,
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream_headers = dict(upstream_headers or {})
        assert parts.scheme == "http" and parts.hostname and parts.port
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str, int, dict[str, str]]] = []
        """(method, path, status sent, request headers) of every request served."""
        self._lock = threading.Lock()
        proxy = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                proxy._handle(self)

            do_HEAD = do_GET
            do_POST = do_GET
            do_PUT = do_GET
            do_PATCH = do_GET
            do_DELETE = do_GET

        self._listen(Handler, bind)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.log.clear()

    def requests(
        self, path: str = "", method: str | None = None
    ) -> list[tuple[str, str, int, dict[str, str]]]:
        with self._lock:
            return [
                entry
                for entry in self.log
                if re.search(path, entry[1]) and (method is None or entry[0] == method)
            ]

    # ------------------------------------------------------------------ internals

    def _pick(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    def _record(self, handler: BaseHTTPRequestHandler, status: int) -> None:
        with self._lock:
            self.log.append(
                (
                    handler.command,
                    handler.path,
                    status,
                    {k.lower(): v for k, v in handler.headers.items()},
                )
            )

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        method, path = handler.command, handler.path
        length = int(handler.headers.get("Content-Length") or 0)
        request_body = handler.rfile.read(length) if length else b""
        fault = self._pick(method, path)

        if fault is not None and fault.action == "stall":
            time.sleep(fault.delay)
        if fault is not None and fault.action == "redirect":
            self._record(handler, fault.status)
            handler.send_response(fault.status)
            handler.send_header("Location", fault.location.replace("{path}", path))
            for key, value in fault.headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(fault.error_body or b"")))
            handler.end_headers()
            if fault.error_body:
                handler.wfile.write(fault.error_body)
            return
        if fault is not None and fault.action == "replace":
            self._record(handler, fault.status)
            _send_raw(handler, fault)
            return
        if fault is not None and fault.action == "status":
            self._record(handler, fault.status)
            handler.send_response(fault.status)
            for key, value in fault.headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(fault.body)))
            handler.end_headers()
            if method != "HEAD":
                handler.wfile.write(fault.body)
            return

        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_HEADERS}
        headers.update(self.upstream_headers)
        if fault is not None and fault.action == "no_range":
            headers = {k: v for k, v in headers.items() if k.lower() != "range"}
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            conn.request(method, path, body=request_body or None, headers=headers)
            upstream = conn.getresponse()
            body = upstream.read()
            status = upstream.status
            response_headers = [
                (k, v) for k, v in upstream.getheaders() if k.lower() not in HOP_HEADERS
            ]
        finally:
            conn.close()

        if fault is not None and fault.action == "unauthorized":
            # What a registry says to an expired token: 401 with its own challenge.
            challenge = next(
                (v for k, v in response_headers if k.lower() == "www-authenticate"), None
            )
            if challenge is None:
                # Ask the upstream for its challenge with an anonymous request.
                probe = http.client.HTTPConnection(
                    self.upstream_host, self.upstream_port, timeout=60
                )
                try:
                    probe.request("GET", path)
                    probe_response = probe.getresponse()
                    probe_response.read()
                    challenge = probe_response.getheader("WWW-Authenticate") or 'Basic realm="x"'
                finally:
                    probe.close()
            error = b'{"errors":[{"code":"UNAUTHORIZED","message":"token expired (faultproxy)"}]}'
            error = fault.error_body or error
            self._record(handler, 401)
            handler.send_response(401)
            for key, value in fault.headers.items():
                handler.send_header(key, value)
            handler.send_header("WWW-Authenticate", challenge)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(error)))
            handler.end_headers()
            handler.wfile.write(error)
            return

        if fault is not None and fault.action == "flip" and body:
            index = min(fault.offset, len(body) - 1)
            body = body[:index] + bytes([body[index] ^ 0xFF]) + body[index + 1 :]
        if fault is not None and fault.action == "extend":
            body += fault.body
        if fault is not None and fault.action in ("header", "drop_header"):
            rewritten: list[tuple[str, str]] = []
            for key, value in response_headers:
                if key.lower() == fault.header.lower():
                    if fault.action == "drop_header":
                        continue
                    assert fault.rewrite is not None
                    value = fault.rewrite(value)
                rewritten.append((key, value))
            response_headers = rewritten

        self._record(handler, status)
        handler.send_response(status)
        for key, value in response_headers:
            if key.lower() == "content-length":
                continue
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if method == "HEAD":
            return
        if fault is not None and fault.action in ("reset", "truncate"):
            handler.wfile.write(body[: fault.offset])
            handler.wfile.flush()
            sock = handler.connection
            if fault.action == "reset":
                # Let the client read what was sent (an RST discards unread data), then
                # SO_LINGER 0: close() sends RST instead of FIN.
                time.sleep(0.3)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_WR)
            handler.close_connection = True
            sock.close()
            return
        handler.wfile.write(body)


def _send_raw(handler: BaseHTTPRequestHandler, fault: Fault) -> None:
    """The ``replace`` answer, written on the socket as the fault says."""
    lines = [f"HTTP/1.1 {fault.status} Fault"]
    lines += [f"{k}: {v}" for k, v in fault.headers.items()]
    if fault.chunked:
        lines.append("Transfer-Encoding: chunked")
    else:
        assert fault.chunks is None, "an endless body needs chunked"
        lines.append(f"Content-Length: {len(fault.body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    out = handler.wfile
    try:
        if fault.header_delay:
            for i in range(len(head)):
                out.write(head[i : i + 1])
                out.flush()
                time.sleep(fault.header_delay)
        else:
            out.write(head)
        body = fault.body
        pieces = (
            fault.chunks()
            if fault.chunks is not None
            else (body[i : i + fault.piece] for i in range(0, len(body), fault.piece))
        )
        for piece in pieces:
            if not piece:
                continue
            out.write(b"%x\r\n%s\r\n" % (len(piece), piece) if fault.chunked else piece)
            out.flush()
            if fault.delay:
                time.sleep(fault.delay)
        if fault.chunked:
            out.write(b"0\r\n\r\n")
        out.flush()
    except OSError:  # the client gave up: what the test wants
        handler.close_connection = True
