"""Real nginx instances on 127.0.0.1 for the verify-live tests (Debian's nginx + brotli).

Each instance runs in the foreground (``daemon off``) from its own prefix folder, started
with ``start_new_session`` and stopped by the pid we saved (never by name). Worker
processes run as ``nobody``, so the prefix and the served folders are world-readable
folders made with ``mkdtemp`` (pytest's ``tmp_path`` is private to root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services import ServiceError, free_port, log_tail, require_binary, stop_process

MODULES = Path("/usr/lib/nginx/modules")
START_TIMEOUT = 20.0

CONF = """\
load_module {modules}/ngx_http_brotli_filter_module.so;
load_module {modules}/ngx_http_brotli_static_module.so;
worker_processes 1;
user nobody nogroup;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 128; }}
http {{
    include /etc/nginx/mime.types;
    types {{ application/manifest+json webmanifest; application/wasm wasm; }}
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    sendfile on;
{http}
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
{server}
    }}
}}
"""


def world_readable_dir(prefix: str = "bg-live-") -> Path:
    """A fresh folder under the system temp dir that nginx's workers can read."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def publish(source: Path, target: Path) -> Path:
    """Copy a folder for serving: folders 0755, files 0644."""
    shutil.copytree(source, target, symlinks=False)
    for root, _dirs, files in os.walk(target):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return target


@dataclass
class Nginx:
    port: int
    prefix: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def access_log(self) -> str:
        return (self.prefix / "access.log").read_text(errors="replace")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def run_nginx(server: str, *, http: str = "", port: int | None = None) -> Iterator[Nginx]:
    """Start nginx with ``server`` (directives inside the server block) and ``http`` (more
    directives in the http block, e.g. an ``upstream``); stop it by pid on exit."""
    binary = require_binary(
        "nginx", "nginx libnginx-mod-http-brotli-filter libnginx-mod-http-brotli-static"
    )
    if not (MODULES / "ngx_http_brotli_static_module.so").is_file():
        raise ServiceError(
            "nginx brotli modules missing: apt-get install -y "
            "libnginx-mod-http-brotli-filter libnginx-mod-http-brotli-static"
        )
    prefix = world_readable_dir("bg-nginx-")
    (prefix / "tmp").mkdir()
    (prefix / "tmp").chmod(0o777)
    port = port or free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        CONF.format(modules=MODULES, prefix=prefix, port=port, http=http, server=server)
    )
    log = open(prefix / "stderr.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ServiceError(
                    f"nginx did not start on 127.0.0.1:{port}:\n"
                    f"{log_tail(prefix / 'stderr.log')}\n{log_tail(prefix / 'error.log')}"
                )
            time.sleep(0.05)
        yield Nginx(port=port, prefix=prefix, proc=proc)
    finally:
        stop_process(proc, timeout=10)
        log.close()
        shutil.rmtree(prefix, ignore_errors=True)
