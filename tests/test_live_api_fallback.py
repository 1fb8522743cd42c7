"""verify-live's LIVE_API_FALLBACK against a real nginx: reported while the only location is
the SPA fallback, silent once ``/api/`` proxies to a (loopback) API backend."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clitools import buildguard_cli
from loopbackserver import LoopbackServer, QuietHandler, send_json
from nginx import run_nginx, world_readable_dir
from tinysite import APP_CSS, INDEX, write_manifest

SPA = """\
        root {www};
        location / {{
            try_files $uri $uri/ /index.html;
        }}
"""
API = """\
        location /api/ {{
            proxy_pass http://127.0.0.1:{port};
        }}
"""
PLAIN_JS = b"console.log('no api here');\n"
CALLING_JS = b'const B="/api/v5";export const s=()=>fetch(`${B}/sessions`);\n'


class ApiBackend(LoopbackServer):
    """Answers every GET with a small JSON document (an API)."""

    def __init__(self) -> None:
        class Handler(QuietHandler):
            def do_GET(self) -> None:
                send_json(self, 200, {"api": True, "path": self.path})

        self._listen(Handler)


@pytest.fixture
def site() -> Iterator[Path]:
    root = world_readable_dir("bg-apifb-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def publish(www: Path, js: bytes) -> Path:
    (www / "assets").mkdir(parents=True, exist_ok=True)
    (www / "index.html").write_bytes(INDEX)
    (www / "assets" / "app.js").write_bytes(js)
    (www / "assets" / "app.css").write_bytes(APP_CSS)
    for path in [www, www / "assets", *www.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return write_manifest(www.parent / f"{www.name}-manifest.json", app_js=js)


def live(url: str, manifest: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = buildguard_cli(
        "verify-live", url, "--manifest", str(manifest), "--json", *args, env={"BUILD_ID": ""}
    )
    return done.returncode, json.loads(done.stdout)


def api_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["code"] == "LIVE_API_FALLBACK"]


def test_a_given_prefix_answered_by_the_spa_fallback_is_reported(site: Path) -> None:
    manifest = publish(site / "www", PLAIN_JS)
    with run_nginx(SPA.format(www=site / "www")) as nginx:
        code, report = live(nginx.url + "/", manifest, "--api-prefix", "/api/v5/")
    [finding] = api_findings(report)
    assert code == 1 and finding["severity"] == "error"
    assert finding["url"] == nginx.url + "/api/v5/" and finding["status"] == 200
    assert finding["hint"] and "/api/" in finding["hint"]


def test_a_prefix_found_in_the_served_script_is_reported(site: Path) -> None:
    manifest = publish(site / "www", CALLING_JS)
    with run_nginx(SPA.format(www=site / "www")) as nginx:
        code, report = live(nginx.url + "/", manifest)
    assert code == 1
    assert [f["url"] for f in api_findings(report)] == [nginx.url + "/api/v5/sessions"]
    assert "assets/app.js" in api_findings(report)[0]["message"]


def test_not_reported_once_the_api_location_exists(site: Path) -> None:
    manifest = publish(site / "www", CALLING_JS)
    with ApiBackend() as backend:
        server = SPA.format(www=site / "www") + API.format(port=backend.port)
        with run_nginx(server) as nginx:
            code, report = live(nginx.url + "/", manifest, "--api-prefix", "/api/v5/")
            log = nginx.access_log()
    assert api_findings(report) == [] and code == 0, report["findings"]
    # the check did ask: the API answered through nginx
    assert "GET /api/v5/ " in log and "GET /api/v5/sessions " in log


def test_a_bad_prefix_is_a_usage_error(site: Path) -> None:
    manifest = publish(site / "www", PLAIN_JS)
    done = buildguard_cli(
        "verify-live", "http://127.0.0.1:9/", "--manifest", str(manifest), "--api-prefix", "api"
    )
    assert done.returncode == 2 and "--api-prefix" in done.stderr
