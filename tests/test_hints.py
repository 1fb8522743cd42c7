"""Hints point to the fix (issue 20, point 7), through the CLI as a user meets them:

- ``run`` takes ``--build-id`` and ``--commit`` as ``record`` does, and its "pass
  --build-id" names a flag that it has;
- an output folder that does not exist names the folders beside it that hold built files
  (a CRA-like ``build/``, a Next-like ``out/``), and the command it suggests works;
- ``docker://REF``, skopeo's ``oci:DIR[:TAG]`` and a bare ``NAME:TAG`` that no registry
  serves get the buildguard form, and the form suggested reads the same image.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from clitools import buildguard_cli
from services import Dockerd

BUILD_ID = "hints-build-0001"
NO_ENV = {"BUILD_ID": "", "COMMIT_SHA": ""}
ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ROOT / "examples/images/layout"


def _app(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "src/index.js").write_text("console.log('app')\n")
    (app / "public").mkdir()  # a source folder with an index.html: never suggested
    (app / "public/index.html").write_text("<html><div id=root></div></html>\n")
    done = buildguard_cli("record", "--build-id", BUILD_ID, cwd=app, env=NO_ENV)
    assert done.returncode == 0, done.stderr
    return app


def _write_build(folder: Path, script_dir: str) -> None:
    """What a bundler writes after the record: an index.html and a script holding the id."""
    (folder / script_dir).mkdir(parents=True)
    (folder / "index.html").write_text(f'<script src="/{script_dir}/main.js"></script>\n')
    (folder / script_dir / "main.js").write_text(f'const id="{BUILD_ID}";\n')


def _hint(stderr: str) -> str:
    found = re.search(r"hint: (.*)", stderr)
    assert found, stderr
    return found.group(1)


def _suggested(hint: str) -> list[str]:
    """The commands a hint names between backticks, as argument lists."""
    return [c.split() for c in re.findall(r"`([^`]*)`", hint)]


@pytest.mark.parametrize(
    ("folder", "script_dir"),
    [("build", "static/js"), ("out", "_next/static/chunks")],  # CRA, Next static export
)
def test_seal_names_the_folder_that_holds_the_build(
    tmp_path: Path, folder: str, script_dir: str
) -> None:
    app = _app(tmp_path)
    _write_build(app / folder, script_dir)
    done = buildguard_cli("seal", "dist", cwd=app)
    assert done.returncode == 1, done.stderr
    assert f"dist does not exist; {folder}/ holds built files" in done.stderr
    assert "produced nothing" not in done.stderr
    hint = _hint(done.stderr)
    assert "public" not in hint and "src" not in hint
    (command,) = _suggested(hint)
    assert command == ["buildguard", "seal", folder]
    followed = buildguard_cli(*command[1:], cwd=app)
    assert followed.returncode == 0, followed.stderr
    assert (app / folder / "buildguard-manifest.json").is_file()


def test_seal_names_every_folder_that_holds_built_files(tmp_path: Path) -> None:
    app = _app(tmp_path)
    _write_build(app / "build", "static/js")
    _write_build(app / "out", "_next/static/chunks")
    (app / "www").mkdir()  # exists but holds nothing built
    (app / "www/readme.txt").write_text("x")
    done = buildguard_cli("seal", "dist", cwd=app)
    assert done.returncode == 1
    assert "build/, out/ hold built files" in done.stderr
    assert _suggested(_hint(done.stderr)) == [
        ["buildguard", "seal", "build"],
        ["buildguard", "seal", "out"],
    ]


def test_seal_of_a_nested_path_suggests_the_nested_sibling(tmp_path: Path) -> None:
    app = _app(tmp_path)
    _write_build(app / "build", "static/js")
    done = buildguard_cli(
        "seal", "app/dist", "--record", "app/.buildguard/record.json", cwd=tmp_path
    )
    assert done.returncode == 1
    (command,) = _suggested(_hint(done.stderr))
    assert command == ["buildguard", "seal", "app/build", "--record", "app/.buildguard/record.json"]
    followed = buildguard_cli(*command[1:], cwd=tmp_path)  # the same record
    assert followed.returncode == 0, followed.stderr


def test_seal_with_nothing_built_anywhere_says_so(tmp_path: Path) -> None:
    app = _app(tmp_path)
    done = buildguard_cli("seal", "dist", cwd=app)
    assert done.returncode == 1
    assert "the build produced nothing" in done.stderr


def test_an_empty_output_folder_names_the_one_that_is_full(tmp_path: Path) -> None:
    app = _app(tmp_path)
    (app / "dist").mkdir()
    _write_build(app / "build", "static/js")
    done = buildguard_cli("seal", "dist", cwd=app)
    assert done.returncode == 1
    assert "dist is empty; build/ holds built files" in done.stderr


# ------------------------------------------------------------------------------ run


def test_run_takes_build_id_and_commit(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "src/a.js").write_text("a\n")
    script = 'mkdir -p dist && echo "const id=\\"$VITE_BUILDGUARD_BUILD_ID\\"" > dist/app.js'
    done = buildguard_cli(
        "run",
        "--build-id",
        "run-flag-build-1",
        "--commit",
        "c0ffee1",
        "--",
        "sh",
        "-c",
        script,
        cwd=app,
        env=NO_ENV,
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((app / "dist/buildguard-manifest.json").read_text())
    assert manifest["build_id"] == "run-flag-build-1"
    assert manifest["commit"] == "c0ffee1"
    assert manifest["canary_files"] == ["app.js"]


def test_run_without_a_build_id_names_its_own_flag(tmp_path: Path) -> None:
    done = buildguard_cli("run", "--", "true", cwd=tmp_path, env=NO_ENV)
    assert done.returncode == 2
    assert "--build-id" in done.stderr
    flags = buildguard_cli("run", "--help").stdout
    for flag in re.findall(r"(--[a-z][a-z-]+)", done.stderr):
        assert flag in flags, f"run's message names {flag}, which run does not take"


def test_run_names_the_folder_its_command_wrote(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "src/a.js").write_text("a\n")
    script = 'mkdir -p build && echo "x=\\"$REACT_APP_BUILDGUARD_BUILD_ID\\"" > build/main.js'
    done = buildguard_cli("run", "--build-id", BUILD_ID, "--", "sh", "-c", script, cwd=app)
    assert done.returncode == 1, done.stderr
    assert "dist does not exist; build/ holds built files" in done.stderr
    assert "buildguard run --dist build -- CMD" in _hint(done.stderr)
    done = buildguard_cli(
        "run", "--build-id", BUILD_ID, "--dist", "build", "--", "sh", "-c", script, cwd=app
    )
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------------------------ IMAGE


def test_skopeo_oci_form_gets_oci_layout_and_that_reads(tmp_path: Path) -> None:
    done = buildguard_cli("inspect", f"oci:{LAYOUT}:fresh")
    assert done.returncode == 2
    hint = _hint(done.stderr)
    assert hint == f"use oci-layout:{LAYOUT}:fresh"
    followed = buildguard_cli("inspect", hint.removeprefix("use "), "--json")
    assert followed.returncode == 0, followed.stderr


def test_skopeo_oci_form_without_tag(tmp_path: Path) -> None:
    done = buildguard_cli("verify", "oci:some/dir", "--expect-build-id", "x")
    assert done.returncode == 2
    assert _hint(done.stderr) == "use oci-layout:some/dir"


@pytest.mark.parametrize(
    "rest", ["127.0.0.1:5999/team/app:v1", "europe-docker.pkg.dev/p/r/app@sha256:" + "a" * 64]
)
def test_docker_scheme_gets_the_registry_and_daemon_forms(rest: str) -> None:
    done = buildguard_cli("inspect", f"docker://{rest}")
    assert done.returncode == 2
    assert _hint(done.stderr) == (
        f"use {rest} (a registry) or docker-daemon:{rest} (the local Docker daemon)"
    )


@pytest.mark.parametrize(
    ("rest", "registry"),
    [("myapp:1.0", "docker.io/library/myapp:1.0"), ("team/app:v1", "docker.io/team/app:v1")],
)
def test_docker_scheme_without_a_host_means_docker_hub(rest: str, registry: str) -> None:
    """skopeo's docker://NAME is Docker Hub; the registry form buildguard suggests must name
    it, since buildguard refuses a bare NAME:TAG."""
    done = buildguard_cli("inspect", f"docker://{rest}")
    assert done.returncode == 2
    hint = _hint(done.stderr)
    assert hint == (
        f"use {registry} (a registry) or docker-daemon:{rest} (the local Docker daemon)"
    )
    # the suggested registry form is one buildguard takes (parsed, never fetched here)
    from buildguard._image.reference import parse_reference

    assert parse_reference(registry).registry == "docker.io"


def test_oci_archive_gets_a_way_to_a_layout() -> None:
    done = buildguard_cli("inspect", "oci-archive:/tmp/x.tar")
    assert done.returncode == 2
    assert "oci-layout:DIR:TAG" in _hint(done.stderr)


@pytest.mark.parametrize("name", ["bg-hints-no-such-app:1", "bg-hints/no-such-app:1"])
def test_a_bare_name_suggests_docker_daemon(name: str) -> None:
    done = buildguard_cli("inspect", name)
    assert done.returncode == 2
    assert f"docker-daemon:{name}" in _hint(done.stderr)


def test_a_bare_name_hint_reads_the_image_from_the_daemon(
    dockerd: Dockerd, base_image: str
) -> None:
    dockerd.docker("tag", base_image, "bg-hints-app:1")
    done = buildguard_cli("inspect", "bg-hints-app:1", env=dockerd.env)
    assert done.returncode == 2
    suggested = re.search(r"docker-daemon:\S+?(?=;|$)", _hint(done.stderr))
    assert suggested and suggested.group(0) == "docker-daemon:bg-hints-app:1"
    followed = buildguard_cli("inspect", suggested.group(0), "--json", env=dockerd.env)
    assert followed.returncode == 0, followed.stderr
    assert json.loads(followed.stdout)["image"]["reference"] == "docker-daemon:bg-hints-app:1"
