"""Every lint rule of lint21a's families: a true case, and near misses that stay silent.

Each case is a small repository written to a temporary folder and linted through the
public ``buildguard.lint``; the assertions name the rule, the file and the line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from linttree import VITE_PACKAGE, lint_tree, rules_found

BUILD_STAGE_DOCKERFILE = """
    FROM node:20 AS build
    WORKDIR /app
    COPY package*.json ./
    RUN npm ci
    COPY . .
    RUN npm run build

    FROM nginx:1.25
    COPY --from=build /app/dist /usr/share/nginx/html
"""
COPY_DIST_DOCKERFILE = """
    FROM nginx:1.25
    COPY nginx.conf /etc/nginx/conf.d/default.conf
    COPY dist /usr/share/nginx/html
"""
ONLY_DOCKER_BUILD = """
    steps:
      - name: gcr.io/cloud-builders/docker
        args: ['build', '-t', 'europe-docker.pkg.dev/p/r/web:$SHORT_SHA', '.']
    images: ['europe-docker.pkg.dev/p/r/web:$SHORT_SHA']
"""


# ---------------------------------------------------------------- BG-DF001 and BG-CB001


def test_the_incident_pipeline_copy_dist_with_only_docker_build(tmp_path: Path) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "Dockerfile": COPY_DIST_DOCKERFILE,
            "cloudbuild.yaml": ONLY_DOCKER_BUILD,
        },
    )
    assert rules_found(report) == [
        ("BG-DF001", "Dockerfile", 3),
        ("BG-CB001", "cloudbuild.yaml", 2),
    ] or sorted(rules_found(report)) == sorted(
        [("BG-DF001", "Dockerfile", 3), ("BG-CB001", "cloudbuild.yaml", 2)]
    )
    assert not report.ok
    cb001 = next(f for f in report.findings if f.rule == "BG-CB001")
    assert "Dockerfile:3" in cb001.message and "dist/" in cb001.message  # names both files
    assert all(f.hint for f in report.findings)


def test_multi_stage_dockerfile_whose_builder_stage_builds_dist_is_silent(
    tmp_path: Path,
) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "Dockerfile": BUILD_STAGE_DOCKERFILE,
            "cloudbuild.yaml": ONLY_DOCKER_BUILD,
        },
    )
    assert rules_found(report) == []
    assert report.ok


def test_a_dockerfile_with_no_pipeline_beside_it_is_a_warning(tmp_path: Path) -> None:
    report = lint_tree(tmp_path, {"package.json": VITE_PACKAGE, "Dockerfile": COPY_DIST_DOCKERFILE})
    assert rules_found(report) == [("BG-DF001", "Dockerfile", 3)]
    assert report.findings[0].severity == "warning"
    assert "producer step" in report.findings[0].message
    assert report.ok  # a warning does not fail the default --fail-on error


def test_a_java_build_folder_is_not_a_frontend_output(tmp_path: Path) -> None:
    """`COPY build/libs/app.jar` in a project with no package.json: another tool's build."""
    report = lint_tree(
        tmp_path,
        {
            "Dockerfile": "FROM eclipse-temurin:21\nCOPY build/libs/app.jar /app.jar\n",
            "cloudbuild.yaml": ONLY_DOCKER_BUILD,
        },
    )
    assert rules_found(report) == []


def test_serial_cloud_build_with_the_build_step_first_is_silent(tmp_path: Path) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "Dockerfile": COPY_DIST_DOCKERFILE,
            "cloudbuild.yaml": """
                steps:
                  - name: node:20
                    entrypoint: npm
                    args: ['ci']
                  - name: node:20
                    entrypoint: npm
                    args: ['run', 'build']
                  - name: gcr.io/cloud-builders/docker
                    args: ['build', '-t', 'europe-docker.pkg.dev/p/r/web:$SHORT_SHA', '.']
                images: ['europe-docker.pkg.dev/p/r/web:$SHORT_SHA']
            """,
        },
    )
    assert rules_found(report) == []


