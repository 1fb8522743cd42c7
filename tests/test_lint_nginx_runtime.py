"""BG-NG001 and BG-NG004 against the real nginx, lint's verdict against nginx's outcome.

NG001: with a variable in ``proxy_pass``, nginx asks its ``resolver`` for the name exactly as
written (no search domain added), so a short Service name fails where the fully qualified one
works. NG004: whether ``GET /api/v5/sessions`` gets the entry page from the SPA fallback."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from dnsstandin import DnsStandIn
from lintrepo import lint_repo, rule_ids
from loopbackserver import LoopbackServer, QuietHandler, send_json
from nginx import run_nginx, world_readable_dir

FQDN = "api.prod.svc.cluster.local"

SERVER = """\
        resolver 127.0.0.1:{dns} valid=1s ipv6=off;
        resolver_timeout 3s;
        location /api/ {{
            set $backend {host};
            proxy_pass http://$backend:{port}$request_uri;
        }}
"""


class Api(LoopbackServer):
    def __init__(self) -> None:
        class Handler(QuietHandler):
            def do_GET(self) -> None:
                send_json(self, 200, {"ok": True})

        self._listen(Handler)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.parametrize("host", ["api", "api.prod", FQDN])
def test_ng001_matches_what_nginx_does(tmp_path: Path, host: str) -> None:
    # the cluster's DNS knows the Service by its full name only (as CoreDNS does; the short
    # forms work in a pod only through the search domains of /etc/resolv.conf)
    with DnsStandIn({FQDN: "127.0.0.1"}) as dns, Api() as api:
        server = SERVER.format(dns=dns.port, host=host, port=api.port)
        with run_nginx(server) as nginx:
            status = _status(nginx.url + "/api/v5/sessions")
        asked = list(dns.asked)
    assert asked and set(asked) == {host}, asked  # the name as written, nothing appended
    conf = (
        "server {\n"
        + SERVER.format(dns=53, host=host, port=8080).replace("127.0.0.1:53", "10.0.0.10")
        + "}\n"
    )
    flagged = "BG-NG001" in rule_ids(lint_repo(tmp_path, {"nginx.conf": conf}))
    works = status == 200
    assert status in (200, 502)
    if host == "api.prod":
        # a dotted partial name fails the same way, but cannot be told from a public domain:
        # lint says nothing rather than guess (docs/decisions.md)
        assert not works and not flagged
    else:
        assert flagged == (not works)


def test_an_upstream_blocks_name_is_not_looked_up(tmp_path: Path) -> None:
    with DnsStandIn({}) as dns, Api() as api:
        server = SERVER.format(dns=dns.port, host="api", port=api.port).replace(
            f":{api.port}$request_uri", "$request_uri"
        )
        upstream = f"    upstream api {{ server 127.0.0.1:{api.port}; }}\n"
        with run_nginx(server, http=upstream) as nginx:
            status = _status(nginx.url + "/api/v5/sessions")
        asked = list(dns.asked)
    assert status == 200 and asked == []
    conf = upstream + "server {\n" + server.replace(f"127.0.0.1:{dns.port}", "10.0.0.10") + "}\n"
    assert "BG-NG001" not in rule_ids(lint_repo(tmp_path, {"nginx.conf": conf}))


SPA_SERVER = """\
        root {www};
        location / {{
            try_files $uri $uri/ /index.html;
        }}
{extra}"""
INDEX = b"<!doctype html><title>entry page</title>\n"


@pytest.mark.parametrize(
    "extra",
    [
        "",
        "        location /api/ {{ proxy_pass http://127.0.0.1:{port}; }}\n",
        "        location ~ ^/api/v[0-9]+/ {{ proxy_pass http://127.0.0.1:{port}; }}\n",
        "        location /api/v4/ {{ proxy_pass http://127.0.0.1:{port}; }}\n",
        "        location = /api/v5 {{ proxy_pass http://127.0.0.1:{port}; }}\n",
        "        location ~* \\.(js|css)$ {{ expires 1d; }}\n",
    ],
)
def test_ng004_matches_what_nginx_serves(tmp_path: Path, extra: str) -> None:
    www = world_readable_dir("bg-ng004-")
    (www / "index.html").write_bytes(INDEX)
    (www / "index.html").chmod(0o644)
    store = 'const BASE = "/api/v5";\nexport const load = () => fetch(`${BASE}/sessions`);\n'
    try:
        with Api() as api:
            server = SPA_SERVER.format(www=www, extra=extra.format(port=api.port))
            with (
                run_nginx(server) as nginx,
                urllib.request.urlopen(nginx.url + "/api/v5/sessions", timeout=20) as answer,
            ):
                entry_page = answer.read() == INDEX
    finally:
        shutil.rmtree(www, ignore_errors=True)
    conf = "server {\n" + SPA_SERVER.format(www="/srv", extra=extra.format(port=8080)) + "}\n"
    findings = lint_repo(tmp_path, {"nginx.conf": conf, "src/store.ts": store})
    assert ("BG-NG004" in rule_ids(findings)) == entry_page
