"""The records verify trusts, end to end through the installed CLI (issue 20, points 2, 3):

- a workspace kept between builds (a real git checkout) whose HEAD moved two commits past
  the default record: verify refuses that record (exit 2) instead of passing the old image;
- a monorepo: two apps, two records (``record --out``), two sealed bundles in one image
  (built by the real dockerd, and written as an OCI layout), verified with ``--record`` once
  per app;
- ``record`` refusing to overwrite the other app's record of the same build.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
from clitools import buildguard_cli
from services import Dockerd
from workspaces import commit_all, init_repo, layout_of, write_dist

BUILD = "e2e-records-build-0001"
NEXT_BUILD = "e2e-records-build-0002"
COMMIT = "d" * 40
NO_BUILD_ENV = {"BUILD_ID": "", "COMMIT_SHA": ""}


def ok(done: subprocess.CompletedProcess[str], code: int = 0) -> subprocess.CompletedProcess[str]:
    assert done.returncode == code, done.stdout + done.stderr
    return done


def test_a_leftover_record_of_an_older_commit_fails_verify_instead_of_passing(
    tmp_path: Path,
) -> None:
    work = tmp_path / "workspace"
    init_repo(work)
    (work / ".gitignore").write_text("dist/\n.buildguard/\n")
    (work / "src").mkdir()
    (work / "src" / "main.js").write_text("export const v = 1\n")
    recorded = commit_all(work, "v1")
    ok(
        buildguard_cli(
            "record", "--clean", "dist", cwd=work, env={**NO_BUILD_ENV, "BUILD_ID": BUILD}
        )
    )
    write_dist(work / "dist", BUILD, "main")
    ok(buildguard_cli("seal", "dist", cwd=work))
    image = layout_of(tmp_path / "layout", {"usr/share/nginx/html": work / "dist"})

    # the build that made the record: its own default record names the build
    ok(buildguard_cli("verify", image, cwd=work, env=NO_BUILD_ENV))

    # two commits later, a build that did not run record: the old image must not pass
    for version in (2, 3):
        (work / "src" / "main.js").write_text(f"export const v = {version}\n")
        head = commit_all(work, f"v{version}")
    done = ok(buildguard_cli("verify", image, cwd=work, env=NO_BUILD_ENV), 2)
    assert recorded in done.stderr and head in done.stderr
    assert "buildguard record" in done.stderr and "--record" in done.stderr
    assert "Traceback" not in done.stderr

    # as before: the record given explicitly, or the build id from the environment
    ok(
        buildguard_cli(
            "verify", image, "--record", ".buildguard/record.json", cwd=work, env=NO_BUILD_ENV
        )
    )
    ok(buildguard_cli("verify", image, cwd=work, env={**NO_BUILD_ENV, "BUILD_ID": BUILD}))
    # ... and a new build id from the environment fails the old image (exit 1, not 2)
    done = ok(
        buildguard_cli("verify", image, cwd=work, env={**NO_BUILD_ENV, "BUILD_ID": NEXT_BUILD}), 1
    )
    assert "BUILD_ID_MISMATCH" in done.stdout


def _app(work: Path, name: str, source: str) -> None:
    (work / "apps" / name / "src").mkdir(parents=True, exist_ok=True)
    (work / "apps" / name / "src" / "main.js").write_text(source)


def _record_and_seal(work: Path, app: str, out: str, env: dict[str, str]) -> None:
    dist = f"apps/{app}/dist"
    ok(buildguard_cli("record", f"apps/{app}", "--out", out, "--clean", dist, cwd=work, env=env))
    write_dist(work / dist, env["BUILD_ID"], app)
    ok(buildguard_cli("seal", dist, "--record", out, cwd=work, env=env))


def _verify_json(
    image: str, *args: str, cwd: Path, code: int, env: Mapping[str, str] | None = None
) -> dict:  # type: ignore[type-arg]
    done = buildguard_cli(
        "verify", image, *args, "--json", cwd=cwd, env={**(env or {}), **NO_BUILD_ENV}
    )
    return json.loads(ok(done, code).stdout)  # type: ignore[no-any-return]


BOTH = ("--record", ".buildguard/a.json", "--record", ".buildguard/b.json")
ENV = {"BUILD_ID": BUILD, "COMMIT_SHA": COMMIT}


def _two_apps(work: Path) -> None:
    """Apps a and b recorded (each to its own --out), built and sealed in one build."""
    _app(work, "a", "export const app = 'a'\n")
    _app(work, "b", "export const app = 'b'\n")
    _record_and_seal(work, "a", ".buildguard/a.json", ENV)
    _record_and_seal(work, "b", ".buildguard/b.json", ENV)


def _change_b(work: Path) -> None:
    """App b's bundle rebuilt from sources neither a.json nor b.json holds (recorded apart)."""
    _app(work, "b", "export const app = 'b, changed'\n")
    _record_and_seal(work, "b", ".buildguard/b-changed.json", ENV)