PARALLEL = """
    steps:
      - id: install
        name: node:20
        entrypoint: npm
        args: ['ci']
      - id: bundle
        name: node:20
        entrypoint: bash
        args: ['-c', 'npm run build']
        waitFor: ['install']
      - id: lint-config
        name: gcr.io/cloud-builders/gcloud
        args: ['version']
        waitFor: ['-']
      - id: image
        name: gcr.io/cloud-builders/docker
        args: ['build', '-t', 'europe-docker.pkg.dev/p/r/web:$SHORT_SHA', '.']
        waitFor: [{wait}]
    images: ['europe-docker.pkg.dev/p/r/web:$SHORT_SHA']
"""


def test_parallel_graph_whose_image_build_waits_for_the_bundle_build_is_silent(
    tmp_path: Path,
) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "Dockerfile": COPY_DIST_DOCKERFILE,
            "cloudbuild.yaml": PARALLEL.replace("{wait}", "'bundle', 'lint-config'"),
        },
    )
    assert rules_found(report) == []


@pytest.mark.parametrize("wait", ["'-'", "'install'", "'lint-config'"])
def test_an_image_build_that_does_not_wait_for_the_bundle_races_it(
    tmp_path: Path, wait: str
) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "Dockerfile": COPY_DIST_DOCKERFILE,
            "cloudbuild.yaml": PARALLEL.replace("{wait}", wait),
        },
    )
    cb001 = [f for f in report.findings if f.rule == "BG-CB001"]
    assert [(f.path, f.line) for f in cb001] == [("cloudbuild.yaml", 15)]
    assert "bundle" in cb001[0].message and "not before" in cb001[0].message
    assert ("BG-DF001", "Dockerfile", 3) in rules_found(report)


def test_a_build_in_the_same_script_before_docker_build_counts(tmp_path: Path) -> None:
    report = lint_tree(
        tmp_path,
        {
            "web/package.json": VITE_PACKAGE,
            "web/Dockerfile": COPY_DIST_DOCKERFILE,
            "cloudbuild.yaml": """
                steps:
                  - name: node:20
                    script: |
                      cd web
                      npm ci && npm run build
                      docker build -t europe-docker.pkg.dev/p/r/web:$SHORT_SHA .
                images: ['europe-docker.pkg.dev/p/r/web:$SHORT_SHA']
            """,
        },
    )
    assert rules_found(report) == []


def test_build_output_read_from_vite_config_out_dir(tmp_path: Path) -> None:
    """vite builds into `public-dist`, so a Dockerfile copying `dist` has no producer."""
    files = {
        "package.json": VITE_PACKAGE,
        "vite.config.ts": "export default { build: { outDir: 'public-dist' } }\n",
        "Dockerfile": COPY_DIST_DOCKERFILE,
        "cloudbuild.yaml": """
            steps:
              - name: node:20
                entrypoint: npm
                args: ['run', 'build']
              - name: gcr.io/cloud-builders/docker
                args: ['build', '-t', 'europe-docker.pkg.dev/p/r/web:$SHORT_SHA', '.']
            images: ['europe-docker.pkg.dev/p/r/web:$SHORT_SHA']
        """,
    }
    report = lint_tree(tmp_path, files)
    assert ("BG-CB001", "cloudbuild.yaml", 5) in rules_found(report)
    (tmp_path / "Dockerfile").write_text("FROM nginx\nCOPY public-dist /usr/share/nginx/html\n")
    (tmp_path / "package.json").write_text(VITE_PACKAGE)
    import buildguard

    assert rules_found(buildguard.lint([tmp_path])) == []


