"""BG-NG001..BG-NG004 through ``buildguard.lint``: each with its true case and the near misses
that must stay silent."""

from __future__ import annotations

from pathlib import Path

import pytest
from lintrepo import lint_repo, rule_ids

INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  defaultBackend: {service: {name: web, port: {number: 80}}}
"""


def ng(tmp_path: Path, files: dict[str, str], **kw: object) -> list[str]:
    return rule_ids(lint_repo(tmp_path, files, **kw), "BG-NG")  # type: ignore[arg-type]


# -- BG-NG001 ----------------------------------------------------------------------------

RUNTIME = """\
server {{
    listen 8080;
    resolver {resolver} valid=10s;
    location /api/ {{
        set $api {host};
        proxy_pass http://$api:8080;
    }}
}}
"""


def test_ng001_short_name_through_a_variable(tmp_path: Path) -> None:
    findings = lint_repo(
        tmp_path, {"nginx.conf": RUNTIME.format(resolver="10.0.0.10", host="api-service")}
    )
    [f] = [f for f in findings if f.rule == "BG-NG001"]
    assert (f.path, f.line, f.severity) == ("nginx.conf", 6, "error")
    assert "api-service" in f.message and "search" in f.message
    assert "svc.cluster.local" in f.hint


@pytest.mark.parametrize(
    "host",
    [
        "api-service.prod.svc.cluster.local",  # the FQDN with the cluster resolver
        "api.example.com",
        "10.1.2.3",
        "localhost",
        "api-service.prod.svc.cluster.local.",
    ],
)
def test_ng001_silent_for_names_the_resolver_answers(tmp_path: Path, host: str) -> None:
    files = {
        "nginx.conf": RUNTIME.format(resolver="kube-dns.kube-system.svc.cluster.local", host=host)
    }
    assert "BG-NG001" not in ng(tmp_path, files)


@pytest.mark.parametrize("host", ["api.prod.svc", "api.prod.svc.cluster"])
def test_ng001_kubernetes_names_cut_short_need_the_search_path(tmp_path: Path, host: str) -> None:
    files = {"nginx.conf": RUNTIME.format(resolver="10.0.0.10", host=host)}
    assert ng(tmp_path, files) == ["BG-NG001"]


def test_ng001_a_literal_host_with_a_variable_path_is_resolved_per_request(
    tmp_path: Path,
) -> None:
    conf = (
        "server {\n  resolver 10.0.0.10;\n  location / { proxy_pass http://api$request_uri; }\n}\n"
    )
    assert ng(tmp_path, {"site.conf": conf}) == ["BG-NG001"]


def test_ng001_silent_for_an_upstream_blocks_own_name(tmp_path: Path) -> None:
    conf = (
        "upstream api { server api.prod.svc.cluster.local:8080; }\n"
        "server {\n  location / { proxy_pass http://api$request_uri; }\n}\n"
    )
    assert ng(tmp_path, {"conf.d/site.conf": conf}) == []


def test_ng001_silent_when_a_template_fills_the_host(tmp_path: Path) -> None:
    conf = "server {\n  location / { proxy_pass http://${API_HOST}$request_uri; }\n}\n"
    assert ng(tmp_path, {"default.conf.template": conf}) == []


def test_ng001_upstream_server_with_resolve_is_resolved_by_the_resolver(tmp_path: Path) -> None:
    conf = "upstream backend {\n  zone backend 64k;\n  server api:8080 resolve;\n}\n"
    assert ng(tmp_path, {"upstream.conf": conf}) == ["BG-NG001"]


# -- BG-NG002 ----------------------------------------------------------------------------

DOCKER_DNS = "server {\n  resolver 127.0.0.11 valid=5s;\n  location / { return 200; }\n}\n"


def test_ng002_docker_dns_in_a_config_beside_kubernetes_files(tmp_path: Path) -> None:
    findings = lint_repo(tmp_path, {"nginx.conf": DOCKER_DNS, "k8s/ingress.yaml": INGRESS})
    [f] = [f for f in findings if f.rule == "BG-NG002"]
    assert (f.line, f.severity) == (2, "warning")


def test_ng002_silent_without_kubernetes(tmp_path: Path) -> None:
    files = {"nginx.conf": DOCKER_DNS, "docker-compose.yml": "services: {web: {image: x}}\n"}
    assert ng(tmp_path, files) == []


def test_ng002_a_gke_deploy_step_means_kubernetes(tmp_path: Path) -> None:
    pipeline = "steps:\n- name: gcr.io/cloud-builders/gke-deploy\n  args: [run, -f, k8s]\n"
    assert ng(tmp_path, {"nginx.conf": DOCKER_DNS, "cloudbuild.yaml": pipeline}) == ["BG-NG002"]


# -- BG-NG003 ----------------------------------------------------------------------------


def test_ng003_short_name_resolved_at_start(tmp_path: Path) -> None:
    conf = "server {\n  location /api/ {\n    proxy_pass http://api-service:8080;\n  }\n}\n"
    findings = lint_repo(tmp_path, {"default.conf": conf})
    [f] = [f for f in findings if f.rule == "BG-NG003"]
    assert (f.line, f.severity) == (3, "warning")


def test_ng003_short_upstream_server(tmp_path: Path) -> None:
    conf = "upstream api { server api-service:8080; }\n"
    assert ng(tmp_path, {"up.conf": conf}) == ["BG-NG003"]


@pytest.mark.parametrize(
    "target",
    [
        "http://localhost:3000",
        "http://127.0.0.1:3000",
        "http://[::1]:3000",
        "http://backend",  # the upstream block's own name
        "http://api.prod.svc.cluster.local:8080",
        "http://unix:/run/app.sock",
    ],
)
def test_ng003_silent(tmp_path: Path, target: str) -> None:
    conf = (
        "upstream backend { server 10.0.0.5:80; }\n"
        f"server {{\n  location / {{ proxy_pass {target}; }}\n}}\n"
    )
    assert ng(tmp_path, {"site.conf": conf}) == []


# -- BG-NG004 ----------------------------------------------------------------------------

SPA = """\
server {{
    listen 8080;
    root /usr/share/nginx/html;
    location / {{
        try_files $uri $uri/ /index.html;
    }}
{extra}}}
"""
STORE = 'const BASE = "/api/v5";\nexport const load = () => fetch(`${BASE}/sessions`);\n'


def test_ng004_api_prefix_answered_by_the_spa_fallback(tmp_path: Path) -> None:
    findings = lint_repo(tmp_path, {"nginx.conf": SPA.format(extra=""), "src/store.ts": STORE})
    [f] = [f for f in findings if f.rule == "BG-NG004"]
    assert (f.path, f.line, f.severity) == ("nginx.conf", 5, "error")
    assert "/api/v5/sessions" in f.message and "src/store.ts:2" in f.message


def test_ng004_from_the_api_prefix_option(tmp_path: Path) -> None:
    files = {"nginx.conf": SPA.format(extra="")}
    assert ng(tmp_path, files, api_prefixes=["/api/v5/"]) == ["BG-NG004"]


def test_ng004_from_a_built_bundle(tmp_path: Path) -> None:
    bundle = 'const e="/graphql";fetch(e,{method:"POST"});\n'
    files = {"nginx.conf": SPA.format(extra=""), "dist/assets/index-abc.js": bundle}
    assert ng(tmp_path, files) == ["BG-NG004"]


@pytest.mark.parametrize(
    "extra",
    [
        "    location /api/ { proxy_pass http://api.prod.svc.cluster.local:8080; }\n",
        "    location ~ ^/api/v[0-9]+/ { proxy_pass http://10.0.0.5; }\n",
        "    location ^~ /api { return 404; }\n",
    ],
)
def test_ng004_silent_once_the_api_location_exists(tmp_path: Path, extra: str) -> None:
    files = {"nginx.conf": SPA.format(extra=extra), "src/store.ts": STORE}
    assert "BG-NG004" not in ng(tmp_path, files)


def test_ng004_silent_for_an_absolute_api_base_and_client_routes(tmp_path: Path) -> None:
    store = (
        'const BASE = "https://api.example.com/v5";\n'
        "fetch(`${BASE}/sessions`);\n"
        'navigate("/settings/profile");\n'
    )
    assert ng(tmp_path, {"nginx.conf": SPA.format(extra=""), "src/store.ts": store}) == []


def test_ng004_silent_when_the_ingress_routes_the_prefix_elsewhere(tmp_path: Path) -> None:
    ingress = """\
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: web}
    spec:
      rules:
      - http:
          paths:
          - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
          - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
    """
    files = {"nginx.conf": SPA.format(extra=""), "src/store.ts": STORE, "k8s/ing.yaml": ingress}
    assert "BG-NG004" not in ng(tmp_path, files)


def test_ng004_fires_when_a_gce_exact_path_lets_the_prefix_through(tmp_path: Path) -> None:
    ingress = """\
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: web}
    spec:
      rules:
      - http:
          paths:
          - path: /api
            pathType: ImplementationSpecific
            backend: {service: {name: api, port: {number: 80}}}
          - path: /*
            pathType: ImplementationSpecific
            backend: {service: {name: web, port: {number: 80}}}
    """
    files = {"nginx.conf": SPA.format(extra=""), "src/store.ts": STORE, "k8s/ing.yaml": ingress}
    assert "BG-NG004" in ng(tmp_path, files)


def test_ng004_suppressed_by_a_comment(tmp_path: Path) -> None:
    conf = SPA.format(extra="").replace(
        "        try_files", "        # buildguard-lint: ignore BG-NG004\n        try_files"
    )
    assert ng(tmp_path, {"nginx.conf": conf, "src/store.ts": STORE}) == []


def test_a_broken_config_is_one_parse_warning_and_the_others_are_judged(tmp_path: Path) -> None:
    files = {
        "a.conf": "server {\n  listen 80;\n",
        "b.conf": "server {\n  location / { proxy_pass http://api:80; }\n}\n",
    }
    findings = lint_repo(tmp_path, files)
    assert [(f.rule, f.path) for f in findings] == [("BG-PARSE", "a.conf"), ("BG-NG003", "b.conf")]


def test_a_file_and_a_relative_folder_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `buildguard lint cloudbuild.yaml app` from the repository root (the example pipeline's
    # own lint step) once crashed: a relative folder under the absolute root
    import buildguard

    lint_repo(
        tmp_path, {"app/nginx.conf": "server {\n  location / { proxy_pass http://api:80; }\n}\n"}
    )
    (tmp_path / "cloudbuild.yaml").write_text("steps:\n- name: node\n  args: [npm, ci]\n")
    monkeypatch.chdir(tmp_path)
    report = buildguard.lint(["cloudbuild.yaml", "app"])
    assert [(f.rule, f.path) for f in report.findings] == [("BG-NG003", "app/nginx.conf")]
