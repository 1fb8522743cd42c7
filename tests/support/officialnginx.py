"""A base image laid out like the official nginx image (``docker.io/library/nginx``).

Nothing can be pulled here, and Debian's nginx package puts only ``index.html`` in
``/usr/share/nginx/html``. The official image ships two pages there, ``index.html`` and
``50x.html``, written by a ``RUN`` layer below every layer an app's Dockerfile adds, plus
``/etc/nginx/conf.d/default.conf`` (serving that folder, with ``error_page 500 502 503 504
/50x.html``). ``COPY dist /usr/share/nginx/html`` keeps ``50x.html``: the setup most
frontend images have.

``build_official_nginx`` builds that layout with the real dockerd on top of any base with a
shell: the busybox base of the ``base_image`` fixture (fast; no nginx binary, so it cannot
serve) or ``localimages.NGINX_BASE`` (Debian's nginx, runnable). ``app_image`` builds an app
image on it from a Dockerfile's steps; ``save_layout`` turns any local image into an OCI
layout through ``docker save`` and skopeo, as the runtime would hand it over. The
``official_nginx`` fixture (import it into a test module) builds it once per session on the
busybox base.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from services import Dockerd

OFFICIAL_NGINX_TAG = "buildguard-test/nginx-official:1"
HTML_ROOT = "/usr/share/nginx/html"
CONF_PATH = "/etc/nginx/conf.d/default.conf"
# The two pages of the official image, our own words; only their names and place matter.
PAGES = {
    "index.html": "<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head>"
    "<body><h1>Welcome to nginx!</h1><p>The web server is working.</p></body></html>",
    "50x.html": "<!DOCTYPE html><html><head><title>Error</title></head>"
    "<body><h1>An error occurred.</h1><p>Please try again later.</p></body></html>",
}
DEFAULT_CONF = """\
server {
    listen       80;
    listen  [::]:80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
"""


@dataclass(frozen=True)
class OfficialNginx:
    """A built base: its tag, and which of its layers wrote the two pages (0-based, bottom
    first, as verify's report numbers layers) with that layer's ``created_by`` fragment."""

    tag: str
    pages_layer: int
    pages_step: str  # a fragment of the pages layer's created_by
    html_root: str = HTML_ROOT


def pages_step() -> str:
    """The shell command that writes the official image's two pages (a ``RUN`` of its own)."""
    writes = " && ".join(
        f"echo '{text}' > {HTML_ROOT}/{name}" for name, text in sorted(PAGES.items())
    )
    return f"mkdir -p {HTML_ROOT} && {writes}"


def build_official_nginx(
    dockerd: Dockerd, base: str, workdir: Path, tag: str = OFFICIAL_NGINX_TAG
) -> OfficialNginx:
    """Build ``tag`` FROM ``base``: a COPY layer for ``default.conf``, then a RUN layer that
    writes ``index.html`` and ``50x.html`` (as the official image's package-install layer
    does), then a label-free CMD. Every step changes something (dockerd 20.10 vfs quirk)."""
    context = workdir / "official-nginx-context"
    context.mkdir(parents=True)
    (context / "default.conf").write_text(DEFAULT_CONF)
    step = pages_step()
    (context / "Dockerfile").write_text(
        f"FROM {base}\n"
        f"COPY default.conf {CONF_PATH}\n"
        f"RUN {step}\n"
        "EXPOSE 80\n"
        'CMD ["nginx", "-g", "daemon off;"]\n'
    )
    dockerd.build(context, tag)
    shutil.rmtree(context)
    history = dockerd.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", tag)
    # docker history lists top first and includes empty layers; count the layers instead.
    layers = dockerd.docker("inspect", "--format", "{{len .RootFS.Layers}}", tag)
    assert "> " + HTML_ROOT + "/50x.html" in history.stdout, history.stdout
    return OfficialNginx(tag=tag, pages_layer=int(layers.stdout) - 1, pages_step=step[:40])


def app_image(
    dockerd: Dockerd,
    workdir: Path,
    tag: str,
    steps: Sequence[str],
    folders: dict[str, Path],
    base: str = OFFICIAL_NGINX_TAG,
) -> str:
    """Build ``tag`` from ``FROM base`` + ``steps`` with ``folders`` (name in the context →
    folder, mtimes kept) in the context, without the build cache; returns ``tag``."""
    context = workdir / f"ctx-{tag.replace('/', '_').replace(':', '_')}"
    context.mkdir(parents=True)
    for name, folder in folders.items():
        shutil.copytree(folder, context / name, symlinks=True)
    (context / "Dockerfile").write_text("\n".join([f"FROM {base}", *steps]) + "\n")
    dockerd.build(context, tag, "--no-cache")
    shutil.rmtree(context)
    return tag


def save_layout(dockerd: Dockerd, tag: str, layout: Path, name: str = "latest") -> str:
    """``docker save`` ``tag`` and copy it with skopeo into the OCI layout ``layout`` under
    ``name``; returns the reference verify takes (``oci-layout:DIR:NAME``)."""
    archive = layout.parent / f"{layout.name}-{name}.tar"
    dockerd.docker("save", "-o", str(archive), tag)
    subprocess.run(
        ["skopeo", "copy", "-q", f"docker-archive:{archive}", f"oci:{layout}:{name}"],
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    archive.unlink()
    return f"oci-layout:{layout}:{name}"


@pytest.fixture(scope="session")
def official_nginx(
    dockerd: Dockerd, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> OfficialNginx:
    """The official-nginx layout on the busybox base, built once per session."""
    return build_official_nginx(dockerd, base_image, tmp_path_factory.mktemp("official-nginx"))
