"""verify on images built FROM a base laid out like the official nginx image (issue 20).

The base (tests/support/officialnginx.py) ships index.html and 50x.html in
/usr/share/nginx/html in a layer of its own; `COPY dist /usr/share/nginx/html` leaves 50x.html.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitools import buildguard_cli
from officialnginx import HTML_ROOT, OfficialNginx, official_nginx, save_layout
from services import Dockerd

__all__ = ["official_nginx"]

pytestmark = [pytest.mark.docker]


def test_the_base_has_the_official_layout(
    official_nginx: OfficialNginx, dockerd: Dockerd, tmp_path: Path
) -> None:
    layout = save_layout(dockerd, official_nginx.tag, tmp_path / "layout")
    done = buildguard_cli("inspect", layout, "--path", HTML_ROOT, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    files = {f["path"]: f["layer"] for f in report["files"] if f["type"] == "file"}
    assert files == {
        f"{HTML_ROOT}/index.html": official_nginx.pages_layer,
        f"{HTML_ROOT}/50x.html": official_nginx.pages_layer,
    }
    step = report["layers"][official_nginx.pages_layer]["created_by"]
    assert official_nginx.pages_step in step
    conf = buildguard_cli("inspect", layout, "--path", "/etc/nginx", "--json", cwd=tmp_path)
    conf_files = [f["path"] for f in json.loads(conf.stdout)["files"] if f["type"] == "file"]
    assert conf_files == ["/etc/nginx/conf.d/default.conf"]
