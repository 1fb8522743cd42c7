"""Exit codes 0/1/2 through the installed console script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitools import buildguard_cli

BUILD_ID = "cli-build-42"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "src").mkdir(parents=True)
    (root / "src/main.js").write_text("console.log(1)\n")
    return root


def write_bundle(app: Path, build_id: str) -> None:
    (app / "dist").mkdir(exist_ok=True)
    (app / "dist/index.js").write_text(f'const id="{build_id}";\n')


def test_record_and_seal_exit_0(app: Path) -> None:
    done = buildguard_cli(
        "record", "--clean", "dist", "--commit", "abc", cwd=app, env={"BUILD_ID": BUILD_ID}
    )
    assert done.returncode == 0, done.stderr
    assert "recorded 1 source files" in done.stdout
    write_bundle(app, BUILD_ID)
    done = buildguard_cli("seal", "dist", "--require-canary", cwd=app)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((app / "dist/buildguard-manifest.json").read_text())
    assert manifest["build_id"] == BUILD_ID and manifest["commit"] == "abc"


def test_seal_failed_check_exit_1(app: Path) -> None:
    buildguard_cli("record", cwd=app, env={"BUILD_ID": BUILD_ID})
    write_bundle(app, "some-other-build")
    done = buildguard_cli("seal", "dist", cwd=app)
    assert done.returncode == 1
    assert "canary missing" in done.stderr
    assert not (app / "dist/buildguard-manifest.json").exists()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["record"], {"BUILD_ID": ""}, "no build id"),
        (["seal", "dist", "--no-canary", "--require-canary"], {}, "not allowed with"),
        (["seal", "dist", "--record", "missing.json"], {}, "no record at missing.json"),
        (["record", "--clean", "."], {"BUILD_ID": BUILD_ID}, "refusing to clean"),
        (["frobnicate"], {}, "invalid choice"),
    ],
)
def test_usage_errors_exit_2(app: Path, args: list[str], env: dict[str, str], message: str) -> None:
    write_bundle(app, BUILD_ID)
    done = buildguard_cli(*args, cwd=app, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert (app / "src/main.js").exists()


def test_run_passes_the_build_commands_code_through_and_seals_nothing(app: Path) -> None:
    done = buildguard_cli(
        "run",
        "--",
        "sh",
        "-c",
        "mkdir -p dist; echo x > dist/a.js; exit 7",
        cwd=app,
        env={"BUILD_ID": BUILD_ID},
    )
    assert done.returncode == 7
    assert not (app / "dist/buildguard-manifest.json").exists()


def test_run_gives_the_command_the_build_env_and_seals(app: Path) -> None:
    script = 'mkdir -p dist && echo "const id=\\"$VITE_BUILDGUARD_BUILD_ID\\"" > dist/app.js'
    (app / "dist").mkdir()
    (app / "dist/stale.js").write_text("old")
    done = buildguard_cli("run", "--", "sh", "-c", script, cwd=app, env={"BUILD_ID": BUILD_ID})
    assert done.returncode == 0, done.stderr
    manifest = json.loads((app / "dist/buildguard-manifest.json").read_text())
    assert [f["path"] for f in manifest["files"]] == ["app.js"], "run cleans dist first"
    assert manifest["canary_files"] == ["app.js"]


def test_run_refused_seal_exit_1(app: Path) -> None:
    done = buildguard_cli(
        "run",
        "--",
        "sh",
        "-c",
        "mkdir -p dist && echo x > dist/a.js",
        cwd=app,
        env={"BUILD_ID": BUILD_ID},
    )
    assert done.returncode == 1
    assert "canary missing" in done.stderr
