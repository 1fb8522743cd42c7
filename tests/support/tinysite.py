"""A tiny sealed site on a loopback port, for verify-live tests about files and secrets.

The bundle is hand-written (these tests are about the command's output, not the build): an
entry page, a script and a stylesheet, and the bundle manifest that describes them, written
to a file for ``--manifest``. ``page`` replaces the entry page's bytes (e.g. to reference an
asset through a URL that carries credentials).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from loopbackserver import LoopbackServer, QuietHandler, send_body

from buildguard.models import BundleManifest, FileEntry

BUILD = "tiny-site-build-0001"
APP_JS = b"console.log('tiny site');\n"
APP_CSS = b"body { margin: 0 }\n"
INDEX = b"""<!doctype html><html><head>
<script type="module" src="/assets/app.js"></script>
<link rel="stylesheet" href="/assets/app.css">
</head><body></body></html>
"""
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def _entry(path: str, data: bytes) -> FileEntry:
    return FileEntry(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        mode=0o644,
        mtime=datetime(2026, 1, 1, tzinfo=UTC),
    )


def write_manifest(path: Path, index: bytes = INDEX, app_js: bytes = APP_JS) -> Path:
    """The bundle manifest of the site (with ``index`` as its entry page, ``app_js`` as its
    script) at ``path``."""
    now = datetime.now(UTC)
    files = (
        _entry("index.html", index),
        _entry("assets/app.js", app_js),
        _entry("assets/app.css", APP_CSS),
    )
    manifest = BundleManifest(
        build_id=BUILD,
        commit=None,
        source_digest="sha256:" + "0" * 64,
        record_started_at=now,
        sealed_at=now,
        freshness="canary",
        files=files,
    )
    path.write_text(manifest.model_dump_json(indent=2))
    return path


class TinySite(LoopbackServer):
    """Serves ``/`` (the entry page), ``/assets/app.js`` and ``/assets/app.css``; 404 else.
    ``files`` and ``redirects`` (path → ``Location``) may be changed once the port is known;
    ``requests`` lists each request's path and ``Authorization`` header."""

    def __init__(self, index: bytes = INDEX) -> None:
        self.files = {
            "/": index,
            "/index.html": index,
            "/assets/app.js": APP_JS,
            "/assets/app.css": APP_CSS,
        }
        self.redirects: dict[str, str] = {}
        self.requests: list[tuple[str, str | None]] = []
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                site.requests.append((self.path, self.headers.get("Authorization")))
                if path in site.redirects:
                    send_body(self, 302, b"", "text/plain", {"Location": site.redirects[path]})
                    return
                body = site.files.get(path)
                if body is None:
                    send_body(self, 404, b"not found\n", "text/plain")
                    return
                suffix = Path(path).suffix or ".html"
                send_body(
                    self, 200, body, _TYPES.get(suffix, "text/plain"), {"Cache-Control": "no-cache"}
                )

        handler: type[BaseHTTPRequestHandler] = Handler
        self._listen(handler)
