"""The write path: ``put_manifest`` tags a digest in real registries (plain, htpasswd,
token auth with the push scope), through the same auth and retry layers as reads."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from faultproxy import Fault, FaultProxy
from registryhelpers import push_index, push_random_image
from services import AuthRegistry, Registry
from tokenserver import TokenServer, token_registry

from buildguard._image.registry import RegistryError, RegistrySource, put_manifest
from buildguard._image.transport.errors import AuthProblem, RegistryAuthError
from buildguard.errors import UsageError

pytestmark = pytest.mark.docker

USER = "tagger"


def tag_digest(base: str, repository: str, tag: str, headers: dict[str, str]) -> tuple[str, str]:
    """(digest, content type) the registry now serves for ``tag``, asked independently."""
    accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
    got = httpx.get(
        f"{base}/v2/{repository}/manifests/{tag}", headers={**headers, "Accept": accept}, timeout=30
    )
    assert got.status_code == 200, got.text
    return "sha256:" + hashlib.sha256(got.content).hexdigest(), got.headers["content-type"]


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "empty"))
    monkeypatch.delenv("BUILDGUARD_GOOGLE_REGISTRIES", raising=False)


def test_put_manifest_on_a_plain_registry(registry: Registry, no_config: None) -> None:
    image = push_random_image(registry.url, "bg/put", "build-1", layers=1)
    reported = put_manifest(f"{registry.host}/bg/put@{image.digest}", "verified")
    assert reported == image.digest
    assert tag_digest(registry.url, "bg/put", "verified", {}) == (
        image.digest,
        "application/vnd.oci.image.manifest.v1+json",
    )
    # moving the tag: another image, the same tag, by tag reference this time
    other = push_random_image(registry.url, "bg/put", "build-2", layers=1)
    assert put_manifest(f"{registry.host}/bg/put:build-2", "verified") == other.digest
    assert tag_digest(registry.url, "bg/put", "verified", {})[0] == other.digest


def test_put_an_index_keeps_its_media_type(registry: Registry, no_config: None) -> None:
    child = push_random_image(registry.url, "bg/put-index", "amd64", layers=1)
    _, index_digest = push_index(registry.url, "bg/put-index", "multi", [child])
    with RegistrySource(f"{registry.host}/bg/put-index:multi") as source:
        assert source.put_manifest(index_digest, "verified") == index_digest
    assert tag_digest(registry.url, "bg/put-index", "verified", {}) == (
        index_digest,
        "application/vnd.oci.image.index.v1+json",
    )


def test_put_manifest_with_htpasswd_credentials(
    auth_registry: AuthRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {"Authorization": auth_registry.auth_header()}
    image = push_random_image(auth_registry.url, "bg/put", "v1", layers=1, headers=headers)
    auth_registry.write_docker_config(tmp_path / "config")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "config"))
    assert put_manifest(f"{auth_registry.host}/bg/put:v1", "verified") == image.digest
    assert tag_digest(auth_registry.url, "bg/put", "verified", headers)[0] == image.digest

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # no credentials: refused, exit 3
    with pytest.raises(RegistryAuthError) as info:
        put_manifest(f"{auth_registry.host}/bg/put:v1", "other")
    assert info.value.problem is AuthProblem.NO_CREDENTIALS and info.value.exit_code == 3


@pytest.fixture(scope="module")
def tokened(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TokenServer, Registry, str]]:
    password = secrets.token_urlsafe(12)
    with token_registry(tmp_path_factory.mktemp("put-token"), {USER: password}) as (t, r):
        yield t, r, password


def test_put_manifest_asks_for_the_push_scope(
    tokened: tuple[TokenServer, Registry, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens, reg, password = tokened
    push = tokens.make_token(
        "p", [{"type": "repository", "name": "bg/put", "actions": ["pull", "push"]}]
    )
    image = push_random_image(
        reg.url, "bg/put", "v1", layers=1, headers={"Authorization": f"Bearer {push}"}
    )
    import base64

    auth = base64.b64encode(f"{USER}:{password}".encode()).decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {reg.host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    tokens.requests.clear()
    assert put_manifest(f"{reg.host}/bg/put:v1", "verified") == image.digest
    scopes = [r.params["scope"] for r in tokens.requests]
    assert scopes == [["repository:bg/put:pull"], ["repository:bg/put:pull,push"]]
    assert tag_digest(reg.url, "bg/put", "verified", {"Authorization": f"Bearer {push}"})[0] == (
        image.digest
    )


def test_a_registry_reporting_another_digest_is_an_error(
    registry: Registry, no_config: None
) -> None:
    image = push_random_image(registry.url, "bg/put-check", "v1", layers=1)
    wrong = "sha256:" + "1" * 64
    with FaultProxy(registry.url) as proxy:
        proxy.add(
            Fault("header", method="PUT", header="Docker-Content-Digest", rewrite=lambda _: wrong)
        )
        with pytest.raises(RegistryError) as info:
            put_manifest(f"{proxy.host}/bg/put-check:v1", "verified")
    assert str(info.value).startswith(
        f"could not write tag verified to registry {proxy.host}, repository bg/put-check: "
        f"the registry says it now names {wrong}, not {image.digest}"
    )
    assert info.value.exit_code == 3


def test_a_refused_put_names_the_status(registry: Registry, no_config: None) -> None:
    push_random_image(registry.url, "bg/put-refused", "v1", layers=1)
    with FaultProxy(registry.url) as proxy:
        proxy.add(
            Fault(
                "status",
                method="PUT",
                status=400,
                times=None,
                body=b'{"errors":[{"code":"TAG_INVALID","message":"no"}]}',
            )
        )
        with pytest.raises(RegistryError) as info:
            put_manifest(f"{proxy.host}/bg/put-refused:v1", "verified")
    assert info.value.status == 400 and info.value.codes == ("TAG_INVALID",)
    assert not info.value.temporary
    assert str(info.value).startswith(
        f"could not write tag verified to registry {proxy.host}, repository bg/put-refused: "
        "HTTP 400 TAG_INVALID: no"
    )


def test_a_bad_tag_is_a_usage_error(registry: Registry, no_config: None) -> None:
    image = push_random_image(registry.url, "bg/put-bad", "v1", layers=1)
    with pytest.raises(UsageError, match="not a valid tag"):
        put_manifest(f"{registry.host}/bg/put-bad@{image.digest}", "-nope")