def test_a_dockerfile_named_with_f_is_read(tmp_path: Path) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "deploy/web.containerfile": COPY_DIST_DOCKERFILE,
            "cloudbuild.yaml": """
                steps:
                  - name: gcr.io/cloud-builders/docker
                    args: ['build', '-f', 'deploy/web.containerfile', '-t', 'r/web:$SHORT_SHA', '.']
            """,
        },
    )
    assert ("BG-DF001", "deploy/web.containerfile", 3) in rules_found(report)
    assert ("BG-CB001", "cloudbuild.yaml", 2) in rules_found(report)
    assert {"path": "deploy/web.containerfile", "kind": "dockerfile"} in [
        f.model_dump() for f in report.files
    ]


def test_dockerignore_that_excludes_dist_makes_the_copy_fail_loudly_not_stale(
    tmp_path: Path,
) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "Dockerfile": COPY_DIST_DOCKERFILE,
            ".dockerignore": "node_modules\n/dist\n",
            "cloudbuild.yaml": ONLY_DOCKER_BUILD,
        },
    )
    assert rules_found(report) == []


WORKFLOW = """
    on: push
    jobs:
      web:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - run: npm ci
          - run: npm run build
          - uses: docker/build-push-action@v6
            with:
              {context}
              push: true
              tags: ghcr.io/o/web:${{{{ github.sha }}}}
"""


def test_github_job_that_builds_then_docker_builds_is_silent(tmp_path: Path) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "Dockerfile": COPY_DIST_DOCKERFILE,
            ".github/workflows/ci.yml": WORKFLOW.format(context="context: ."),
        },
    )
    assert rules_found(report) == []


def test_build_push_action_with_its_default_git_context_ignores_the_built_dist(
    tmp_path: Path,
) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "Dockerfile": COPY_DIST_DOCKERFILE,
            ".github/workflows/ci.yml": WORKFLOW.format(context="file: Dockerfile"),
        },
    )
    found = [f for f in report.findings if f.rule == "BG-CB001"]
    assert [(f.path, f.line) for f in found] == [(".github/workflows/ci.yml", 9)]
    assert "Git context" in found[0].message


def test_github_jobs_on_other_machines_need_an_artifact(tmp_path: Path) -> None:
    workflow = """
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: npm ci && npm run build
              - uses: actions/upload-artifact@v4
                with: {{name: dist, path: dist}}
          image:
            needs: build
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              {download}
              - run: docker build -t ghcr.io/o/web:${{{{ github.sha }}}} .
    """
    files = {"package.json": VITE_PACKAGE, "Dockerfile": COPY_DIST_DOCKERFILE}
    without = lint_tree(
        tmp_path, {**files, ".github/workflows/ci.yml": workflow.format(download="")}
    )
    assert ("BG-CB001", ".github/workflows/ci.yml", 16) in rules_found(without)
    download = "- uses: actions/download-artifact@v4\n                with: {name: dist}"
    fetched = workflow.format(download=download)
    with_artifact = lint_tree(tmp_path, {**files, ".github/workflows/ci.yml": fetched})
    assert rules_found(with_artifact) == []


# ---------------------------------------------------------------- BG-CB002


def test_an_image_pushed_and_deployed_only_as_latest(tmp_path: Path) -> None:
    report = lint_tree(
        tmp_path,
        {
            "cloudbuild.yaml": """
                steps:
                  - name: gcr.io/cloud-builders/docker
                    args: ['build', '-t', 'gcr.io/p/web', '.']
                  - name: gcr.io/cloud-builders/docker
                    args: ['push', 'gcr.io/p/web:latest']
                  - name: gcr.io/cloud-builders/gcloud
                    args: ['run', 'deploy', 'web', '--image', 'gcr.io/p/web:latest']
            """,
            "Dockerfile": "FROM nginx\n",
        },
    )
    assert rules_found(report, rule="BG-CB002") == [("BG-CB002", "cloudbuild.yaml", 4)]
    assert report.findings[0].severity == "warning"


