"""RegistrySource against a real docker-registry: docker-pushed and API-pushed images,
by tag and by digest, indexes, caching, not-found and htpasswd auth via DOCKER_CONFIG."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from registryhelpers import push_index, push_random_image, read_all, sha256
from services import AuthRegistry, Dockerd, Registry

from buildguard._image.registry import MANIFEST_ACCEPT, RegistrySource
from buildguard.errors import DigestMismatch, ImageReadError

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture
def no_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty DOCKER_CONFIG dir, so a developer's ~/.docker never leaks into a test."""
    path = tmp_path / "empty-docker-config"
    path.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(path))
    monkeypatch.delenv("BUILDGUARD_GOOGLE_REGISTRIES", raising=False)
    return path


# --------------------------------------------------------------------------- dockerd


@pytest.mark.docker
def test_docker_pushed_image_by_tag_and_by_digest(
    dockerd: Dockerd, registry: Registry, tmp_path: Path, no_docker_config: Path
) -> None:
    context = tmp_path / "ctx"
    (context / "dist" / "assets").mkdir(parents=True)
    (context / "dist" / "index.html").write_text("<script src=/assets/app.js></script>\n")
    (context / "dist" / "assets" / "app.js").write_bytes(os.urandom(3000))
    (context / "Dockerfile").write_text("FROM scratch\nCOPY dist /app/dist\n")
    tag = f"{registry.host}/bg/docker-built:v1"
    dockerd.build(context, tag)
    pushed = dockerd.docker("push", tag)
    match = re.search(r"digest: (sha256:[0-9a-f]{64}) size: (\d+)", pushed.stdout)
    assert match, pushed.stdout
    digest, size = match.group(1), int(match.group(2))

    with RegistrySource(tag) as source:
        top = source.top_manifest()
        assert top.digest == digest
        assert len(top.data) == size
        assert hashlib.sha256(top.data).hexdigest() == digest.removeprefix("sha256:")
        assert top.media_type == DOCKER_V2
        manifest = json.loads(top.data)
        config = read_all(
            source.open_blob(manifest["config"]["digest"], manifest["config"]["size"])
        )
        assert sha256(config) == manifest["config"]["digest"]
        assert json.loads(config)["rootfs"]["type"] == "layers"
        assert manifest["layers"]
        for layer in manifest["layers"]:
            data = read_all(source.open_blob(layer["digest"], layer["size"]))
            assert len(data) == layer["size"]
            assert sha256(data) == layer["digest"]

    with RegistrySource(f"{registry.host}/bg/docker-built@{digest}") as by_digest:
        again = by_digest.top_manifest()
        assert again.data == top.data
        assert again.digest == digest


# --------------------------------------------------------------------------- API-pushed


@pytest.mark.docker
def test_index_children_blobs_and_caching(registry: Registry, no_docker_config: Path) -> None:
    amd = push_random_image(registry.url, "bg/multi", "amd64")
    arm = push_random_image(registry.url, "bg/multi", "arm64", with_media_type=False)
    index, index_digest = push_index(registry.url, "bg/multi", "v1", [amd, arm])

    with FaultProxy(registry.url) as proxy, RegistrySource(f"{proxy.host}/bg/multi:v1") as src:
        top = src.top_manifest()
        assert top.data == index
        assert top.digest == index_digest
        assert top.media_type == "application/vnd.oci.image.index.v1+json"
        for child in (amd, arm):
            raw = src.manifest(child.digest)
            assert raw.data == child.manifest
            assert raw.digest == child.digest
            assert src.manifest(child.digest) is raw  # cached
            assert read_all(src.open_blob(child.config_digest, len(child.config))) == child.config
            for digest, blob in zip(child.layer_digests, child.layers, strict=True):
                assert read_all(src.open_blob(digest, len(blob)), chunk=1000) == blob
        assert src.top_manifest() is top
        assert src.manifest(index_digest) is top  # the resolved tag is cached by digest
        manifest_gets = proxy.requests("/manifests/", "GET")
        # one GET for the tag, one per child: nothing fetched twice, the tag resolved once
        assert [entry[1].rsplit("/", 1)[1] for entry in manifest_gets] == [
            "v1",
            amd.digest,
            arm.digest,
        ]
        assert all(entry[3]["accept"] == MANIFEST_ACCEPT for entry in manifest_gets)
        assert len(proxy.requests("/blobs/")) == 2 + 2 * 2


