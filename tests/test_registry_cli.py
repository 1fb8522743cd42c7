"""inspect and verify of pushed images through the installed CLI: auth, indexes, faults.

The images are the example OCI layout shipped in examples/images (tags fresh and stale,
each a sealed bundle of the example Vite app), pushed with skopeo to real registries.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from clitools import buildguard_cli
from faultproxy import Fault, FaultProxy
from registryhelpers import put_manifest
from services import AuthRegistry, Registry

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ROOT / "examples" / "images" / "layout"
RECORD = ROOT / "examples" / "images" / "record.json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def layout_digest(tag: str) -> str:
    index = json.loads((LAYOUT / "index.json").read_text())
    return next(
        m["digest"]
        for m in index["manifests"]
        if m["annotations"]["org.opencontainers.image.ref.name"] == tag
    )


def skopeo_push(tag: str, dest: str, *creds: str) -> None:
    subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            "--preserve-digests",
            "--dest-tls-verify=false",
            *creds,
            f"oci:{LAYOUT}:{tag}",
            f"docker://{dest}",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def inspect_json(ref: str, tmp_path: Path, env: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    done = buildguard_cli("inspect", ref, "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def listing(report: dict) -> tuple[object, object, object]:  # type: ignore[type-arg]
    """What the image holds; not where each layer's index came from (the first read of these
    digests fills the layer-index cache, and it answers the reads after it)."""
    layers = [{k: v for k, v in layer.items() if k != "read_from"} for layer in report["layers"]]
    return layers, report["manifests"], report["files"]


@pytest.fixture(scope="module")
def pushed(registry: Registry) -> str:
    for tag in ("fresh", "stale"):
        skopeo_push(tag, f"{registry.host}/example/app:{tag}")
    return f"{registry.host}/example/app"


@pytest.fixture
def empty_config(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "docker-config"
    config.mkdir()
    return {"DOCKER_CONFIG": str(config)}


def test_inspect_by_tag_and_digest_equals_the_layout(
    pushed: str, tmp_path: Path, empty_config: dict[str, str]
) -> None:
    local = inspect_json(f"oci-layout:{LAYOUT}:fresh", tmp_path)
    by_tag = inspect_json(f"{pushed}:fresh", tmp_path, empty_config)
    by_digest = inspect_json(f"{pushed}@{layout_digest('fresh')}", tmp_path, empty_config)
    assert listing(by_tag) == listing(local) == listing(by_digest)
    assert by_tag["image"]["digest"] == layout_digest("fresh")
    assert by_tag["manifests"][0]["build_id"] == "example-build-0002"


def test_htpasswd_registry_with_docker_config(
    auth_registry: AuthRegistry, tmp_path: Path, empty_config: dict[str, str]
) -> None:
    ref = f"{auth_registry.host}/example/app:fresh"
    skopeo_push("fresh", ref, "--dest-creds", f"{auth_registry.username}:{auth_registry.password}")
    config_dir = tmp_path / "with-creds"
    config_dir.mkdir()
    auth_registry.write_docker_config(config_dir)
    report = inspect_json(ref, tmp_path, {"DOCKER_CONFIG": str(config_dir)})
    assert listing(report) == listing(inspect_json(f"oci-layout:{LAYOUT}:fresh", tmp_path))
    denied = buildguard_cli("inspect", ref, cwd=tmp_path, env=empty_config)
    assert denied.returncode == 3
    assert "authentication required" in denied.stderr and "docker login" in denied.stderr
    assert auth_registry.password not in denied.stderr + denied.stdout


def test_unknown_repository_or_tag_is_3_bad_reference_is_2(
    pushed: str, tmp_path: Path, empty_config: dict[str, str]
) -> None:
    host = pushed.split("/")[0]
    for ref in (f"{host}/no/such-repo:v1", f"{pushed}:no-such-tag"):
        done = buildguard_cli("inspect", ref, cwd=tmp_path, env=empty_config)
        assert done.returncode == 3, (ref, done.stderr)
        assert "Traceback" not in done.stderr
    for ref in (f"{host}/UPPER/case:v1", f"{pushed}@sha256:1234"):
        done = buildguard_cli("inspect", ref, cwd=tmp_path, env=empty_config)
        assert done.returncode == 2, (ref, done.stderr)


def test_platform_all_verifies_every_platform_and_skips_attestations(
    pushed: str, registry: Registry, tmp_path: Path, empty_config: dict[str, str]
) -> None:
    fresh, stale = layout_digest("fresh"), layout_digest("stale")
    children = []
    for digest, platform in (
        (fresh, {"os": "linux", "architecture": "amd64"}),
        (stale, {"os": "linux", "architecture": "arm64"}),
        (stale, {"os": "unknown", "architecture": "unknown"}),
    ):
        size = len((LAYOUT / "blobs/sha256" / digest.split(":")[1]).read_bytes())
        children.append(
            {"mediaType": OCI_MANIFEST, "digest": digest, "size": size, "platform": platform}
        )
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
    with httpx.Client(timeout=60) as client:
        put_manifest(client, registry.url, "example/app", "multi", body, OCI_INDEX, {})
    ref = f"{pushed}:multi"
    env = {**empty_config, "BUILD_ID": "", "COMMIT_SHA": ""}
    args = ("--record", str(RECORD), "--json")
    default = buildguard_cli("verify", ref, *args, cwd=tmp_path, env=env)
    assert default.returncode == 0, default.stdout + default.stderr
    every = buildguard_cli("verify", ref, *args, "--platform", "all", cwd=tmp_path, env=env)
    assert every.returncode == 1
    report = json.loads(every.stdout)
    assert report["image"]["platforms"] == ["linux/amd64", "linux/arm64"]
    assert {(b["platform"], b["ok"]) for b in report["bundles"]} == {
        ("linux/amd64", True),
        ("linux/arm64", False),
    }
    assert {f["platform"] for f in report["findings"] if f["severity"] == "error"} == {
        "linux/arm64"
    }
    arm = buildguard_cli("verify", ref, *args, "--platform", "linux/arm64", cwd=tmp_path, env=env)
    assert arm.returncode == 1
    assert "BUILD_ID_MISMATCH" in arm.stdout


@pytest.fixture
def proxy(pushed: str, registry: Registry) -> Iterator[FaultProxy]:
    with FaultProxy(registry.url) as running:
        yield running


def blob_path(digest: str) -> str:
    return f"/blobs/{digest}"


@pytest.mark.parametrize("what", ["manifest", "config", "layer"])
def test_flipped_byte_through_a_proxy_is_exit_3(
    proxy: FaultProxy, tmp_path: Path, empty_config: dict[str, str], what: str
) -> None:
    manifest = json.loads(
        (LAYOUT / "blobs/sha256" / layout_digest("fresh").split(":")[1]).read_text()
    )
    path = {
        "manifest": "/manifests/fresh",
        "config": blob_path(manifest["config"]["digest"]),
        "layer": blob_path(manifest["layers"][0]["digest"]),
    }[what]
    proxy.add(Fault("flip", path=path, offset=20, times=None))
    done = buildguard_cli(
        "inspect", f"{proxy.host}/example/app:fresh", cwd=tmp_path, env=empty_config
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "files (" not in done.stdout, "a tampered image is never listed"
    assert "does not match" in done.stderr or "digest" in done.stderr


def test_transient_faults_recover_and_persistent_ones_are_exit_3(
    proxy: FaultProxy, tmp_path: Path, empty_config: dict[str, str]
) -> None:
    ref = f"{proxy.host}/example/app:fresh"
    proxy.add(Fault("status", path="/blobs/", status=503, times=2))
    proxy.add(Fault("status", path="/manifests/", status=429, headers={"Retry-After": "1"}))
    done = buildguard_cli(
        "verify",
        ref,
        "--record",
        str(RECORD),
        cwd=tmp_path,
        env={**empty_config, "BUILD_ID": "", "COMMIT_SHA": ""},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    proxy.clear()
    proxy.add(Fault("status", path="/blobs/", status=503, times=None))
    done = buildguard_cli("inspect", ref, cwd=tmp_path, env=empty_config)
    assert done.returncode == 3
    assert proxy.host in done.stderr and "example/app" in done.stderr
    assert "503" in done.stderr