@pytest.mark.parametrize(
    ("tag", "images"),
    [
        ("gcr.io/p/web:$SHORT_SHA", ""),  # an immutable tag beside it
        ("gcr.io/p/web", "images: ['gcr.io/p/web']"),  # the build records the digest
    ],
)
def test_an_image_with_an_immutable_tag_or_a_recorded_digest_is_silent(
    tmp_path: Path, tag: str, images: str
) -> None:
    report = lint_tree(
        tmp_path,
        {
            "cloudbuild.yaml": f"""
                steps:
                  - name: gcr.io/cloud-builders/docker
                    args: ['build', '-t', 'gcr.io/p/web', '-t', '{tag}', '.']
                  - name: gcr.io/cloud-builders/docker
                    args: ['push', '--all-tags', 'gcr.io/p/web']
                {images}
            """,
            "Dockerfile": "FROM nginx\n",
        },
    )
    assert rules_found(report, rule="BG-CB002") == []


# ---------------------------------------------------------------- BG-CB003

GUARDED = """
    steps:
      - name: europe-docker.pkg.dev/p/tools/buildguard
        args: ['record', '--clean', 'dist']
      - name: node:20
        entrypoint: bash
        args: ['-c', 'npm ci && npm run build']
      - name: europe-docker.pkg.dev/p/tools/buildguard
        args: ['seal', 'dist']
      - name: gcr.io/cloud-builders/docker
        args: ['build', '-t', 'gcr.io/p/web:$SHORT_SHA', '.']
      - name: europe-docker.pkg.dev/p/tools/buildguard
        args: ['verify', 'docker-daemon:gcr.io/p/web:$SHORT_SHA']
      - name: gcr.io/cloud-builders/docker
        args: ['push', 'gcr.io/p/web:$SHORT_SHA']
      - name: europe-docker.pkg.dev/p/tools/buildguard
        args: ['verify', 'gcr.io/p/web:v5', '--mark-verified', 'verified']
      - name: gcr.io/cloud-builders/gcloud
        args: ['run', 'deploy', 'web', '--image', 'gcr.io/p/web:$SHORT_SHA']
    images: ['gcr.io/p/web:$SHORT_SHA']
"""


def test_the_example_order_is_silent(tmp_path: Path) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "Dockerfile": COPY_DIST_DOCKERFILE,
            "cloudbuild.yaml": GUARDED,
        },
    )
    assert rules_found(report) == []


def test_seal_before_the_build(tmp_path: Path) -> None:
    late_build = (
        "\n      - name: node:20\n        entrypoint: npm\n        args: ['run', 'build']"
        "\n        waitFor: ['-']"
    )
    swapped = GUARDED.replace(
        "args: ['-c', 'npm ci && npm run build']", "args: ['-c', 'echo later']"
    ).replace("args: ['seal', 'dist']", "args: ['seal', 'dist']" + late_build)
    report = lint_tree(
        tmp_path,
        {"package.json": VITE_PACKAGE, "Dockerfile": "FROM nginx\n", "cloudbuild.yaml": swapped},
    )
    assert ("BG-CB003", "cloudbuild.yaml", 7) in rules_found(report)


def test_verify_of_a_tag_that_only_images_pushes(tmp_path: Path) -> None:
    pipeline = """
        steps:
          - name: gcr.io/cloud-builders/docker
            args: ['build', '-t', 'gcr.io/p/web:v5', '.']
          - name: europe-docker.pkg.dev/p/tools/buildguard
            args: ['verify', 'gcr.io/p/web:v5']
        images: ['gcr.io/p/web:v5']
    """
    report = lint_tree(tmp_path, {"Dockerfile": "FROM nginx\n", "cloudbuild.yaml": pipeline})
    found = [f for f in report.findings if f.rule == "BG-CB003"]
    assert [(f.path, f.line) for f in found] == [("cloudbuild.yaml", 4)]
    assert "images:" in found[0].message