@pytest.mark.docker
def test_unknown_repository_tag_and_blob(registry: Registry, no_docker_config: Path) -> None:
    image = push_random_image(registry.url, "bg/known", "v1", layers=1)
    with (
        RegistrySource(f"{registry.host}/bg/never-pushed:v1") as src,
        pytest.raises(ImageReadError) as info,
    ):
        src.top_manifest()
    text = str(info.value)
    assert text.startswith(
        f"not found: registry {registry.host}, repository bg/never-pushed has no manifest v1 "
        "(HTTP 404 MANIFEST_UNKNOWN"  # distribution 2.8 says this for an unknown repo too
    ), text
    assert info.value.exit_code == 3

    with (
        RegistrySource(f"{registry.host}/bg/known:nope") as src,
        pytest.raises(ImageReadError) as info,
    ):
        src.top_manifest()
    assert "has no manifest nope (HTTP 404 MANIFEST_UNKNOWN" in str(info.value)

    missing = "sha256:" + "0" * 64
    with (
        RegistrySource(f"{registry.host}/bg/known@{missing}") as src,
        pytest.raises(ImageReadError, match="has no manifest sha256:0000"),
    ):
        src.top_manifest()

    with RegistrySource(f"{registry.host}/bg/known:v1") as src:
        assert src.top_manifest().digest == image.digest
        with pytest.raises(ImageReadError) as info:
            read_all(src.open_blob(missing, 10))
        assert f"blob {missing} is missing from registry {registry.host}, repository bg/known" in (
            str(info.value)
        )
        assert "BLOB_UNKNOWN" in str(info.value)


