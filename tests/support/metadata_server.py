"""A loopback stand-in of the GCE metadata server, for google-auth offline.

google-auth finds it through ``GCE_METADATA_HOST`` (``host:port``, for requests) and
``GCE_METADATA_IP`` (``host:port``, pinged to detect GCE); both must be set before
``google.auth`` is imported. It answers like the real server, only with
``Metadata-Flavor: Google`` in the request, and always with that header in the answer.

Run standalone (``python tests/support/metadata_server.py TOKEN``) it prints ``host:port``
and serves
until killed; tests mostly use :class:`MetadataServer` in a thread.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from loopbackserver import LoopbackServer, QuietHandler, send_body

PROJECT_ID = "buildguard-test-project"
SERVICE_ACCOUNT = "builder@buildguard-test-project.iam.gserviceaccount.com"
SCOPES = "https://www.googleapis.com/auth/cloud-platform"


class MetadataServer(LoopbackServer):
    def __init__(self, access_token: str, expires_in: int = 3599) -> None:
        self.access_token = access_token
        self.expires_in = expires_in
        self.token_requests = 0
        self.paths: list[str] = []
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server._handle(self)

        self._listen(Handler)

    def environ(self) -> dict[str, str]:
        """Variables that point google-auth at this server."""
        return {"GCE_METADATA_HOST": self.host, "GCE_METADATA_IP": self.host}

    def _answer(
        self, handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str
    ) -> None:
        send_body(handler, status, body, content_type, {"Metadata-Flavor": "Google"})

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        self.paths.append(path)
        if handler.headers.get("Metadata-Flavor") != "Google":
            self._answer(handler, 403, b"Missing Metadata-Flavor: Google header", "text/plain")
            return
        base = "/computeMetadata/v1/"
        account = base + "instance/service-accounts/default/"
        text: dict[str, str] = {
            "/": "computeMetadata/\n",
            base: "instance/\nproject/\n",
            base + "project/project-id": PROJECT_ID,
            base + "instance/service-accounts/": "default/\n" + SERVICE_ACCOUNT + "/\n",
            account + "email": SERVICE_ACCOUNT,
            account + "scopes": SCOPES + "\n",
            account + "aliases": "default\n",
        }
        if path in text:
            self._answer(handler, 200, text[path].encode(), "application/text")
            return
        if path == account.rstrip("/") or path == account:
            info = {"aliases": ["default"], "email": SERVICE_ACCOUNT, "scopes": [SCOPES]}
            self._answer(handler, 200, json.dumps(info).encode(), "application/json")
            return
        if path == account + "token":
            self.token_requests += 1
            token = {
                "access_token": self.access_token,
                "expires_in": self.expires_in,
                "token_type": "Bearer",
            }
            self._answer(handler, 200, json.dumps(token).encode(), "application/json")
            return
        self._answer(handler, 404, b"not found", "text/plain")


if __name__ == "__main__":
    server = MetadataServer(sys.argv[1] if len(sys.argv) > 1 else "test-token")
    with server:
        print(server.host, flush=True)
        threading.Event().wait()
