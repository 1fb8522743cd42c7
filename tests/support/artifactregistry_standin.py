"""A loopback stand-in of the Artifact Registry REST API (versions.get, tags.get/create/
patch), for the real ``google-cloud-artifact-registry`` client (REST transport).

Resource names are kept as the API spells them (a package id with ``/`` escaped as
``%2F``); the client percent-encodes path variables once more, so ``%2F`` arrives as
``%252F`` and is unquoted once here. Tags that exist answer ``409 ALREADY_EXISTS`` to a
create, as the real API does. Every request is recorded with its decoded path and body.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from loopbackserver import LoopbackServer, QuietHandler, send_json

_PACKAGE = r"projects/[^/]+/locations/[^/]+/repositories/[^/]+/packages/[^/]+"
_VERSION = re.compile(rf"^/v1/({_PACKAGE}/versions/[^/]+)$")
_TAG = re.compile(rf"^/v1/({_PACKAGE}/tags/[^/]+)$")
_TAGS = re.compile(rf"^/v1/({_PACKAGE})/tags$")


@dataclass
class Seen:
    method: str
    raw_path: str
    name: str
    """The resource name, unquoted once (as the API defines it)."""
    query: dict[str, list[str]]
    body: dict[str, Any] | None


class ArtifactRegistryStandIn(LoopbackServer):
    def __init__(self) -> None:
        self.versions: set[str] = set()
        self.tags: dict[str, str] = {}
        """tag name -> version name."""
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server._handle(self)

            do_POST = do_GET
            do_PATCH = do_GET

        self._listen(Handler)

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, doc: object) -> None:
        send_json(handler, status, doc)

    def _error(self, handler: BaseHTTPRequestHandler, code: int, status: str, what: str) -> None:
        self._answer(handler, code, {"error": {"code": code, "status": status, "message": what}})

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        raw = parts.path
        decoded = unquote(raw)  # one level: %252F -> %2F, as in the resource name
        query = parse_qs(parts.query)
        seen = Seen(handler.command, raw, decoded.removeprefix("/v1/"), query, body)
        with self._lock:
            self.requests.append(seen)
            if handler.command == "GET" and (m := _VERSION.match(decoded)):
                if m[1] in self.versions:
                    self._answer(handler, 200, {"name": m[1]})
                else:
                    self._error(handler, 404, "NOT_FOUND", f"version {m[1]} not found")
            elif handler.command == "GET" and (m := _TAG.match(decoded)):
                if m[1] in self.tags:
                    self._answer(handler, 200, {"name": m[1], "version": self.tags[m[1]]})
                else:
                    self._error(handler, 404, "NOT_FOUND", f"tag {m[1]} not found")
            elif handler.command == "POST" and (m := _TAGS.match(decoded)) and body:
                name = f"{m[1]}/tags/{query['tagId'][0]}"
                if name in self.tags:
                    self._error(handler, 409, "ALREADY_EXISTS", f"tag {name} already exists")
                elif body.get("version") not in self.versions:
                    self._error(handler, 400, "INVALID_ARGUMENT", "no such version")
                else:
                    self.tags[name] = body["version"]
                    self._answer(handler, 200, {"name": name, "version": body["version"]})
            elif handler.command == "PATCH" and (m := _TAG.match(decoded)) and body:
                if m[1] not in self.tags:
                    self._error(handler, 404, "NOT_FOUND", f"tag {m[1]} not found")
                else:
                    self.tags[m[1]] = body["version"]
                    self._answer(handler, 200, {"name": m[1], "version": body["version"]})
            else:
                self._error(handler, 400, "INVALID_ARGUMENT", f"unexpected {handler.command}")
