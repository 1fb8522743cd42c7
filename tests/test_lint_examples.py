"""The incident as files (examples/incident): ``buildguard lint`` names every cause that can
be seen in the repository with the contract's rule ids, each in the file that holds it, and
the same repository done right (examples/incident-fixed) is clean. Putting back one file of
the incident into the fixed tree brings back exactly that file's causes: each fix is needed,
and each finding belongs to the file that causes it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from clitools import buildguard_cli
from lintcontract import RULE_SEVERITY, has_lint, line_of, run_lint

ROOT = Path(__file__).resolve().parent.parent
INCIDENT = ROOT / "examples/incident"
FIXED = ROOT / "examples/incident-fixed"

# the incident's files put back into the fixed repository -> what lint must say then:
# (rule, the file the finding names)
PUT_BACK: dict[tuple[str, ...], frozenset[tuple[str, str]]] = {
    # only docker build: the Dockerfile's COPY dist has no producer, in either file's view
    ("cloudbuild.yaml",): frozenset(
        {
            ("BG-CB001", "cloudbuild.yaml"),
            ("BG-DF001", "dockerfile.local-test"),
            ("BG-CB002", "cloudbuild.yaml"),
        }
    ),
    (".gcloudignore",): frozenset({("BG-IGN001", ".gcloudignore")}),
    # the fixed Ingress sends /api/v5/* to the API, so the SPA fallback never sees an API
    # call: NG004 needs the incident's Ingress too (below)
    ("nginx-combined.conf",): frozenset(
        {
            ("BG-NG001", "nginx-combined.conf"),
            ("BG-NG002", "nginx-combined.conf"),
            ("BG-NG003", "nginx-combined.conf"),
        }
    ),
    ("k8s/ingress.yaml",): frozenset(
        {("BG-IN001", "k8s/ingress.yaml"), ("BG-IN003", "k8s/ingress.yaml")}
    ),
    ("k8s/ingress.yaml", "nginx-combined.conf"): frozenset(
        {
            ("BG-IN001", "k8s/ingress.yaml"),
            ("BG-IN003", "k8s/ingress.yaml"),
            ("BG-NG001", "nginx-combined.conf"),
            ("BG-NG002", "nginx-combined.conf"),
            ("BG-NG003", "nginx-combined.conf"),
            ("BG-NG004", "nginx-combined.conf"),
        }
    ),
    ("src/stores/session.ts",): frozenset({("BG-URL001", "src/stores/session.ts")}),
    ("k8s/deployment.yaml",): frozenset({("BG-K8S001", "k8s/deployment.yaml")}),
}
EXPECTED: frozenset[tuple[str, str]] = frozenset().union(*PUT_BACK.values())
# where the finding points: (rule, file) -> the text of its line
LINES = {
    ("BG-DF001", "dockerfile.local-test"): "COPY dist /app/v5-frontend",
    ("BG-NG001", "nginx-combined.conf"): "proxy_pass $api_v4;",
    ("BG-NG002", "nginx-combined.conf"): "resolver 127.0.0.11",
    ("BG-NG003", "nginx-combined.conf"): "proxy_pass http://auth:8080;",
    ("BG-IN001", "k8s/ingress.yaml"): "path: /api/v5",
    ("BG-URL001", "src/stores/session.ts"): "/v5/sessions",
    ("BG-K8S001", "k8s/deployment.yaml"): "image:",
}

needs_lint = pytest.mark.skipif(not has_lint(), reason="buildguard.lint is not on this branch yet")


def pairs(report: object) -> set[tuple[str, str]]:
    return {(f.rule, f.path) for f in report.findings}  # type: ignore[attr-defined]


def describe(report: object) -> str:
    return "\n".join(
        f"{f.rule} {f.severity} {f.path}:{f.line} {f.message}"
        for f in report.findings  # type: ignore[attr-defined]
    )


# ------------------------------------------------------------------ the expectation itself


def test_the_expectation_covers_every_file_cause_and_only_contract_rules() -> None:
    assert {rule for rule, _ in EXPECTED} <= set(RULE_SEVERITY)
    for changed, causes in PUT_BACK.items():
        for name in changed:
            assert (INCIDENT / name).read_text() != (FIXED / name).read_text(), name
        for _, path in causes:
            assert (INCIDENT / path).is_file(), path
    for (rule, path), needle in LINES.items():
        assert (rule, path) in EXPECTED
        line_of(INCIDENT / path, needle)  # exactly one such line
    # the README's table names the same causes
    table = (INCIDENT / "README.md").read_text()
    for rule, path in EXPECTED:
        assert f"| `{path}` |" in table and f"`{rule}` |" in table, (rule, path)


def test_both_trees_hold_the_same_files() -> None:
    def names(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}

    assert names(INCIDENT) == names(FIXED)


# ------------------------------------------------------------------ the library


@needs_lint
def test_incident_names_every_cause_with_its_rule_and_file() -> None:
    report = run_lint([INCIDENT])
    assert pairs(report) == set(EXPECTED), describe(report)
    assert report.ok is False
    for finding in report.findings:
        assert finding.severity == RULE_SEVERITY[finding.rule], describe(report)
        assert finding.message and finding.hint, finding
    for (rule, path), needle in LINES.items():
        lines = {f.line for f in report.findings if (f.rule, f.path) == (rule, path)}
        assert line_of(INCIDENT / path, needle) in lines, (rule, path, lines)


@needs_lint
def test_incident_fixed_is_clean() -> None:
    report = run_lint([FIXED])
    assert report.findings == (), describe(report)
    assert report.ok is True
    kinds = {f.path: f.kind for f in report.files}
    assert kinds["cloudbuild.yaml"] == "cloudbuild"
    assert kinds["dockerfile.local-test"] == "dockerfile"
    assert kinds["nginx-combined.conf"] == "nginx"
    assert kinds["k8s/ingress.yaml"] == "kubernetes"
    assert kinds[".gcloudignore"] == "gcloudignore"


@needs_lint
@pytest.mark.parametrize("changed", sorted(PUT_BACK), ids="+".join)
def test_each_incident_file_put_back_brings_back_its_causes(
    changed: tuple[str, ...], tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXED, repo)
    for name in changed:
        shutil.copy2(INCIDENT / name, repo / name)
    report = run_lint([repo])
    assert pairs(report) == set(PUT_BACK[changed]), describe(report)


@needs_lint
def test_a_suppressed_cause_and_a_disabled_rule_are_silent(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXED, repo)
    conf = (INCIDENT / "nginx-combined.conf").read_text()
    conf = conf.replace(
        "        proxy_pass http://auth:8080;",
        "        # buildguard-lint: ignore BG-NG003\n        proxy_pass http://auth:8080;",
    )
    (repo / "nginx-combined.conf").write_text(conf)
    report = run_lint([repo], disable=("BG-NG002",))
    assert pairs(report) == {("BG-NG001", "nginx-combined.conf")}, describe(report)


# ------------------------------------------------------------------ the command


@needs_lint
def test_cli_exit_codes_and_json_on_the_examples() -> None:
    bad = buildguard_cli("lint", "--format", "json", str(INCIDENT))
    assert bad.returncode == 1, bad.stderr
    document = json.loads(bad.stdout)
    assert document["schema_version"] == 1 and document["ok"] is False
    assert {(f["rule"], f["path"]) for f in document["findings"]} == set(EXPECTED)

    good = buildguard_cli("lint", str(FIXED))
    assert good.returncode == 0, good.stdout + good.stderr
    text = buildguard_cli("lint", str(INCIDENT))
    assert text.returncode == 1
    for rule, _ in EXPECTED:
        assert rule in text.stdout + text.stderr, rule
    # warnings alone fail with --fail-on warning: the fixed tree has none
    assert buildguard_cli("lint", "--fail-on", "warning", str(FIXED)).returncode == 0


@needs_lint
def test_the_example_pipeline_passes_its_own_lint_step(tmp_path: Path) -> None:
    """cloudbuild.example.yaml's first step, run as Cloud Build runs it: in /workspace (the
    pipeline file and the app as `gcloud builds submit` uploads them), with the step's own
    arguments. A finding here would fail every build of the example."""
    config = yaml.safe_load((ROOT / "cloudbuild.example.yaml").read_text())
    step = config["steps"][0]
    assert step["id"] == "lint" and "dir" not in step
    app = config["substitutions"]["_APP_DIR"]
    workspace = tmp_path / "workspace"
    shutil.copytree(
        ROOT / app,
        workspace / app,
        ignore=shutil.ignore_patterns("node_modules", "dist", ".buildguard"),
    )
    shutil.copy2(ROOT / "cloudbuild.example.yaml", workspace / "cloudbuild.example.yaml")
    args = [arg.replace("${_APP_DIR}", app) for arg in step["args"]]
    result = buildguard_cli(*args, cwd=workspace)
    assert result.returncode == 0, result.stdout + result.stderr