def test_verify_before_the_push_and_deploy_before_the_verify(tmp_path: Path) -> None:
    pipeline = """
        steps:
          - name: gcr.io/cloud-builders/docker
            args: ['build', '-t', 'gcr.io/p/web:v5', '.']
          - id: verify
            name: europe-docker.pkg.dev/p/tools/buildguard
            args: ['verify', 'gcr.io/p/web:v5']
          - name: gcr.io/cloud-builders/docker
            args: ['push', 'gcr.io/p/web:v5']
          - name: gcr.io/cloud-builders/kubectl
            args: ['set', 'image', 'deployment/web', 'web=gcr.io/p/web:v5']
            waitFor: ['-']
    """
    report = lint_tree(tmp_path, {"Dockerfile": "FROM nginx\n", "cloudbuild.yaml": pipeline})
    assert rules_found(report, rule="BG-CB003") == [
        ("BG-CB003", "cloudbuild.yaml", 4),
        ("BG-CB003", "cloudbuild.yaml", 9),
    ]


# ---------------------------------------------------------------- BG-IGN001, BG-IGN002


def test_gcloudignore_without_the_gitignore_include_uploads_dist(tmp_path: Path) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            ".gitignore": "node_modules/\ndist/\n",
            ".gcloudignore": ".git\nnode_modules/\n",
            "Dockerfile": BUILD_STAGE_DOCKERFILE,
        },
    )
    assert rules_found(report) == [("BG-IGN001", ".gcloudignore", 1)]
    assert "dist/" in report.findings[0].message


@pytest.mark.parametrize(
    "gcloudignore",
    [
        ".git\n#!include:.gitignore\n",
        "# !include:.gitignore\n",  # gcloud strips spaces after the #
        ".git\nnode_modules/\ndist\n",  # lists the folder itself
    ],
)
def test_gcloudignore_that_includes_gitignore_or_lists_dist_is_silent(
    tmp_path: Path, gcloudignore: str
) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            ".gitignore": "node_modules/\ndist/\n",
            ".gcloudignore": gcloudignore,
        },
    )
    assert rules_found(report) == []


def test_no_gcloudignore_means_gclouds_default_which_includes_gitignore(tmp_path: Path) -> None:
    report = lint_tree(tmp_path, {"package.json": VITE_PACKAGE, ".gitignore": "dist/\n"})
    assert rules_found(report) == []


def test_gcloudignore_that_uploads_only_the_built_output(tmp_path: Path) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "src/main.ts": "console.log(1)\n",
            ".gcloudignore": "# upload the bundle only\n/*\n!/dist\n!/Dockerfile\n",
            "Dockerfile": COPY_DIST_DOCKERFILE,
        },
    )
    assert rules_found(report, rule="BG-IGN002") == [("BG-IGN002", ".gcloudignore", 2)]
    ign002 = next(f for f in report.findings if f.rule == "BG-IGN002")
    assert "package.json" in ign002.message and "src/" in ign002.message


def test_an_allow_list_that_brings_the_sources_back_is_silent(tmp_path: Path) -> None:
    """gcloud decides folder by folder with the last matching pattern, so `*` then `!src/`
    and `!package.json` uploads the sources."""
    files = {
        "package.json": VITE_PACKAGE,
        "src/main.ts": "x\n",
        "cloudbuild.yaml": "steps:\n  - name: node\n    args: [npm, ci]\n",
    }
    report = lint_tree(tmp_path, {**files, ".gcloudignore": "*\n!src/\n!package.json\n"})
    assert rules_found(report) == []
    report = lint_tree(tmp_path, {**files, ".gcloudignore": "*\n!src/\n"})
    assert rules_found(report) == [("BG-IGN002", ".gcloudignore", 1)]


def test_an_app_engine_site_that_uploads_its_built_folder(tmp_path: Path) -> None:
    """No Dockerfile, no Cloud Build config: `gcloud app deploy` of a local dist/ still
    uploads whatever that folder holds (the contract makes no exception)."""
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "src/main.ts": "x\n",
            "app.yaml": "runtime: python312\nhandlers:\n  - url: /\n    static_dir: dist\n",
            ".gitignore": "dist/\n",
            ".gcloudignore": "/*\n!/dist\n!/app.yaml\n",
        },
    )
    assert rules_found(report) == [
        ("BG-IGN001", ".gcloudignore", 1),
        ("BG-IGN002", ".gcloudignore", 1),
    ]