@pytest.mark.docker
def test_connection_refused_is_image_read_error(no_docker_config: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        src = RegistrySource(f"127.0.0.1:{port}/bg/app:v1", retries=1, backoff=0.01)
        with src, pytest.raises(ImageReadError) as info:
            src.top_manifest()
    text = str(info.value)
    assert f"could not read manifest v1 from registry 127.0.0.1:{port}, repository bg/app" in text
    assert "ConnectError" in text and "after 2 attempts" in text


@pytest.mark.docker
def test_flipped_stored_manifest_is_a_digest_mismatch(
    registry: Registry, no_docker_config: Path
) -> None:
    """A manifest altered at rest in the registry's storage: the by-digest check catches it."""
    image = push_random_image(registry.url, "bg/at-rest", "v1", layers=1)
    hexdigest = image.digest.removeprefix("sha256:")
    data_file = next(
        p
        for p in (registry.dir / "data").rglob("data")
        if p.parent.name == hexdigest and p.read_bytes() == image.manifest
    )
    original = data_file.read_bytes()
    data_file.write_bytes(original.replace(b'"schemaVersion"', b'"schemaversion"'))
    try:
        src = RegistrySource(f"{registry.host}/bg/at-rest@{image.digest}")
        with src, pytest.raises(DigestMismatch) as info:
            src.top_manifest()
        assert f"manifest {image.digest} from registry {registry.host}, repository bg/at-rest" in (
            str(info.value)
        )
        assert "does not match its digest" in str(info.value)
    finally:
        data_file.write_bytes(original)


# --------------------------------------------------------------------------- htpasswd


@pytest.mark.docker
def test_htpasswd_registry_with_docker_config(
    auth_registry: AuthRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = push_random_image(
        auth_registry.url,
        "bg/private",
        "v1",
        headers={"Authorization": auth_registry.auth_header()},
    )
    config_dir = tmp_path / "docker-config"
    auth_registry.write_docker_config(config_dir)
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    with RegistrySource(f"{auth_registry.host}/bg/private:v1") as src:
        top = src.top_manifest()
        assert top.digest == image.digest
        for digest, blob in zip(image.layer_digests, image.layers, strict=True):
            assert read_all(src.open_blob(digest, len(blob))) == blob
        assert auth_registry.password not in repr(src)


@pytest.mark.docker
def test_htpasswd_registry_without_credentials(
    auth_registry: AuthRegistry, no_docker_config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    with (
        RegistrySource(f"{auth_registry.host}/bg/private:v1") as src,
        pytest.raises(ImageReadError) as info,
    ):
        src.top_manifest()
    assert str(info.value) == (
        f"authentication required: registry {auth_registry.host}, repository bg/private refused "
        "anonymous access and no credentials were found for it\n"
        f"  hint: run `docker login {auth_registry.host}` or set DOCKER_CONFIG to a directory "
        "whose config.json has credentials for it"
    )
    assert info.value.exit_code == 3


@pytest.mark.docker
def test_htpasswd_registry_wrong_password(
    auth_registry: AuthRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    wrong = "wrong-" + auth_registry.password
    import base64

    auth = base64.b64encode(f"{auth_registry.username}:{wrong}".encode()).decode()
    (config_dir / "config.json").write_text(
        json.dumps({"auths": {auth_registry.host: {"auth": auth}}})
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    with (
        RegistrySource(f"{auth_registry.host}/bg/private:v1") as src,
        pytest.raises(ImageReadError) as info,
    ):
        src.top_manifest()
    text = str(info.value)
    assert text.startswith(
        f"authentication failed: registry {auth_registry.host}, repository bg/private rejected "
        f"the credentials from docker config {config_dir}/config.json"
    ), text
    assert wrong not in text and wrong not in caplog.text
    assert auth not in text and auth not in caplog.text


def _write_helper(bin_dir: Path, name: str, registry: str, user: str, secret: str) -> None:
    """A real credential helper (docker-credential-NAME) speaking the helper protocol."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(
        "#!/bin/sh\n"
        "read server\n"
        f'if [ "$1" = get ] && [ "$server" = "{registry}" ]; then\n'
        f'  printf \'{{"ServerURL":"%s","Username":"{user}","Secret":"{secret}"}}\' "$server"\n'
        "  exit 0\n"
        "fi\n"
        'echo "credentials not found in native keychain"\n'
        "exit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.mark.docker
@pytest.mark.parametrize("section", ["credHelpers", "credsStore"])
def test_htpasswd_registry_with_credential_helper(
    auth_registry: AuthRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str
) -> None:
    image = push_random_image(
        auth_registry.url,
        "bg/helper",
        "v1",
        layers=1,
        headers={"Authorization": auth_registry.auth_header()},
    )
    bin_dir = tmp_path / "bin"
    _write_helper(
        bin_dir, "bgtest", auth_registry.host, auth_registry.username, auth_registry.password
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    config = (
        {"credHelpers": {auth_registry.host: "bgtest"}}
        if section == "credHelpers"
        else {"credsStore": "bgtest"}
    )
    (config_dir / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    with RegistrySource(f"{auth_registry.host}/bg/helper:v1") as src:
        assert src.top_manifest().digest == image.digest


@pytest.mark.docker
def test_missing_credential_helper_is_named_in_the_error(
    auth_registry: AuthRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(
        json.dumps({"credHelpers": {auth_registry.host: "absent-helper"}})
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    with (
        RegistrySource(f"{auth_registry.host}/bg/private:v1") as src,
        pytest.raises(ImageReadError) as info,
    ):
        src.top_manifest()
    text = str(info.value)
    assert text.startswith("authentication required:"), text
    assert "docker-credential-absent-helper" in text
    assert "not installed or not available in PATH" in text
