"""The parsers under lint's rules: the Cloud Build and GitHub Actions step graphs, shell
commands, output folders, gcloud's .gcloudignore rules, moby's .dockerignore rules and
BuildKit's Dockerfile parser; and a property test that no text crashes lint."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from linttree import write_tree

from buildguard._lint.actions import parse_workflow
from buildguard._lint.cloudbuild import parse_cloudbuild
from buildguard._lint.dockerfile import parse_dockerfile
from buildguard._lint.errors import ParseFailure
from buildguard._lint.ignorefiles import dockerignore_for, gcloudignore_for
from buildguard._lint.imagerefs import parse_ref
from buildguard._lint.linter import lint_workspace
from buildguard._lint.outputs import USUAL_OUTPUTS, build_outputs
from buildguard._lint.shellcmd import commands
from buildguard._lint.workspace import Workspace, WorkspaceFile, discover
from buildguard._models.lintreport import LintFileKind


def _file(path: str, kind: LintFileKind, text: str) -> WorkspaceFile:
    return WorkspaceFile(path, kind, text)


def _workspace(root: Path, files: dict[str, str]) -> Workspace:
    return discover([write_tree(root, files)])


# ---------------------------------------------------------------- step graphs

CLOUDBUILD = """\
steps:
- id: a
  name: node
  args: ['npm', 'ci']
- id: b
  name: node
  args: ['npm', 'test']
  waitFor: ['-']
- id: c
  name: node
  args: ['npm', 'run', 'build']
  waitFor: ['a']
- name: gcr.io/cloud-builders/docker
  args: ['build', '.']
- id: e
  name: node
  args: ['true']
  waitFor: ['b']
"""


def test_cloud_build_order_and_wait_for() -> None:
    pipeline = parse_cloudbuild(_file("cloudbuild.yaml", "cloudbuild", CLOUDBUILD))
    a, b, c, d, e = pipeline.steps
    assert pipeline.before(a, c) and not pipeline.before(b, c)  # waitFor: [a]
    assert not pipeline.before(a, b)  # '-': at once
    assert all(pipeline.before(s, d) for s in (a, b, c))  # no waitFor: every earlier step
    assert pipeline.before(b, e) and not pipeline.before(c, e) and not pipeline.before(d, e)
    assert [s.line for s in pipeline.steps] == [2, 5, 9, 13, 15]
    assert d.commands[0].argv == ("docker", "build", ".")  # the builder's own tool
    assert d.label == "4 (gcr.io/cloud-builders/docker)" and c.label == "c"


@pytest.mark.parametrize(
    "text",
    ["steps: 3\n", "- a\n", "steps:\n  - just a string\n", "steps: [\n"],
)
def test_cloud_build_that_is_not_a_pipeline_is_a_parse_failure(text: str) -> None:
    with pytest.raises(ParseFailure):
        parse_cloudbuild(_file("cloudbuild.yaml", "cloudbuild", text))


def test_github_jobs_follow_needs_whatever_their_order_in_the_file() -> None:
    workflow = """\
on: push
defaults:
  run:
    working-directory: web
jobs:
  deploy:
    needs: [image]
    runs-on: x
    steps:
      - run: kubectl apply -f k8s/
  image:
    needs: build
    runs-on: x
    steps:
      - uses: actions/download-artifact@v4
      - run: docker build .
  build:
    runs-on: x
    steps:
      - run: npm run build
        working-directory: app
