"""A hostile HTTP/1.1 server on 127.0.0.1, written on raw sockets (http.server cannot send a
status line a byte at a time, or a body chunked without end).

Each path (query ignored) answers with a :class:`Reply`: status, headers, a body (bytes or
a function returning an iterator of chunks, possibly endless), framed by Content-Length,
chunked, or by closing the connection; optionally trickled (``header_delay`` between bytes
of the status line and headers, ``delay`` between body pieces of ``piece`` bytes). Every
request is counted by path (``hits``), with its query (``urls``).

Usage::

    with HostileServer({"/": Reply(body=page), "/big": Reply(body=endless, chunked=True)}) as s:
        ... s.url + "/" ...
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Self

Body = bytes | Callable[[], Iterable[bytes]]


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Body = b""
    chunked: bool = False
    """``Transfer-Encoding: chunked`` and no ``Content-Length``."""
    close_delimited: bool = False
    """No length at all: the body ends when the connection closes."""
    header_delay: float = 0.0
    delay: float = 0.0
    piece: int = 64 << 10

    def chunks(self) -> Iterable[bytes]:
        if isinstance(self.body, bytes):
            data = self.body
            return (data[i : i + self.piece] for i in range(0, len(data), self.piece))
        return self.body()


REASONS = {200: "OK", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error"}


class HostileServer:
    def __init__(self, routes: dict[str, Reply], default: Reply | None = None) -> None:
        self.routes = routes
        self.default = default or Reply(status=404, body=b"not found\n")
        self.hits: Counter[str] = Counter()
        self.urls: Counter[str] = Counter()
        self._lock = threading.Lock()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sock.settimeout(60)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buffered = b""
                try:
                    while True:
                        while b"\r\n\r\n" not in buffered:
                            data = sock.recv(65536)
                            if not data:
                                return
                            buffered += data
                        head, _, buffered = buffered.partition(b"\r\n\r\n")
                        target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
                        if not server._answer(sock, target):
                            return
                except OSError:
                    return

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _answer(self, sock: socket.socket, target: str) -> bool:
        """Send the reply for ``target``; False when the connection must close."""
        path = target.split("?", 1)[0]
        with self._lock:
            self.hits[path] += 1
            self.urls[target] += 1
        reply = self.routes.get(path, self.default)
        lines = [f"HTTP/1.1 {reply.status} {REASONS.get(reply.status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in reply.headers]
        body = reply.body if isinstance(reply.body, bytes) else None
        if reply.chunked:
            lines.append("Transfer-Encoding: chunked")
        elif reply.close_delimited:
            lines.append("Connection: close")
        else:
            assert body is not None, "an endless body needs chunked or close_delimited"
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if reply.header_delay:
            for i in range(len(head)):
                sock.sendall(head[i : i + 1])
                time.sleep(reply.header_delay)
        else:
            sock.sendall(head)
        for chunk in reply.chunks():
            if not chunk:
                continue
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if reply.chunked else chunk)
            if reply.delay:
                time.sleep(reply.delay)
        if reply.chunked:
            sock.sendall(b"0\r\n\r\n")
        return not reply.close_delimited

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