def test_gcloudignore_excluding_node_modules_and_dist_is_silent(tmp_path: Path) -> None:
    report = lint_tree(
        tmp_path,
        {
            "package.json": VITE_PACKAGE,
            "src/main.ts": "x\n",
            ".gitignore": "dist\n",
            ".gcloudignore": "#!include:.gitignore\nnode_modules/\n/src/**/*.test.ts\n",
        },
    )
    assert rules_found(report) == []


# ---------------------------------------------------------------- BG-K8S001

DEPLOYMENT = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: web}}
    spec:
      template:
        spec:
          initContainers:
            - name: migrate
              image: {init}
          containers:
            - name: web
              image: {image}
"""


def test_deployment_by_latest_or_no_tag(tmp_path: Path) -> None:
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\n"
    report = lint_tree(
        tmp_path,
        {"k8s/web.yaml": service + DEPLOYMENT.format(init="busybox", image="gcr.io/p/web:latest")},
    )
    assert rules_found(report) == [
        ("BG-K8S001", "k8s/web.yaml", 14),
        ("BG-K8S001", "k8s/web.yaml", 17),
    ]


@pytest.mark.parametrize(
    "image",
    [
        "gcr.io/p/web@sha256:" + "a" * 64,
        "gcr.io/p/web:v5.2.1",
        "gcr.io/p/web:${TAG}",  # a template fills it: not guessed
        "{{ .Values.image }}",
    ],
)
def test_deployment_by_digest_by_version_or_by_template_is_silent(
    tmp_path: Path, image: str
) -> None:
    report = lint_tree(
        tmp_path, {"k8s/web.yaml": DEPLOYMENT.format(init="busybox:1.36", image=image)}
    )
    assert rules_found(report) == []


def test_a_service_alone_is_not_judged(tmp_path: Path) -> None:
    report = lint_tree(
        tmp_path,
        {"k8s/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {}\n"},
    )
    assert rules_found(report) == [] and [f.kind for f in report.files] == ["kubernetes"]


# ---------------------------------------------------------------- templates and real pipelines

ROOT = Path(__file__).resolve().parent.parent


def test_the_repositorys_own_example_pipeline_is_clean() -> None:
    """cloudbuild.example.yaml builds examples/vite-app through `dir: ${_APP_DIR}` (a
    substitution) and deploys `$(cat /workspace/image.ref)`: both read, neither guessed."""
    import buildguard

    report = buildguard.lint([ROOT / "cloudbuild.example.yaml", ROOT / "examples/vite-app"])
    assert {f.path for f in report.files} >= {
        "cloudbuild.example.yaml",
        "examples/vite-app/Dockerfile",
    }
    assert rules_found(report) == []


def test_substitutions_fill_dir_and_args(tmp_path: Path) -> None:
    pipeline = """
        substitutions:
          _APP: web
          _CTX: ${_APP}
        steps:
          - name: node:20
            dir: $_APP
            entrypoint: npm
            args: ['run', 'build']
          - name: gcr.io/cloud-builders/docker
            args: ['build', '-t', 'r/web:$SHORT_SHA', '${_CTX}']
    """
    files = {"web/package.json": VITE_PACKAGE, "web/Dockerfile": COPY_DIST_DOCKERFILE}
    assert rules_found(lint_tree(tmp_path, {**files, "cloudbuild.yaml": pipeline})) == []
    other = pipeline.replace("_APP: web", "_APP: api")  # the build now runs in api/
    found = rules_found(lint_tree(tmp_path, {**files, "cloudbuild.yaml": other}))
    assert ("BG-CB001", "cloudbuild.yaml", 9) not in found  # the image is built from api/ too
    assert ("BG-DF001", "web/Dockerfile", 3) in found  # nothing builds web/dist


def test_a_build_in_a_folder_only_a_variable_names_may_build_anything(tmp_path: Path) -> None:
    pipeline = """
        steps:
          - name: node:20
            dir: $_UNSET
            entrypoint: npm
            args: ['run', 'build']
          - name: gcr.io/cloud-builders/docker
            args: ['build', '-t', 'r/web:$SHORT_SHA', '.']
    """
    files = {"package.json": VITE_PACKAGE, "Dockerfile": COPY_DIST_DOCKERFILE}
    assert rules_found(lint_tree(tmp_path, {**files, "cloudbuild.yaml": pipeline})) == []


def test_kaniko_builds_are_image_builds(tmp_path: Path) -> None:
    pipeline = """
        steps:
          - name: gcr.io/kaniko-project/executor:latest
            args:
              - --dockerfile=docker/web.Dockerfile
              - --context=dir:///workspace/web
              - --destination=gcr.io/p/web:$SHORT_SHA
    """
    files = {
        "web/package.json": VITE_PACKAGE,
        "docker/web.Dockerfile": COPY_DIST_DOCKERFILE,
        "cloudbuild.yaml": pipeline,
    }
    found = rules_found(lint_tree(tmp_path, files))
    assert ("BG-CB001", "cloudbuild.yaml", 2) in found
    assert ("BG-DF001", "docker/web.Dockerfile", 3) in found  # web/dist: context web/


@pytest.mark.parametrize(
    "deploy",
    [
        "name: gcr.io/cloud-builders/gke-deploy\n"
        "    args: [run, --filename=k8s/, --image=gcr.io/p/web:v5]",
        "name: gcr.io/cloud-builders/kubectl\n    args: [apply, -f, k8s/]",
        "name: gcr.io/cloud-builders/gcloud\n"
        "    args: [run, deploy, web, '--image=gcr.io/p/web:v5']",
    ],
)
def test_deploy_steps_of_each_tool_wait_for_the_verify(tmp_path: Path, deploy: str) -> None:
    pipeline = (
        "steps:\n"
        "  - name: gcr.io/cloud-builders/docker\n    args: [build, -t, gcr.io/p/web:v5, .]\n"
        "  - name: gcr.io/cloud-builders/docker\n    args: [push, gcr.io/p/web:v5]\n"
        "  - id: verify\n    name: europe-docker.pkg.dev/p/tools/buildguard\n"
        "    args: [verify, gcr.io/p/web:v5]\n"
        f"  - {deploy}\n    waitFor: [{{wait}}]\n"
    )
    k8s = DEPLOYMENT.format(init="busybox:1.36", image="gcr.io/p/web:v5")
    files = {"Dockerfile": "FROM nginx\n", "k8s/web.yaml": k8s}
    racing = lint_tree(tmp_path, {**files, "cloudbuild.yaml": pipeline.format(wait="'-'")})
    assert rules_found(racing, rule="BG-CB003") == [("BG-CB003", "cloudbuild.yaml", 9)]
    waiting = lint_tree(tmp_path, {**files, "cloudbuild.yaml": pipeline.format(wait="verify")})
    assert rules_found(waiting) == []


def test_a_dockerfile_whose_own_stage_builds_the_folder_is_not_judged(tmp_path: Path) -> None:
    """DESIGN: BG-DF001 needs that "no earlier stage of it builds that folder"."""
    dockerfile = """
        FROM node:20 AS build
        WORKDIR /app
        COPY . .
        RUN npm ci && npm run build
        FROM nginx
        COPY dist /usr/share/nginx/html
    """
    files = {"package.json": VITE_PACKAGE, "cloudbuild.yaml": ONLY_DOCKER_BUILD}
    assert rules_found(lint_tree(tmp_path, {**files, "Dockerfile": dockerfile})) == []
    no_build = dockerfile.replace("npm ci && npm run build", "npm ci")
    found = rules_found(lint_tree(tmp_path, {**files, "Dockerfile": no_build}))
    assert ("BG-DF001", "Dockerfile", 6) in found


def test_a_helm_template_is_read_as_far_as_it_can_be(tmp_path: Path) -> None:
    template = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ include "web.fullname" . }}
        spec:
          template:
            spec:
              containers:
                - name: web
                  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
                {{- if .Values.sidecar }}
                - name: proxy
                  image: nginx
                {{- end }}
                  resources:
                    {{- toYaml .Values.resources | nindent 12 }}
    """
    report = lint_tree(tmp_path, {"chart/templates/deployment.yaml": template})
    assert rules_found(report) == [("BG-K8S001", "chart/templates/deployment.yaml", 13)]