"""
    pipeline = parse_workflow(_file(".github/workflows/ci.yml", "github-actions", workflow))
    labels = [s.label for s in pipeline.steps]
    assert labels[0].startswith("build:") and labels[-1].startswith("deploy:")
    build, _, image, deploy = pipeline.steps
    assert pipeline.before(build, image) and pipeline.before(build, deploy)
    assert build.dir == "app" and image.dir == "web"
    assert pipeline.shares_files(build, image)  # an artifact was downloaded first
    assert not pipeline.shares_files(build, deploy)


def test_a_needs_cycle_is_a_parse_failure() -> None:
    workflow = "on: push\njobs:\n  a: {needs: b, steps: []}\n  b: {needs: a, steps: []}\n"
    with pytest.raises(ParseFailure):
        parse_workflow(_file(".github/workflows/x.yml", "github-actions", workflow))


# ---------------------------------------------------------------- shell commands


def test_shell_commands_with_cd_operators_and_nested_shells() -> None:
    script = (
        "set -e\ncd web && NODE_ENV=production npm ci \\\n  --no-audit\n"
        "bash -c 'cd sub; yarn build' || echo failed | tee log\n"
    )
    found = [(c.argv, c.dir) for c in commands(script, ".")]
    assert found == [
        (("set", "-e"), "."),
        (("npm", "ci", "--no-audit"), "web"),
        (("yarn", "build"), "web/sub"),
        (("echo", "failed"), "web"),
        (("tee", "log"), "web"),
    ]


def test_a_cd_outside_the_workspace_makes_the_folder_unknown() -> None:
    assert commands("cd /tmp && npm run build", ".")[0].dir is None
    assert commands("cd /workspace/web && npm run build", ".")[0].dir == "web"


# ---------------------------------------------------------------- output folders


def _outputs(root: Path, files: dict[str, str], script: str, dir: str = ".") -> Any:
    workspace = _workspace(root, files)
    return [build_outputs(c, workspace) for c in commands(script, dir)]


def test_outputs_follow_package_scripts_and_configs(tmp_path: Path) -> None:
    files = {
        "package.json": '{"scripts": {"build": "tsc && npm run bundle", "bundle": "vite build",'
        ' "lint": "eslint ."}}',
        "vite.config.mjs": "export default defineConfig({ build: { outDir: 'site' } })",
        "admin/angular.json": '{"projects": {"admin": {"architect": {"build": {"options": '
        '{"outputPath": {"base": "dist/admin"}}}}}}}',
        "admin/package.json": '{"scripts": {"build": "ng build --configuration production"}}',
        "shop/package.json": '{"scripts": {"build": "next build && next export"}}',
    }
    script = (
        "npm run build\nnpm run lint\nyarn --cwd admin build\npnpm -C shop run build\n"
        "npx vite build --outDir elsewhere\nnpm run build:prod\nnpm ci\nnpm start"
    )
    assert _outputs(tmp_path, files, script) == [
        ("site",),
        None,
        ("admin/dist/admin",),
        ("shop/.next", "shop/out"),
        ("elsewhere",),
        tuple(USUAL_OUTPUTS),  # a build script package.json does not define: every usual one
        None,
        None,
    ]


def test_monorepo_tools_and_build_scripts(tmp_path: Path) -> None:
    files = {
        "scripts/build.sh": "#!/bin/sh\nset -e\ncd web\nnpm ci\nnpx vite build\n",
        "web/package.json": "{}",
    }
    script = "npx nx build web\nturbo run build --filter=web\nmake dist\nmake test\n"
    script += "./scripts/build.sh\nbash scripts/build.sh\nsh scripts/missing.sh"
    assert _outputs(tmp_path, files, script) == [
        ("*",),
        ("*",),
        ("*",),
        None,
        ("web/dist",),
        ("web/dist",),
        None,
    ]


def test_unknown_project_counts_as_every_usual_output(tmp_path: Path) -> None:
    assert _outputs(tmp_path, {}, "npm run build", "web") == [
        tuple(f"web/{o}" for o in USUAL_OUTPUTS)
    ]
    assert _outputs(tmp_path, {}, "npm run prod\nnpm run test\nyarn lint") == [
        tuple(USUAL_OUTPUTS),  # no package.json: a script that may build is a build
        None,
        None,
    ]
    assert _outputs(tmp_path, {}, "buildguard run --dist web/dist -- npm run build") == [
        ("web/dist", *USUAL_OUTPUTS)
    ]


# ---------------------------------------------------------------- .gcloudignore


def _gcloud(root: Path, text: str, extra: dict[str, str] | None = None) -> Any:
    return gcloudignore_for(_workspace(root, {".gcloudignore": text, **(extra or {})}), ".")


@pytest.mark.parametrize(
    ("patterns", "path", "is_dir", "ignored"),
    [
        ("dist", "dist", True, True),
        ("dist", "web/dist", True, True),  # no leading /: any depth
        ("/dist", "web/dist", True, False),  # anchored
        ("web/dist", "apps/web/dist", True, True),  # gcloud matches right to left
        ("dist/", "dist", False, False),  # folders only
        ("dist", "dist/app.js", False, True),  # an ignored folder's contents
        ("dist\n!dist/index.html", "dist/index.html", False, True),  # cannot re-include
        ("*.map\n!keep.map", "keep.map", False, False),
        ("*\n!src/", "src", True, False),  # the last match decides, folder by folder
        ("*\n!src/", "src/a/b.ts", False, False),  # a leading `*` is one part only
        ("*\n!src/", "package.json", False, True),
        ("*/bar", "foo/bar", False, True),
        ("*/bar", "foo/qux/bar", False, False),
        ("*/bar", "f/qux/bar", False, True),  # gcloud's quirk: a one-character rest passes
        ("/*\n!/src", "src", True, False),
        ("/*\n!/src", "package.json", False, True),
        ("src/**/*.test.ts", "src/a/b.test.ts", False, True),
        ("src/**/*.test.ts", "src/b.ts", False, False),
        ("dist\\ ", "dist ", True, True),  # an escaped trailing space stays
        ("# dist", "dist", True, False),
    ],
)
def test_gcloudignore_rules(
    tmp_path: Path, patterns: str, path: str, is_dir: bool, ignored: bool
) -> None:
    assert _gcloud(tmp_path, patterns + "\n").ignores(path, is_dir=is_dir) is ignored


def test_gcloudignore_include_is_one_level_deep_and_same_folder_only(tmp_path: Path) -> None:
    rules = _gcloud(
        tmp_path,
        "#!include:.gitignore\n#!include:sub/.gitignore\n",
        {".gitignore": "dist/\n#!include:.more\n", ".more": "out/\n", "sub/.gitignore": "x\n"},
    )
    assert rules.includes_gitignore
    assert rules.ignores("dist", is_dir=True)
    assert not rules.ignores("out", is_dir=True)  # an include inside an include is a comment
    assert not rules.ignores("x", is_dir=False)  # only files in the same folder


def test_no_gcloudignore_is_gclouds_generated_default(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path, {".gitignore": "dist/\n"})
    rules = gcloudignore_for(workspace, ".")
    assert rules.file is None and rules.includes_gitignore
    assert rules.ignores(".git", is_dir=True) and rules.ignores("dist", is_dir=True)
    bare = gcloudignore_for(_workspace(tmp_path / "bare", {"a.txt": "x"}), ".")
    assert bare.patterns == () and not bare.ignores("dist", is_dir=True)  # no git: everything


# ---------------------------------------------------------------- .dockerignore


@pytest.mark.parametrize(
    ("patterns", "path", "ignored"),
    [
        ("dist", "dist", True),
        ("dist", "web/dist", False),  # anchored at the context root
        ("/dist/", "dist", True),
        ("**/dist", "web/dist", True),
        ("*\n!dist", "dist", False),  # the last match wins
        ("dist\n!dist/keep", "dist/keep", False),
        ("dist", "dist/a/b.js", True),  # a parent's match covers its contents
        ("d?st", "dist", True),
        ("[a-c]ist", "dist", False),
    ],
)
def test_dockerignore_rules(tmp_path: Path, patterns: str, path: str, ignored: bool) -> None:
    workspace = _workspace(tmp_path, {".dockerignore": patterns + "\n"})
    assert dockerignore_for(workspace, "Dockerfile", ".").ignores(path) is ignored


def test_a_dockerfiles_own_ignore_file_wins(tmp_path: Path) -> None:
    workspace = _workspace(
        tmp_path, {".dockerignore": "dist\n", "web.Dockerfile.dockerignore": "node_modules\n"}
    )
    assert not dockerignore_for(workspace, "web.Dockerfile", ".").ignores("dist")
    assert dockerignore_for(workspace, "Dockerfile", ".").ignores("dist")


# ---------------------------------------------------------------- Dockerfiles


def test_dockerfile_stages_copies_and_runs() -> None:
    text = (
        "# syntax=docker/dockerfile:1\nARG NODE=20\nFROM node:${NODE} AS build\nWORKDIR /app\n"
        "COPY package.json ./\nRUN npm ci && \\\n    npm run build\n"
        "FROM nginx\nCOPY --from=build /app/dist /usr/share/nginx/html\n"
        "ADD https://example.com/a.tgz /tmp/\nADD build.tgz /srv/\n"
        'COPY ["out", "/z"]\nCOPY <<EOF /etc/x\nhello\nEOF\n'
    )
    parsed = parse_dockerfile(_file("Dockerfile", "dockerfile", text))
    build, serve = parsed.stages
    assert (build.name, build.base, build.line) == ("build", "node:${NODE}", 3)
    assert [c.argv for c in build.runs] == [("npm", "ci"), ("npm", "run", "build")]
    assert build.runs[0].dir == "app"
    assert [(c.line, c.sources) for c in build.copies] == [(5, ("package.json",))]
    assert [(c.line, c.instruction, c.sources) for c in serve.copies] == [
        (11, "ADD", ("build.tgz",)),
        (12, "COPY", ("out",)),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "# only a comment\n",
        # found by bench/fuzz.py: the binding returns this flag cut inside a character
        (
            b"FROM a\nCOPY --fG\xba\x89\x8c6\x80\x16^}^B\xa5\x9dO\xc3\xcc\xcf\xa7;\xfb*d#"
            b'\xfa\xe5\xa0\xa7\xf4T\xa1\xfd0FK\xaeF]erom=  /app/"ist /y\n'
        ).decode("utf-8", errors="replace"),
    ],
)
def test_a_dockerfile_the_parser_refuses_is_a_parse_failure(text: str) -> None:
    with pytest.raises(ParseFailure):
        parse_dockerfile(_file("Dockerfile", "dockerfile", text))


# ---------------------------------------------------------------- lint never crashes

_VOCABULARY = [
    "steps",
    "name",
    "args",
    "entrypoint",
    "script",
    "dir",
    "id",
    "waitFor",
    "images",
    "jobs",
    "needs",
    "runs-on",
    "run",
    "uses",
    "with",
    "context",
    "file",
    "tags",
    "push",
    "kind",
    "apiVersion",
    "spec",
    "template",
    "containers",
    "image",
    "-",
    "docker",
    "build",
    "-f",
    "npm run build",
    "docker build -t x .",
    "gcr.io/cloud-builders/docker",
    "Deployment",
    "docker/build-push-action@v6",
    "verify",
    "seal",
    "dist",
    "..",
    "/",
    "$X",
    "${{ a }}",
]
_SCALARS = st.one_of(
    st.sampled_from(_VOCABULARY), st.integers(), st.booleans(), st.none(), st.text(max_size=8)
)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(_VOCABULARY), inner, max_size=4),
    ),
    max_leaves=25,
)
_DOCKERFILE_LINES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "FROM node AS b",
                "FROM nginx",
                "COPY dist /x",
                "COPY --from=b /a /b",
                "RUN npm run build",
                "WORKDIR ..",
                "ADD build /y",
                "RUN <<EOF",
                "EOF",
                "\\",
                "# buildguard-lint: ignore BG-DF001",
                'COPY ["dist", "/z"]',
                "ARG A",
                "COPY $A /q",
                "ONBUILD COPY out /o",
            ]
        ),
        st.text(alphabet=string.printable, max_size=30),
    ),
    max_size=12,
)


def _lint_texts(texts: dict[str, tuple[LintFileKind, str]]) -> None:
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "package.json").write_text('{"scripts": {"build": "vite build"}}')
        files = [WorkspaceFile(path, kind, text) for path, (kind, text) in texts.items()]
        workspace = Workspace(Path(root), files)
        report = lint_workspace(workspace)
        assert all(f.line >= 1 for f in report.findings)


@settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(tree=_TREES, raw=st.text(max_size=200), lines=_DOCKERFILE_LINES)
@example(tree={"kind": []}, raw="\x1f", lines=[])  # found by bigger runs: each was a crash
def test_lint_never_crashes_on_any_yaml_or_dockerfile(
    tree: Any, raw: str, lines: list[str]
) -> None:
    structured = yaml.safe_dump(tree)
    dockerfile = "\n".join(lines)
    _lint_texts(
        {
            "cloudbuild.yaml": ("cloudbuild", structured),
            ".github/workflows/ci.yml": ("github-actions", structured),
            "k8s/app.yaml": ("kubernetes", structured),
            "cloudbuild.raw.yaml": ("cloudbuild", raw),
            ".github/workflows/raw.yml": ("github-actions", raw),
            "Dockerfile": ("dockerfile", dockerfile),
            "raw.Dockerfile": ("dockerfile", raw),
            ".gcloudignore": ("gcloudignore", raw),
            ".dockerignore": ("dockerignore", raw),
        }
    )


@pytest.mark.parametrize(
    ("ref", "mutable"),
    [
        ("gcr.io/p/web", True),
        ("gcr.io/p/web:latest", True),
        ("localhost:5000/web", True),
        ("ghcr.io/${{ github.repository }}:latest", True),  # the tag says it
        ("{{ .Values.registry }}/web:latest", True),
        ("gcr.io/p/web:v5", False),
        ("gcr.io/p/web@sha256:" + "a" * 64, False),
        ("gcr.io/p/web:latest@sha256:" + "a" * 64, False),
        ("gcr.io/p/web:$SHORT_SHA", False),
        ("gcr.io/p/$_IMAGE", False),  # the variable may hold a tag
        ("$(cat /workspace/image.ref)", False),
        ("{{ .Values.image }}", False),
    ],
)
def test_mutable_image_references(ref: str, mutable: bool) -> None:
    assert parse_ref(ref).mutable is mutable


@pytest.mark.parametrize(
    ("step", "argvs"),
    [
        ("name: gcr.io/cloud-builders/npm\n  args: [run, build]", [("npm", "run", "build")]),
        (
            "name: gcr.io/cloud-builders/docker:24\n  args: [push, r/a:1]",
            [("docker", "push", "r/a:1")],
        ),
        ("name: node:20\n  args: [npm, ci]", [("npm", "ci")]),
        (
            "name: node\n  entrypoint: bash\n  args: [-ec, 'npm ci; npm run build']",
            [("npm", "ci"), ("npm", "run", "build")],
        ),
        ("name: node\n  script: |\n    #!/usr/bin/env bash\n    npm ci", [("npm", "ci")]),
        (
            "name: europe-docker.pkg.dev/p/t/buildguard:0.1\n  args: [seal, dist]",
            [("buildguard", "seal", "dist")],
        ),
        (
            "name: gcr.io/kaniko-project/executor@sha256:" + "a" * 64 + "\n  args: [--no-push]",
            [("kaniko", "--no-push")],
        ),
        (
            "name: gcr.io/cloud-builders/docker\n  entrypoint: sh\n  args: [-c, 'docker build .']",
            [("docker", "build", ".")],
        ),
    ],
)
def test_what_a_cloud_build_step_runs(step: str, argvs: list[tuple[str, ...]]) -> None:
    text = f"steps:\n- {step}\n"
    pipeline = parse_cloudbuild(_file("cloudbuild.yaml", "cloudbuild", text))
    assert [c.argv for c in pipeline.steps[0].commands] == argvs


def test_many_documents_each_read_as_itself() -> None:
    """Values are not cached by a node's id() across documents (ids of freed nodes recur)."""
    from buildguard._lint.kubeobjects import workload_images
    from buildguard._lint.yamlfile import load_documents

    documents = "".join(
        f"---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\n"
        f"spec:\n  containers:\n    - name: c\n      image: r/app{i}:{i}\n"
        for i in range(300)
    )
    loaded = load_documents(_file("k8s/pods.yaml", "kubernetes", documents))
    assert [image for image, _, _ in workload_images(loaded)] == [
        f"r/app{i}:{i}" for i in range(300)
    ]
