"""A loopback stand-in of the Cloud Build REST API (``builds.get``), for the real
``google-cloud-build`` client (REST transport).

It answers ``GET /v1/projects/{p}/builds/{id}`` (global) and
``GET /v1/projects/{p}/locations/{r}/builds/{id}`` (regional) with the JSON of a ``Build``
(camelCase, enums as integers: the client asks ``$alt=json;enum-encoding=int``), and 404 in
Google's error shape for a build it does not know. Path variables arrive percent-encoded
once more than the value (the client quotes them), so they are unquoted once here.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from loopbackserver import LoopbackServer, QuietHandler, send_json

STATUS = {"QUEUED": 1, "WORKING": 2, "SUCCESS": 3, "FAILURE": 4}
_GLOBAL = re.compile(r"^/v1/projects/([^/]+)/builds/([^/]+)$")
_REGIONAL = re.compile(r"^/v1/projects/([^/]+)/locations/([^/]+)/builds/([^/]+)$")


def build_json(
    build_id: str,
    project: str,
    images: list[tuple[str, str]],
    *,
    status: str = "SUCCESS",
    commit: str | None = None,
    commit_field: str = "resolvedRepoSource",
    substitutions: dict[str, str] | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """A ``Build`` as the API returns it: ``images`` is ``[(name, digest)]``."""
    name = (
        f"projects/{project}/locations/{region}/builds/{build_id}"
        if region
        else f"projects/{project}/builds/{build_id}"
    )
    doc: dict[str, Any] = {
        "id": build_id,
        "projectId": project,
        "name": name,
        "status": STATUS[status],
        "images": [n.split("@")[0] for n, _ in images],
        "results": {"images": [{"name": n, "digest": d, "pushTiming": {}} for n, d in images]},
        "substitutions": dict(substitutions or {}),
        "createTime": "2026-12-01T10:00:00Z",
    }
    if commit is not None:
        key = "commitSha" if commit_field == "resolvedRepoSource" else "revision"
        doc["sourceProvenance"] = {commit_field: {key: commit}}
    return doc


class CloudBuildStandIn(LoopbackServer):
    def __init__(self) -> None:
        self.builds: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        """(method, path as received, query) of every request."""
        self.headers: list[dict[str, str]] = []
        """The request headers of every request (lower-case names)."""
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server._handle(self)

        self._listen(Handler)

    def add(self, build: dict[str, Any], region: str | None = None) -> None:
        with self._lock:
            self.builds[(build["projectId"], region, build["id"])] = build

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, doc: object) -> None:
        send_json(handler, status, doc)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests.append((handler.command, parts.path, parse_qs(parts.query)))
            self.headers.append({k.lower(): v for k, v in handler.headers.items()})
        key: tuple[str, str | None, str] | None = None
        if match := _GLOBAL.match(parts.path):
            key = (unquote(match[1]), None, unquote(match[2]))
        elif match := _REGIONAL.match(parts.path):
            key = (unquote(match[1]), unquote(match[2]), unquote(match[3]))
        with self._lock:
            build = self.builds.get(key) if key else None
        if build is None:
            self._answer(
                handler,
                404,
                {
                    "error": {
                        "code": 404,
                        "status": "NOT_FOUND",
                        "message": f"Requested entity was not found: {parts.path}",
                    }
                },
            )
            return
        self._answer(handler, 200, build)
