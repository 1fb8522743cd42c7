"""An HTTP server on 127.0.0.1 (a free port) in a daemon thread, used as a context manager.

The test stand-ins (token server, metadata server, fault proxy) differ only in how they
answer; this is the part they share.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


def send_body(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer one request with ``body`` (and its length), whole."""
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def send_json(handler: BaseHTTPRequestHandler, status: int, doc: object) -> None:
    """Answer with ``doc`` as JSON, as Google's REST APIs do."""
    send_body(handler, status, json.dumps(doc).encode(), "application/json; charset=UTF-8")


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no access log on stderr."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass


class LoopbackServer:
    """Subclasses build their handler class, then call :meth:`_listen` with it."""

    server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer

    def _listen(self, handler: type[BaseHTTPRequestHandler], bind: str = "127.0.0.1") -> None:
        self._server = self.server_class((bind, 0), handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self.host = f"{bind}:{self.port}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
