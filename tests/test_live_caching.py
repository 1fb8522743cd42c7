"""``LIVE_ENTRY_CACHEABLE`` on heuristic freshness (issue 20, point 8).

An entry page served with ``Last-Modified`` and no explicit lifetime (no ``max-age``, no
``Expires``) may be kept by a cache for a share of its age (RFC 9111 §4.2.2). That is what a
real nginx sends for a static file by default (``expires off``): verify-live warns, with a
hint; with the hint's ``add_header Cache-Control "no-cache"`` it is silent.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from clitools import buildguard_cli
from nginx import run_nginx, world_readable_dir
from tinysite import APP_CSS, APP_JS, INDEX, write_manifest

from buildguard._live.caching import cacheable_for

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MODIFIED = "Mon, 01 Jun 2026 09:00:00 GMT"
FUTURE = "Thu, 01 Jan 2099 00:00:00 GMT"
PAST = "Thu, 01 Jan 2026 00:00:00 GMT"


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        # nginx's default for a static file: heuristic freshness
        ({"last-modified": MODIFIED}, "heuristic"),
        ({"last-modified": MODIFIED, "etag": '"6655-1a"'}, "heuristic"),
        # a Cache-Control without a lifetime gives none: the heuristic still applies
        ({"last-modified": MODIFIED, "cache-control": "public"}, "heuristic"),
        ({"last-modified": MODIFIED, "cache-control": "private"}, "heuristic"),
        ({"last-modified": MODIFIED, "cache-control": "must-revalidate"}, "heuristic"),
        # an explicit lifetime rules, positive or over (RFC 9111 §4.2.2: no heuristic then)
        ({"last-modified": MODIFIED, "cache-control": "max-age=600"}, "explicit"),
        ({"last-modified": MODIFIED, "expires": FUTURE}, "explicit"),
        ({"last-modified": MODIFIED, "cache-control": "max-age=0"}, None),
        ({"last-modified": MODIFIED, "cache-control": "s-maxage=0"}, None),
        ({"last-modified": MODIFIED, "expires": PAST}, None),
        ({"last-modified": MODIFIED, "expires": "0"}, None),  # invalid: already expired
        # no-cache / no-store: never
        ({"last-modified": MODIFIED, "cache-control": "no-cache"}, None),
        ({"last-modified": MODIFIED, "cache-control": "no-store"}, None),
        ({"last-modified": MODIFIED, "cache-control": "public, no-cache"}, None),
        # nothing to base a heuristic on
        ({}, None),
        ({"etag": '"6655-1a"'}, None),
        ({"last-modified": "yesterday"}, None),
    ],
)
def test_heuristic_freshness_rule(headers: dict[str, str], why: str | None) -> None:
    reason = cacheable_for(httpx.Headers(headers), now=NOW)
    if why is None:
        assert reason is None
    else:
        assert reason is not None
        assert ("RFC 9111 §4.2.2" in reason) is (why == "heuristic"), reason


@pytest.fixture
def site() -> Iterator[tuple[Path, Path]]:
    """The tiny site's files in a folder nginx's workers can read, and its manifest."""
    root = world_readable_dir()
    (root / "assets").mkdir()
    for name, data in (
        ("index.html", INDEX),
        ("assets/app.js", APP_JS),
        ("assets/app.css", APP_CSS),
    ):
        (root / name).write_bytes(data)
        (root / name).chmod(0o644)
    (root / "assets").chmod(0o755)
    manifest = write_manifest(root.parent / f"{root.name}-manifest.json")
    try:
        yield root, manifest
    finally:
        shutil.rmtree(root, ignore_errors=True)
        manifest.unlink(missing_ok=True)


def _live(url: str, manifest: Path) -> tuple[int, dict[str, Any], str]:
    done = buildguard_cli("verify-live", url, "--manifest", str(manifest), "--json")
    return done.returncode, json.loads(done.stdout), done.stderr


def test_nginx_default_headers_warn_and_no_cache_silences(site: tuple[Path, Path]) -> None:
    root, manifest = site
    fallback = "location / { try_files $uri $uri/ /index.html; }"
    with run_nginx(f"root {root};\n{fallback}") as nginx:
        served = httpx.get(nginx.url + "/")
        assert "last-modified" in served.headers
        assert "cache-control" not in served.headers and "expires" not in served.headers
        code, report, stderr = _live(nginx.url + "/", manifest)
    assert code == 0, stderr
    warned = [f for f in report["findings"] if f["code"] == "LIVE_ENTRY_CACHEABLE"]
    assert len(warned) == 1 and warned[0]["severity"] == "warning"
    assert "Last-Modified" in warned[0]["message"]
    assert "RFC 9111 §4.2.2" in warned[0]["message"]
    assert 'add_header Cache-Control "no-cache"' in warned[0]["hint"]

    # the hint, as given: the entry page and the SPA fallback to it both get no-cache
    fixed = f'location = /index.html {{ add_header Cache-Control "no-cache"; }}\n{fallback}'
    with run_nginx(f"root {root};\n{fixed}") as nginx:
        for path in ("/", "/some/route"):
            assert httpx.get(nginx.url + path).headers["cache-control"] == "no-cache"
        code, report, stderr = _live(nginx.url + "/", manifest)
    assert code == 0, stderr
    assert report["findings"] == [], report["findings"]