def _passes(report: dict) -> None:  # type: ignore[type-arg]
    assert {b["root"]: b["record"] for b in report["bundles"]} == {
        "/srv/a": ".buildguard/a.json",
        "/srv/b": ".buildguard/b.json",
    }
    assert [r["name"] for r in report["expected"]["records"]] == [
        ".buildguard/a.json",
        ".buildguard/b.json",
    ]
    assert report["findings"] == []


def _b_mismatches(report: dict) -> None:  # type: ignore[type-arg]
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert [(f["code"], f["bundle"]) for f in errors] == [("SOURCE_MISMATCH", "/srv/b")]
    assert ".buildguard/a.json" in errors[0]["message"]
    assert ".buildguard/b.json" in errors[0]["message"]
    assert errors[0]["hint"]


@pytest.mark.docker
def test_a_monorepo_image_built_by_dockerd_verifies_each_app_against_its_record(
    tmp_path: Path, dockerd: Dockerd, base_image: str
) -> None:
    work = tmp_path / "mono"
    _two_apps(work)
    dockerfile = [f"FROM {base_image}", "COPY apps/a/dist /srv/a", "COPY apps/b/dist /srv/b"]
    (work / "Dockerfile").write_text("\n".join(dockerfile) + "\n")
    dockerd.build(work, "records20/mono:good", "--no-cache")
    daemon = dockerd.env
    _passes(_verify_json("docker-daemon:records20/mono:good", *BOTH, cwd=work, code=0, env=daemon))

    _change_b(work)
    dockerd.build(work, "records20/mono:swapped", "--no-cache")
    swapped = "docker-daemon:records20/mono:swapped"
    _b_mismatches(_verify_json(swapped, *BOTH, cwd=work, code=1, env=daemon))


def test_a_monorepo_verifies_each_app_against_its_own_record(tmp_path: Path) -> None:
    work = tmp_path / "mono"
    _two_apps(work)
    serve = {"srv/a": work / "apps/a/dist", "srv/b": work / "apps/b/dist"}
    image = layout_of(tmp_path / "good", serve)
    _passes(_verify_json(image, *BOTH, cwd=work, code=0))

    # one app's bundle built from sources neither record holds (b changed and recorded apart)
    _change_b(work)
    swapped = layout_of(tmp_path / "swapped", serve)
    _b_mismatches(_verify_json(swapped, *BOTH, cwd=work, code=1))
    done = ok(buildguard_cli("verify", swapped, *BOTH, cwd=work, env=NO_BUILD_ENV), 1)
    assert "SOURCE_MISMATCH" in done.stdout and ".buildguard/b.json" in done.stdout

    # records of two builds given together: exit 2, naming both
    _record_and_seal(work, "b", ".buildguard/next.json", {**ENV, "BUILD_ID": NEXT_BUILD})
    done = ok(
        buildguard_cli(
            "verify",
            image,
            "--record",
            ".buildguard/a.json",
            "--record",
            ".buildguard/next.json",
            cwd=work,
            env=NO_BUILD_ENV,
        ),
        2,
    )
    assert BUILD in done.stderr and NEXT_BUILD in done.stderr
    # ... also with --from-build, refused before the build is read
    done = ok(
        buildguard_cli(
            "verify",
            "--from-build",
            BUILD,
            "--record",
            ".buildguard/a.json",
            "--record",
            ".buildguard/next.json",
            cwd=work,
            env={**NO_BUILD_ENV, "BUILDGUARD_CLOUDBUILD_EMULATOR_HOST": "127.0.0.1:9"},
        ),
        2,
    )
    assert BUILD in done.stderr and NEXT_BUILD in done.stderr


def test_record_refuses_to_overwrite_the_other_apps_record_of_the_same_build(
    tmp_path: Path,
) -> None:
    work = tmp_path / "mono"
    env = {"BUILD_ID": BUILD, "COMMIT_SHA": COMMIT}
    _app(work, "a", "export const app = 'a'\n")
    _app(work, "b", "export const app = 'b'\n")
    ok(buildguard_cli("record", "apps/a", cwd=work, env=env))
    written = (work / ".buildguard/record.json").read_bytes()
    done = ok(buildguard_cli("record", "apps/b", cwd=work, env=env), 2)
    assert "--out" in done.stderr and "apps/a" in done.stderr
    assert (work / ".buildguard/record.json").read_bytes() == written

    # the same app again, and a new build in the kept workspace, overwrite as before
    ok(buildguard_cli("record", "apps/a", cwd=work, env=env))
    ok(buildguard_cli("record", "apps/b", cwd=work, env={**ENV, "BUILD_ID": NEXT_BUILD}))
    rec = json.loads((work / ".buildguard/record.json").read_text())
    assert rec["build_id"] == NEXT_BUILD and rec["source_root"].endswith("apps/b")
