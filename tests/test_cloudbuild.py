"""``verify --from-build`` and ``--mark-verified`` through the CLI (in-process), with the
real ``google-cloud-build`` client (REST) talking to a loopback stand-in of the Cloud Build
API (tests/support/cloudbuild_standin.py) reached through $BUILDGUARD_CLOUDBUILD_EMULATOR_HOST, and
images built and pushed by the real dockerd to the real loopback registry."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from clitools import console_script
from cloudbuild_standin import CloudBuildStandIn, build_json
from cloudimages import (
    BUILD,
    COMMIT,
    DOCKER_LIST,
    DOCKER_V2,
    OLD_BUILD,
    OLD_COMMIT,
    Images,
    build_and_push,
    index_of,
    sealed_dist,
    tag_digest,
)
from faultproxy import Fault, FaultProxy
from metadata_server import MetadataServer
from registryhelpers import put_manifest
from services import AuthRegistry, Dockerd, Registry, start_auth_registry

import buildguard
from buildguard._cli import main
from buildguard._cli.logs import configure

pytestmark = pytest.mark.docker

PROJECT = "cb-test-project"
REGION = "europe-west1"


@dataclass
class Run:
    code: int
    out: str
    err: str


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


@pytest.fixture(scope="module")
def images(
    dockerd: Dockerd, registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Images:
    root = tmp_path_factory.mktemp("cloud-images")
    fresh = sealed_dist(root / "fresh", BUILD, COMMIT)
    old = sealed_dist(root / "old", OLD_BUILD, OLD_COMMIT)
    host = registry.host
    digests = {
        name: build_and_push(dockerd, dist, root / f"ctx-{name}", f"{host}/cb/{repo}:{name}")
        for name, repo, dist in (
            ("fresh", "app", fresh),
            ("web", "web", fresh),
            ("stale", "app", old),
        )
    }
    return Images(
        host,
        f"{host}/cb/app@{digests['fresh']}",
        f"{host}/cb/web@{digests['web']}",
        f"{host}/cb/app@{digests['stale']}",
    )


@pytest.fixture(scope="module")
def cloudbuild() -> Iterator[CloudBuildStandIn]:
    with CloudBuildStandIn() as server:
        yield server


@pytest.fixture(autouse=True)
def environment(
    cloudbuild: CloudBuildStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    for name in (
        "LOCATION",
        "BUILD_ID",
        "COMMIT_SHA",
        "GOOGLE_CLOUD_PROJECT",
        "BUILDGUARD_GOOGLE_REGISTRIES",
        "BUILDGUARD_LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BUILDGUARD_CLOUDBUILD_EMULATOR_HOST", cloudbuild.host)
    monkeypatch.setenv("PROJECT_ID", PROJECT)
    # ADC would fail if the client looked for it: the emulator must make it anonymous.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-adc.json"))
    (tmp_path / "docker-config").mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.chdir(tmp_path)
    yield
    configure(0)


def add_build(
    cloudbuild: CloudBuildStandIn,
    build_id: str,
    refs: list[str],
    region: str | None = None,
    **kwargs: object,
) -> None:
    pushed = [(ref.split("@")[0] + ":latest", ref.split("@")[1]) for ref in refs]
    kwargs.setdefault("commit", COMMIT)
    cloudbuild.add(
        build_json(build_id, PROJECT, pushed, region=region, **kwargs),  # type: ignore[arg-type]
        region=region,
    )


# --------------------------------------------------------------------------- --from-build


def test_fresh_global_build_passes(
    cloudbuild: CloudBuildStandIn, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    add_build(cloudbuild, BUILD, [images.fresh])
    run = cli(capsys, "verify", "--from-build", BUILD, "--json")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["verdict"] == "pass" and report["ok"] is True
    assert report["build"]["commit_source"] == "sourceProvenance.resolvedRepoSource.commitSha"
    assert [i["reference"] for i in report["images"]] == [images.fresh]
    assert report["images"][0]["report"]["expected"]["build_id"] == BUILD
    assert ("GET", f"/v1/projects/{PROJECT}/builds/{BUILD}") in [r[:2] for r in cloudbuild.requests]
    assert cloudbuild.requests[-1][2]["$alt"] == ["json;enum-encoding=int"]
    # the emulator means anonymous credentials: no Authorization reached the stand-in
    assert all("authorization" not in h for h in cloudbuild.headers)


@pytest.mark.parametrize("how", ["--region", "$LOCATION"])
def test_regional_build(
    cloudbuild: CloudBuildStandIn,
    images: Images,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    add_build(cloudbuild, BUILD, [images.fresh], region=REGION)
    args = ["--region", REGION] if how == "--region" else []
    if how == "$LOCATION":
        monkeypatch.setenv("LOCATION", REGION)
    run = cli(capsys, "verify", "--from-build", BUILD, *args)
    assert run.code == 0, run.err
    assert cloudbuild.requests[-1][1] == f"/v1/projects/{PROJECT}/locations/{REGION}/builds/{BUILD}"
    assert f"region {REGION}" in run.out


def test_build_with_an_older_bundle_fails_naming_the_image(
    cloudbuild: CloudBuildStandIn, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    add_build(cloudbuild, BUILD, [images.stale])
    run = cli(capsys, "verify", "--from-build", BUILD)
    assert run.code == 1, run.err
    assert f"image {images.stale}: FAIL" in run.out
    assert "BUILD_ID_MISMATCH" in run.out and OLD_BUILD in run.out


def test_two_images_one_stale_names_only_that_one(
    cloudbuild: CloudBuildStandIn, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    add_build(cloudbuild, BUILD, [images.web, images.stale, images.fresh])
    run = cli(capsys, "verify", "--from-build", BUILD, "--json")
    assert run.code == 1
    report = json.loads(run.out)
    assert [i["reference"] for i in report["images"]] == [images.web, images.stale, images.fresh]
    assert [i["verdict"] for i in report["images"]] == ["pass", "fail", "pass"]
    assert report["verdict"] == "fail"
    failing = [line for line in run.err.splitlines() if line.endswith(": FAIL")]
    assert failing == [f"image {images.stale}: FAIL"]


def test_from_build_writes_junit_per_image(
    cloudbuild: CloudBuildStandIn,
    images: Images,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    import xml.etree.ElementTree as ET

    add_build(cloudbuild, BUILD, [images.fresh, images.stale])
    junit = tmp_path / "junit.xml"
    run = cli(capsys, "verify", "--from-build", BUILD, "--junit", str(junit))
    assert run.code == 1
    suites = ET.parse(junit).getroot()
    failed = {s.get("name", "") for s in suites if s.get("failures") != "0"}
    assert failed and all(images.stale in name for name in failed)
    assert any(images.fresh in (s.get("name") or "") for s in suites)
    assert int(suites.get("failures", "0")) >= 1


def test_unknown_build_is_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    run = cli(capsys, "verify", "--from-build", "no-such-build")
    assert run.code == 3
    assert "cannot read build no-such-build in project cb-test-project: not found" in run.err


def test_unknown_build_is_an_error_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report, junit = tmp_path / "r.json", tmp_path / "j.xml"
    run = cli(
        capsys,
        "verify",
        "--from-build",
        "no-such-build",
        "--json",
        "--report",
        str(report),
        "--junit",
        str(junit),
    )
    assert run.code == 3
    document = json.loads(run.out)
    assert document["ok"] is False and document["error"]["kind"] == "unreadable"
    assert "no-such-build" in document["error"]["message"]
    assert json.loads(report.read_text()) == document
    import xml.etree.ElementTree as ET

    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and "--from-build" not in (suite.get("name") or "x")
    assert "no-such-build" in (suite.get("name") or "")
    case = suite.find("testcase")
    assert case is not None and case.find("error") is not None


def test_unfinished_build_is_exit_3(
    cloudbuild: CloudBuildStandIn, images: Images, capsys: pytest.CaptureFixture[str]
) -> None:
    add_build(cloudbuild, "b-working", [images.fresh], status="WORKING")
    run = cli(capsys, "verify", "--from-build", "b-working")
    assert run.code == 3
    assert "has not finished (status WORKING)" in run.err


def test_build_without_images_fails(
    cloudbuild: CloudBuildStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    add_build(cloudbuild, "b-empty", [])
    run = cli(capsys, "verify", "--from-build", "b-empty")
    assert run.code == 1
    assert "NOTHING_CHECKED" in run.out and "pushed no images" in run.out


@pytest.mark.parametrize(
    ("field", "source"),
    [
        ("resolvedGitSource", "sourceProvenance.resolvedGitSource.revision"),
        ("resolvedConnectedRepository", "sourceProvenance.resolvedConnectedRepository.revision"),
        ("substitution", "substitutions.COMMIT_SHA"),
    ],
)
def test_commit_from_every_source(
    cloudbuild: CloudBuildStandIn,
    images: Images,
    capsys: pytest.CaptureFixture[str],
    field: str,
    source: str,
) -> None:
    results = []
    for commit in (COMMIT, "d" * 40):
        if field == "substitution":
            add_build(
                cloudbuild, BUILD, [images.fresh], commit=None, substitutions={"COMMIT_SHA": commit}
            )
        else:
            add_build(cloudbuild, BUILD, [images.fresh], commit=commit, commit_field=field)
        results.append(cli(capsys, "verify", "--from-build", BUILD, "--json"))
    good, wrong = results
    assert good.code == 0, good.err
    assert json.loads(good.out)["build"]["commit_source"] == source
    assert wrong.code == 1 and "COMMIT_MISMATCH" in wrong.err


def test_the_commit_source_order(
    cloudbuild: CloudBuildStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    """All sources present, the first of the contract's order wins (no image: cheap)."""
    sources = [
        ("resolvedRepoSource", "commitSha", "1" * 40),
        ("resolvedGitSource", "revision", "2" * 40),
        ("resolvedConnectedRepository", "revision", "3" * 40),
    ]
    seen = []
    for first in range(len(sources) + 1):
        doc = build_json("b-order", PROJECT, [], substitutions={"COMMIT_SHA": "4" * 40})
        doc["sourceProvenance"] = {f: {k: v} for f, k, v in sources[first:]}
        cloudbuild.add(doc)
        run = cli(capsys, "verify", "--from-build", "b-order", "--json")
        assert run.code == 1  # nothing pushed
        build = json.loads(run.out)["build"]
        seen.append((build["commit_source"], build["commit"]))
    assert seen == [
        ("sourceProvenance.resolvedRepoSource.commitSha", "1" * 40),
        ("sourceProvenance.resolvedGitSource.revision", "2" * 40),
        ("sourceProvenance.resolvedConnectedRepository.revision", "3" * 40),
        ("substitutions.COMMIT_SHA", "4" * 40),
    ]


