"""BG-IN001..BG-IN003 through ``buildguard.lint``, judged per controller: GKE's (class gce,
or no class), ingress-nginx, and a controller lint does not know (silent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lintrepo import lint_repo, rule_ids

from buildguard._lint.errors import ParseFailure
from buildguard._lint.ingressmodel import IngressPath, controller_of, read_cluster, route
from buildguard._lint.workspace import WorkspaceFile
from buildguard._lint.yamlfile import load_templated_documents


def load_documents(path: str, text: str) -> list[object]:
    return load_templated_documents(WorkspaceFile(path, "kubernetes", text))


def ingress(
    paths: list[tuple[str, str, str]],
    *,
    annotations: dict[str, str] | None = None,
    class_name: str | None = None,
    api: str = "networking.k8s.io/v1",
    name: str = "web",
) -> str:
    lines = [f"apiVersion: {api}", "kind: Ingress", "metadata:", f"  name: {name}"]
    if annotations:
        lines.append("  annotations:")
        lines += [f'    {k}: "{v}"' for k, v in annotations.items()]
    lines.append("spec:")
    if class_name:
        lines.append(f"  ingressClassName: {class_name}")
    lines += ["  rules:", "  - host: app.example.com", "    http:", "      paths:"]
    for path, path_type, service in paths:
        lines.append(f"      - path: {path}")
        if path_type:
            lines.append(f"        pathType: {path_type}")
        if api.endswith("v1beta1"):
            lines += [
                "        backend:",
                f"          serviceName: {service}",
                "          servicePort: 80",
            ]
        else:
            lines += [
                "        backend:",
                "          service:",
                f"            name: {service}",
                "            port: {number: 80}",
            ]
    return "\n".join(lines) + "\n"


def service(name: str) -> str:
    return f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n"


IS = "ImplementationSpecific"


def rules_for(tmp_path: Path, text: str, extra: dict[str, str] | None = None) -> list[str]:
    return rule_ids(lint_repo(tmp_path, {"k8s/ingress.yaml": text, **(extra or {})}), "BG-IN")


# -- BG-IN001 ----------------------------------------------------------------------------


def test_in001_gce_exact_looking_prefix(tmp_path: Path) -> None:
    text = ingress([("/api", IS, "api"), ("/*", IS, "web")])
    findings = lint_repo(tmp_path, {"k8s/ingress.yaml": text})
    [f] = [f for f in findings if f.rule == "BG-IN001"]
    assert (f.path, f.line, f.severity) == ("k8s/ingress.yaml", 10, "error")
    assert "/api/*" in f.hint


def test_in001_v1beta1_without_path_type_is_implementation_specific(tmp_path: Path) -> None:
    text = ingress([("/api", "", "api")], api="networking.k8s.io/v1beta1")
    assert rules_for(tmp_path, text) == ["BG-IN001"]


def test_in001_class_gce_annotation_wins_over_ingress_class_name(tmp_path: Path) -> None:
    text = ingress(
        [("/api", IS, "api")],
        annotations={"kubernetes.io/ingress.class": "gce-internal"},
        class_name="nginx",
    )
    assert rules_for(tmp_path, text) == ["BG-IN001"]


@pytest.mark.parametrize(
    ("paths", "kw"),
    [
        ([("/api/*", IS, "api"), ("/*", IS, "web")], {}),
        ([("/api", "Prefix", "api")], {}),
        ([("/api", "Exact", "api")], {}),
        ([("/api", IS, "api"), ("/api/*", IS, "api")], {}),  # the /p + /p/* pair
        ([("/robots.txt", IS, "web")], {}),
        ([("/api", IS, "api")], {"class_name": "nginx"}),  # ingress-nginx: a prefix
        (
            [("/api", IS, "api")],
            {"annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "8m"}},
        ),
        ([("/api", IS, "api")], {"annotations": {"kubernetes.io/ingress.class": "traefik"}}),
        ([("/api", IS, "api")], {"class_name": "cilium"}),
    ],
)
def test_in001_silent_where_the_controller_does_the_right_thing(
    tmp_path: Path, paths: list[tuple[str, str, str]], kw: dict[str, object]
) -> None:
    assert "BG-IN001" not in rules_for(tmp_path, ingress(paths, **kw))  # type: ignore[arg-type]


def test_in001_silent_when_a_file_beside_it_names_another_default_controller(
    tmp_path: Path,
) -> None:
    ingress_class = (
        "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: nginx\n"
        "  annotations:\n    ingressclass.kubernetes.io/is-default-class: 'true'\n"
        "spec:\n  controller: k8s.io/ingress-nginx\n"
    )
    text = ingress([("/api", IS, "api")])
    assert rules_for(tmp_path, text, {"k8s/class.yaml": ingress_class}) == []


# -- BG-IN002 ----------------------------------------------------------------------------


def test_in002_backend_service_not_defined(tmp_path: Path) -> None:
    text = ingress([("/api/*", IS, "api-svc"), ("/*", IS, "web")]) + service("web")
    findings = lint_repo(tmp_path, {"k8s/all.yaml": text})
    [f] = [f for f in findings if f.rule == "BG-IN002"]
    assert "api-svc" in f.message and f.line == 10


def test_in002_silent_when_no_service_is_given_or_all_exist(tmp_path: Path) -> None:
    text = ingress([("/api/*", IS, "api"), ("/*", IS, "web")])
    assert rules_for(tmp_path / "a", text) == []
    assert rules_for(tmp_path / "b", text + service("api") + service("web")) == []


def test_in002_services_in_another_file_and_a_list_count(tmp_path: Path) -> None:
    text = ingress([("/*", IS, "web")])
    listing = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: Service, metadata: {name: web}}\n"
    )
    assert rules_for(tmp_path, text, {"k8s/services.yaml": listing}) == []


# -- BG-IN003 ----------------------------------------------------------------------------


def test_in003_gce_narrow_path_without_star_goes_to_the_broad_backend(tmp_path: Path) -> None:
    text = ingress([("/api/*", IS, "api-v4"), ("/api/v5", IS, "api-v5"), ("/*", IS, "web")])
    findings = lint_repo(tmp_path, {"k8s/ingress.yaml": text})
    [f] = [f for f in findings if f.rule == "BG-IN003"]
    assert "api-v4" in f.message and "api-v5" in f.message
    assert sorted(f.rule for f in findings) == ["BG-IN001", "BG-IN003"]


@pytest.mark.parametrize(
    ("paths", "kw"),
    [
        # GCE: the longest match wins whatever the order
        ([("/api/*", IS, "api-v4"), ("/api/v5/*", IS, "api-v5")], {}),
        ([("/api", "Prefix", "api-v4"), ("/api/v5", "Prefix", "api-v5")], {}),
        # ingress-nginx: prefixes, longest first
        ([("/api", "Prefix", "api-v4"), ("/api/v5", "Prefix", "api-v5")], {"class_name": "nginx"}),
        ([("/api", IS, "api-v4"), ("/api/v5", IS, "api-v5")], {"class_name": "nginx"}),
        # the same backend: nothing is sent astray
        ([("/api/*", IS, "api"), ("/api/v5", IS, "api")], {}),
    ],
)
def test_in003_silent_where_the_narrower_prefix_wins(
    tmp_path: Path, paths: list[tuple[str, str, str]], kw: dict[str, object]
) -> None:
    assert "BG-IN003" not in rules_for(tmp_path, ingress(paths, **kw))  # type: ignore[arg-type]


def test_in003_ingress_nginx_regex_longer_broad_path_wins(tmp_path: Path) -> None:
    text = ingress(
        [("/api/(.*)", IS, "api-v4"), ("/api/v5", IS, "api-v5")],
        annotations={"nginx.ingress.kubernetes.io/use-regex": "true"},
        class_name="nginx",
    )
    assert rules_for(tmp_path, text) == ["BG-IN003"]


# -- the model ---------------------------------------------------------------------------


def _paths(*spec: tuple[str, str]) -> list[IngressPath]:
    return [IngressPath("*", p, t, f"s{i}", i) for i, (p, t) in enumerate(spec)]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [("/api", "/api"), ("/api/v5", "/api/*"), ("/apix", "/*"), ("/", "/*"), ("/api/", "/api/*")],
)
def test_gce_route(uri: str, expected: str) -> None:
    paths = _paths(("/*", IS), ("/api", IS), ("/api/*", IS))
    got = route(paths, "gce", uri)
    assert got is not None and got.path == expected


def test_gce_prefix_matches_path_elements() -> None:
    paths = _paths(("/api", "Prefix"))
    assert route(paths, "gce", "/api/x") is not None
    assert route(paths, "gce", "/api") is not None
    assert route(paths, "gce", "/apix") is None


def test_helm_templates_are_read_as_far_as_they_go() -> None:
    text = (
        "{{- if .Values.ingress.enabled }}\napiVersion: networking.k8s.io/v1\nkind: Ingress\n"
        "metadata:\n  name: {{ .Release.Name }}\nspec:\n  rules:\n  - http:\n      paths:\n"
        "      - path: /api\n        pathType: ImplementationSpecific\n        backend:\n"
        "          service: {name: api, port: {number: 80}}\n{{- end }}\n"
    )
    cluster = read_cluster([("t.yaml", load_documents("t.yaml", text))])
    [ing] = cluster.ingresses
    assert controller_of(ing, cluster) == "gce"
    assert ing.paths[0].line == 10


def test_invalid_yaml_is_a_parse_failure_with_its_line() -> None:
    with pytest.raises(ParseFailure) as caught:
        load_documents("x.yaml", "kind: Ingress\nspec: [\n  a: b\n")
    assert caught.value.line >= 2


def test_every_document_of_a_long_file_is_its_own() -> None:
    # yamlfile's alias table is keyed by id(node): a freed node's id, reused by a later
    # document, once made that document read as an earlier one
    text = "".join(f"---\nkind: Service\nmetadata:\n  name: svc-{i}\n" for i in range(300))
    cluster = read_cluster([("s.yaml", load_documents("s.yaml", text))])
    assert [s.name for s in cluster.services] == [f"svc-{i}" for i in range(300)]


def test_in002_a_service_name_only_a_template_fills_is_not_judged(tmp_path: Path) -> None:
    text = ingress([("/*", IS, '{{ include "app.fullname" . }}')]) + service("other")
    assert (
        rules_for(tmp_path, text, {"k8s/templates/x.yaml": "{{- if .Values.x }}\n{{- end }}\n"})
        == []
    )