def test_a_build_in_the_copying_stage_itself_does_not_count(tmp_path: Path) -> None:
    """`RUN npm run build` then `COPY ./dist` in one stage: the COPY still reads the context
    (over what the RUN built); only an earlier stage counts."""
    dockerfile = """
        FROM node:20
        COPY . .
        RUN npm install
        RUN npm run build
        COPY ./dist /usr/share/nginx/html
    """
    files = {"package.json": VITE_PACKAGE, "cloudbuild.yaml": ONLY_DOCKER_BUILD}
    found = rules_found(lint_tree(tmp_path, {**files, "Dockerfile": dockerfile}))
    assert ("BG-DF001", "Dockerfile", 5) in found


def test_a_pipeline_that_builds_dist_but_never_this_image(tmp_path: Path) -> None:
    """A workflow builds dist/ and publishes it elsewhere; nothing builds the image: the
    Dockerfile's COPY dist ships whatever dist/ its builder has."""
    workflow = """
        on: push
        jobs:
          pages:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: npm ci && npm run build
              - uses: actions/upload-pages-artifact@v3
                with: {path: dist}
    """
    files = {"package.json": VITE_PACKAGE, "Dockerfile": COPY_DIST_DOCKERFILE}
    found = rules_found(lint_tree(tmp_path, {**files, ".github/workflows/pages.yml": workflow}))
    assert found == [("BG-DF001", "Dockerfile", 3)]
    compose = workflow.replace(
        "npm ci && npm run build", "npm ci && npm run build && docker compose build web"
    )
    found = rules_found(lint_tree(tmp_path, {**files, ".github/workflows/pages.yml": compose}))
    assert found == []  # an image build lint cannot read, after the build: maybe this one