def test_the_project_defaults(
    cloudbuild: CloudBuildStandIn,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """--project, then $PROJECT_ID, then $GOOGLE_CLOUD_PROJECT, then the ADC project."""
    from metadata_server import PROJECT_ID as ADC_PROJECT

    for project in ("given", "from-env", "from-google-env", ADC_PROJECT):
        cloudbuild.add(build_json("b-project", project, []))

    def asked(*args: str) -> str:
        run = cli(capsys, "verify", "--from-build", "b-project", *args)
        assert run.code == 1, run.err
        return cloudbuild.requests[-1][1]

    monkeypatch.setenv("PROJECT_ID", "from-env")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "from-google-env")
    assert asked("--project", "given") == "/v1/projects/given/builds/b-project"
    assert asked() == "/v1/projects/from-env/builds/b-project"
    monkeypatch.delenv("PROJECT_ID")
    assert asked() == "/v1/projects/from-google-env/builds/b-project"
    # the ADC project, from a loopback metadata server (google-auth reads it at import)
    (tmp_path / "home").mkdir()
    with MetadataServer("ya29.unused") as metadata:
        env = clean_env(
            **metadata.environ(),
            HOME=str(tmp_path / "home"),
            CLOUDSDK_CONFIG=str(tmp_path / "home" / "gcloud"),
            BUILDGUARD_CLOUDBUILD_EMULATOR_HOST=cloudbuild.host,
        )
        done = subprocess.run(
            [console_script(), "verify", "--from-build", "b-project"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    assert done.returncode == 1, done.stderr
    assert cloudbuild.requests[-1][1] == f"/v1/projects/{ADC_PROJECT}/builds/b-project"


def test_the_default_record_is_ignored(
    cloudbuild: CloudBuildStandIn,
    images: Images,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = tmp_path / "other-src"
    other.mkdir()
    (other / "x.js").write_text("another build's sources\n")
    buildguard.record(
        other,
        buildguard.RecordOptions(
            out=".buildguard/record.json", env_file=None, build_id=BUILD, commit=COMMIT
        ),
    )
    plain = cli(capsys, "verify", images.fresh)  # picks the record up: another source digest
    assert plain.code == 1 and "SOURCE_MISMATCH" in plain.out
    add_build(cloudbuild, BUILD, [images.fresh])
    run = cli(capsys, "verify", "--from-build", BUILD)
    assert run.code == 0, run.out + run.err


def test_from_build_usage_errors(capsys: pytest.CaptureFixture[str], images: Images) -> None:
    for args in (
        ["verify"],
        ["verify", images.fresh, "--from-build", "x"],
        ["verify", "--from-build", "x", "--expect-build-id", "y"],
        ["verify", images.fresh, "--region", REGION],
        ["verify", "oci-layout:/nowhere", "--mark-verified", "v"],
    ):
        assert cli(capsys, *args).code == 2, args


# --------------------------------------------------------------------------- --mark-verified


def test_mark_verified_after_a_passing_build_only(
    cloudbuild: CloudBuildStandIn,
    images: Images,
    registry: Registry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_build(cloudbuild, BUILD, [images.fresh, images.web])
    run = cli(capsys, "verify", "--from-build", BUILD, "--mark-verified", "verified", "--json")
    assert run.code == 0, run.err
    assert tag_digest(registry.url, "cb/app", "verified") == images.fresh.split("@")[1]
    assert tag_digest(registry.url, "cb/web", "verified") == images.web.split("@")[1]
    marks = [i["mark"] for i in json.loads(run.out)["images"]]
    assert [m["via"] for m in marks] == ["registry-api", "registry-api"]

    add_build(cloudbuild, BUILD, [images.web, images.stale])
    run = cli(capsys, "verify", "--from-build", BUILD, "--mark-verified", "nope")
    assert run.code == 1
    assert tag_digest(registry.url, "cb/web", "nope") is None  # not even the passing image


def test_mark_verified_single_image_and_platform_all_tags_the_index(
    images: Images, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = images.fresh.split("@")[1]
    manifest = httpx.get(
        f"{registry.url}/v2/cb/app/manifests/{digest}",
        timeout=30,
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    ).content
    index = index_of(digest, len(manifest))
    media = "application/vnd.docker.distribution.manifest.list.v2+json"
    with httpx.Client(timeout=30) as client:
        index_digest = put_manifest(client, registry.url, "cb/app", "multi", index, media, {})
    expect = ("--expect-build-id", BUILD, "--expect-commit", COMMIT)
    ref = f"{registry.host}/cb/app:multi"
    run = cli(capsys, "verify", ref, *expect, "--platform", "all", "--mark-verified", "all-ok")
    assert run.code == 0, run.out + run.err
    assert tag_digest(registry.url, "cb/app", "all-ok") == index_digest
    assert f"marked: {registry.host}/cb/app:all-ok -> {index_digest}" in run.out
    run = cli(capsys, "verify", ref, *expect, "--mark-verified", "amd64-ok")
    assert run.code == 0, run.out + run.err
    assert tag_digest(registry.url, "cb/app", "amd64-ok") == digest  # the platform's manifest
    run = cli(capsys, "verify", images.stale, *expect, "--mark-verified", "stale-ok")
    assert run.code == 1
    assert tag_digest(registry.url, "cb/app", "stale-ok") is None


def push_index(registry: Registry, platform_manifest: str, tag: str, archs: tuple[str, ...]) -> str:
    """An index over the image ``platform_manifest`` (a digest in cb/app) for ``archs``."""
    manifest = httpx.get(
        f"{registry.url}/v2/cb/app/manifests/{platform_manifest}",
        timeout=30,
        headers={"Accept": DOCKER_V2},
    ).content
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_LIST,
            "manifests": [
                {
                    "mediaType": DOCKER_V2,
                    "digest": platform_manifest,
                    "size": len(manifest),
                    "platform": {"os": "linux", "architecture": arch},
                }
                for arch in archs
            ],
        }
    ).encode()
    with httpx.Client(timeout=30) as client:
        return put_manifest(client, registry.url, "cb/app", tag, index, DOCKER_LIST, {})


def test_platform_all_tags_the_index_even_of_one_platform(
    images: Images, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    index_digest = push_index(registry, images.fresh.split("@")[1], "single", ("amd64",))
    run = cli(
        capsys,
        "verify",
        f"{registry.host}/cb/app:single",
        "--expect-build-id",
        BUILD,
        "--expect-commit",
        COMMIT,
        "--platform",
        "all",
        "--mark-verified",
        "one-ok",
        "--json",
    )
    assert run.code == 0, run.err
    assert json.loads(run.out)["image"]["digest"] == index_digest
    assert tag_digest(registry.url, "cb/app", "one-ok") == index_digest


def test_from_build_marks_the_digest_it_verified(
    cloudbuild: CloudBuildStandIn,
    images: Images,
    registry: Registry,
    capsys: pytest.CaptureFixture[str],
) -> None:
    platform_digest = images.fresh.split("@")[1]
    index_digest = push_index(registry, platform_digest, "both", ("amd64", "arm64"))
    add_build(cloudbuild, BUILD, [f"{registry.host}/cb/app@{index_digest}"])
    run = cli(capsys, "verify", "--from-build", BUILD, "--mark-verified", "amd64-built")
    assert run.code == 0, run.err
    # only linux/amd64 was verified: the index (which names arm64 too) is not marked
    assert tag_digest(registry.url, "cb/app", "amd64-built") == platform_digest
    run = cli(
        capsys, "verify", "--from-build", BUILD, "--platform", "all", "--mark-verified", "all-built"
    )
    assert run.code == 0, run.err
    assert tag_digest(registry.url, "cb/app", "all-built") == index_digest


def test_a_failed_mark_is_exit_3_and_says_the_verify_passed(
    images: Images, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    with FaultProxy(registry.url) as proxy:
        proxy.add(
            Fault(
                "status",
                method="PUT",
                status=403,
                times=None,
                body=b'{"errors":[{"code":"DENIED","message":"read-only"}]}',
            )
        )
        ref = images.fresh.replace(registry.host, proxy.host)
        started = time.monotonic()
        run = cli(
            capsys,
            "verify",
            ref,
            "--expect-build-id",
            BUILD,
            "--expect-commit",
            COMMIT,
            "--mark-verified",
            "verified",
        )
    assert run.code == 3
    assert time.monotonic() - started < 30
    assert run.out.startswith("PASS: ")
    assert "the verify passed, but 'verified' could not be put on" in run.err
    assert "HTTP 403 DENIED: read-only" in run.err


def test_a_failed_mark_after_a_pass_adds_no_error_document(
    images: Images, registry: Registry, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The verify report is out (stdout and --report) before the mark fails: stdout keeps
    one document, the report file the verify's (errors are documents only without one)."""
    with FaultProxy(registry.url) as proxy:
        proxy.add(Fault("status", method="PUT", status=403, times=None, body=b"{}"))
        ref = images.fresh.replace(registry.host, proxy.host)
        report = tmp_path / "report.json"
        run = cli(
            capsys,
            "verify",
            ref,
            "--expect-build-id",
            BUILD,
            "--expect-commit",
            COMMIT,
            "--mark-verified",
            "verified",
            "--json",
            "--report",
            str(report),
        )
    assert run.code == 3
    document = json.loads(run.out)  # exactly one document
    assert document["ok"] is True and "error" not in document
    assert json.loads(report.read_text()) == document
    assert "could not be put on" in run.err


# --------------------------------------------------------------------------- subprocesses


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without Google, Docker and buildguard settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GOOGLE_", "GCE_", "CLOUDSDK_", "DOCKER_", "BUILDGUARD_"))
    }
    env.update(extra)
    return env


PROBE = r"""
import sys
from buildguard._cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.startswith(("google.cloud", "google.api_core")))
print("PROBE", code, " ".join(loaded), file=sys.stderr)
"""


def probe(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("PROBE "), done.stderr
    _, code, *loaded = line.split(" ")
    return int(code), {m for m in loaded if m}


def test_a_plain_verify_imports_no_google_client_library(
    cloudbuild: CloudBuildStandIn, images: Images, tmp_path: Path
) -> None:
    (tmp_path / "cfg").mkdir()
    env = clean_env(
        DOCKER_CONFIG=str(tmp_path / "cfg"),
        PROJECT_ID=PROJECT,
        BUILDGUARD_CLOUDBUILD_EMULATOR_HOST=cloudbuild.host,
    )
    expect = ["--expect-build-id", BUILD, "--expect-commit", COMMIT]
    code, loaded = probe(
        ["verify", images.fresh, *expect, "--mark-verified", "plain-ok"], env, tmp_path
    )
    assert code == 0
    assert loaded == set()
    add_build(cloudbuild, BUILD, [images.fresh])
    code, loaded = probe(["verify", "--from-build", BUILD], env, tmp_path)  # the control
    assert code == 0
    assert "google.cloud.devtools.cloudbuild_v1" in loaded
    assert "google.cloud.artifactregistry_v1" not in loaded  # nothing to tag on *.pkg.dev


@pytest.fixture(scope="module")
def google_token() -> str:
    return "ya29." + secrets.token_urlsafe(40)


@pytest.fixture(scope="module")
def google_registry(
    tmp_path_factory: pytest.TempPathFactory, google_token: str
) -> Iterator[AuthRegistry]:
    reg = start_auth_registry(
        tmp_path_factory.mktemp("cb-google-registry"),
        username="oauth2accesstoken",
        password=google_token,
    )
    try:
        yield reg
    finally:
        reg.stop()


def test_google_adc_for_a_listed_registry_and_no_secret_in_any_output(
    cloudbuild: CloudBuildStandIn,
    dockerd: Dockerd,
    google_registry: AuthRegistry,
    google_token: str,
    tmp_path: Path,
) -> None:
    push_config = tmp_path / "push-config"
    google_registry.write_docker_config(push_config)
    dist = sealed_dist(tmp_path / "bundle", BUILD, COMMIT)
    tag = f"{google_registry.host}/cb/private:v1"
    digest = build_and_push(
        dockerd, dist, tmp_path / "ctx", tag, env={"DOCKER_CONFIG": str(push_config)}
    )
    add_build(
        cloudbuild, BUILD, [f"{google_registry.host}/cb/private@{digest}"], region="us-central1"
    )
    (tmp_path / "home" / "cfg").mkdir(parents=True)
    with MetadataServer(google_token) as metadata:
        env = clean_env(
            **metadata.environ(),
            HOME=str(tmp_path / "home"),
            CLOUDSDK_CONFIG=str(tmp_path / "home" / "gcloud"),
            DOCKER_CONFIG=str(tmp_path / "home" / "cfg"),
            PROJECT_ID=PROJECT,
            BUILDGUARD_GOOGLE_REGISTRIES=google_registry.host,
            BUILDGUARD_CLOUDBUILD_EMULATOR_HOST=cloudbuild.host,
        )
        report_file = tmp_path / "report.json"
        # not clitools.buildguard_cli: it would merge this process's environment back in
        done = subprocess.run(
            [
                console_script(),
                "-vv",
                "verify",
                "--from-build",
                BUILD,
                "--region",
                "us-central1",
                "--json",
                "--report",
                str(report_file),
                "--mark-verified",
                "verified",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert metadata.token_requests >= 1
    assert "GET " in done.stderr and "(attempt 1)" in done.stderr  # -vv really logged
    headers = {"Authorization": google_registry.auth_header()}
    assert tag_digest(google_registry.url, "cb/private", "verified", headers) == digest
    output = done.stdout + done.stderr + report_file.read_text()
    basic = base64.b64encode(f"oauth2accesstoken:{google_token}".encode()).decode()
    for secret in (google_token, base64.b64encode(google_token.encode()).decode(), basic):
        assert secret not in output