@pytest.mark.parametrize(
    "action",
    [
        "mr-smithers-excellent/docker-build-push@v6.2\n        with:\n          image: web",
        "some-org/container-image-publish@v1",  # unknown inputs: maybe this Dockerfile's
    ],
)
def test_other_image_build_actions_after_the_build(tmp_path: Path, action: str) -> None:
    workflow = (
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: BUILD\n"
        f"      - uses: {action}\n"
    )
    files = {"package.json": VITE_PACKAGE, "Dockerfile": COPY_DIST_DOCKERFILE}
    built = workflow.replace("BUILD", "npm ci && npm run build")
    assert rules_found(lint_tree(tmp_path, {**files, ".github/workflows/ci.yml": built})) == []
    unbuilt = workflow.replace("BUILD", "npm ci")
    found = rules_found(lint_tree(tmp_path, {**files, ".github/workflows/ci.yml": unbuilt}))
    assert ("BG-DF001", "Dockerfile", 3) in found


def test_a_workflow_pushing_only_latest(tmp_path: Path) -> None:
    workflow = WORKFLOW.format(context="context: .").replace(
        "ghcr.io/o/web:${{ github.sha }}", "ghcr.io/${{ github.repository }}:latest"
    )
    files = {"package.json": VITE_PACKAGE, "Dockerfile": COPY_DIST_DOCKERFILE}
    found = rules_found(lint_tree(tmp_path, {**files, ".github/workflows/ci.yml": workflow}))
    assert found == [("BG-CB002", ".github/workflows/ci.yml", 9)]
