"""Bearer-token auth against a real docker-registry (``auth.token``) and tokenserver.py.

With and without ``service`` in the challenge, ``token`` and ``access_token`` answers,
credentials from the docker config (password and identity token), anonymous pulls, refused
credentials, an expired token refreshed once, a 401 in the middle of a blob read.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultproxy import Fault, FaultProxy
from registryhelpers import Pushed, push_random_image, read_all
from services import Registry, start_registry
from tokenserver import TokenServer

from buildguard._image.registry import RegistrySource
from buildguard.errors import ImageReadError

pytestmark = pytest.mark.docker

REPO = "bg/token"
USER = "builder"


@pytest.fixture(scope="module")
def password() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory, password: str) -> Iterator[TokenServer]:
    with TokenServer(tmp_path_factory.mktemp("tokenserver"), {USER: password}) as server:
        yield server


@pytest.fixture(scope="module")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, tokens: TokenServer
) -> Iterator[Registry]:
    reg = start_registry(tmp_path_factory.mktemp("token-registry"), tokens.registry_config())
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="module")
def image(token_registry: Registry, tokens: TokenServer) -> Pushed:
    push = tokens.make_token(
        "pusher", [{"type": "repository", "name": REPO, "actions": ["pull", "push"]}]
    )
    return push_random_image(
        token_registry.url,
        REPO,
        "v1",
        headers={"Authorization": f"Bearer {push}"},
        layers=2,
        layer_size=600 * 1024,
    )


@pytest.fixture(autouse=True)
def reset_tokens(tokens: TokenServer) -> Iterator[None]:
    tokens.requests.clear()
    tokens.issued_tokens.clear()
    tokens.expired = 0
    tokens.field = "token"
    tokens.expires_in = 300
    tokens.anonymous_pull = False
    yield


def docker_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, entry: dict[str, str] | None
) -> Path:
    directory = tmp_path / "docker-config"
    directory.mkdir(exist_ok=True)
    auths = {host: entry} if entry is not None else {}
    (directory / "config.json").write_text(json.dumps({"auths": auths}))
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    monkeypatch.delenv("BUILDGUARD_GOOGLE_REGISTRIES", raising=False)
    return directory


def basic_entry(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def read_everything(src: RegistrySource, image: Pushed) -> None:
    assert src.top_manifest().digest == image.digest
    for digest, blob in zip(image.layer_digests, image.layers, strict=True):
        assert read_all(src.open_blob(digest, len(blob))) == blob


def assert_no_secret(text: str, *secrets_: str) -> None:
    for secret in secrets_:
        assert secret not in text


def test_token_auth_with_docker_config_credentials(
    token_registry: Registry,
    tokens: TokenServer,
    image: Pushed,
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    docker_config(tmp_path, monkeypatch, token_registry.host, basic_entry(USER, password))
    with RegistrySource(f"{token_registry.host}/{REPO}:v1") as src:
        read_everything(src, image)
        assert_no_secret(repr(src), password, *tokens.issued_tokens)
    assert len(tokens.requests) == 1  # one token, cached for every request
    (request,) = tokens.requests
    assert request.user == USER and request.issued
    assert request.params["service"] == [tokens.service]
    assert request.params["scope"] == [f"repository:{REPO}:pull"]
    assert_no_secret(caplog.text, password, *tokens.issued_tokens)


def test_anonymous_token(
    token_registry: Registry,
    tokens: TokenServer,
    image: Pushed,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens.anonymous_pull = True
    docker_config(tmp_path, monkeypatch, token_registry.host, None)
    with RegistrySource(f"{token_registry.host}/{REPO}:v1") as src:
        read_everything(src, image)
    assert [r.user for r in tokens.requests] == [None]


def test_challenge_without_service(
    token_registry: Registry,
    tokens: TokenServer,
    image: Pushed,
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FaultProxy(token_registry.url) as proxy:
        docker_config(tmp_path, monkeypatch, proxy.host, basic_entry(USER, password))
        proxy.add(
            Fault(
                "header",
                header="WWW-Authenticate",
                times=None,
                rewrite=lambda value: re.sub(r',?service="[^"]*"', "", value),
            )
        )
        with RegistrySource(f"{proxy.host}/{REPO}:v1") as src:
            read_everything(src, image)
        challenges = [f for f in proxy.faults if f.hits]
        assert challenges  # the rewritten challenge was really served
    (request,) = tokens.requests
    assert "service" not in request.params
    assert request.params["scope"] == [f"repository:{REPO}:pull"]


def test_access_token_field(
    token_registry: Registry,
    tokens: TokenServer,
    image: Pushed,
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens.field = "access_token"
    tokens.expires_in = None  # the spec's default lifetime (60 s) applies
    docker_config(tmp_path, monkeypatch, token_registry.host, basic_entry(USER, password))
    with RegistrySource(f"{token_registry.host}/{REPO}:v1") as src:
        read_everything(src, image)
    assert len(tokens.requests) == 1


def test_identity_token_is_exchanged_at_the_realm(
    token_registry: Registry,
    tokens: TokenServer,
    image: Pushed,
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    refresh = f"refresh-{password}"
    docker_config(tmp_path, monkeypatch, token_registry.host, {"identitytoken": refresh})
    with RegistrySource(f"{token_registry.host}/{REPO}:v1") as src:
        read_everything(src, image)
    (request,) = tokens.requests
    assert request.method == "POST" and request.user == USER
    assert request.params["grant_type"] == ["refresh_token"]
    assert request.params["scope"] == [f"repository:{REPO}:pull"]
    assert_no_secret(caplog.text, refresh, *tokens.issued_tokens)


def test_refused_credentials(
    token_registry: Registry,
    tokens: TokenServer,
    image: Pushed,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-password-" + secrets.token_hex(4)
    config = docker_config(tmp_path, monkeypatch, token_registry.host, basic_entry(USER, wrong))
    with (
        RegistrySource(f"{token_registry.host}/{REPO}:v1") as src,
        pytest.raises(ImageReadError) as info,
    ):
        src.top_manifest()
    assert str(info.value) == (
        f"authentication failed: registry {token_registry.host}, repository {REPO} rejected the "
        f"credentials from docker config {config}/config.json\n"
        "  hint: check that they are current and may pull bg/token; run `docker login "
        f"{token_registry.host}` or set DOCKER_CONFIG to a directory whose config.json has "
        "credentials for it"
    )
    assert_no_secret(str(info.value) + caplog.text, wrong)


def test_anonymous_without_access(
    token_registry: Registry,
    tokens: TokenServer,
    image: Pushed,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docker_config(tmp_path, monkeypatch, token_registry.host, None)
    with (
        RegistrySource(f"{token_registry.host}/{REPO}:v1") as src,
        pytest.raises(
            ImageReadError, match=r"^authentication required: .* refused anonymous access"
        ),
    ):
        src.top_manifest()
    # The token server gave an empty-access token; the registry refused it; no loop.
    assert len(tokens.requests) == 1


def test_expired_token_is_refreshed_once(
    token_registry: Registry,
    tokens: TokenServer,
    image: Pushed,
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    docker_config(tmp_path, monkeypatch, token_registry.host, basic_entry(USER, password))
    tokens.expires_in = 1  # the client renews before each request once this has passed
    with RegistrySource(f"{token_registry.host}/{REPO}:v1") as src:
        assert src.top_manifest().digest == image.digest
        time.sleep(1.2)
        tokens.expired = 1  # ...and the renewed token is already expired: the registry says 401
        digest, blob = image.layer_digests[0], image.layers[0]
        assert read_all(src.open_blob(digest, len(blob))) == blob
    assert len(tokens.requests) == 3  # first, renewed-but-expired, refreshed after the 401


def test_401_in_the_middle_of_a_blob_read(
    token_registry: Registry,
    tokens: TokenServer,
    image: Pushed,
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest, blob = image.layer_digests[1], image.layers[1]
    with FaultProxy(token_registry.url) as proxy:
        docker_config(tmp_path, monkeypatch, proxy.host, basic_entry(USER, password))
        with RegistrySource(f"{proxy.host}/{REPO}:v1", backoff=0.01) as src:
            assert src.top_manifest().digest == image.digest
            proxy.add(Fault("reset", path=f"/blobs/{digest}", offset=300 * 1024, times=1))
            proxy.add(Fault("unauthorized", path=f"/blobs/{digest}", times=1))
            assert read_all(src.open_blob(digest, len(blob))) == blob
        gets = proxy.requests(f"/blobs/{digest}")
    assert [g[2] for g in gets] == [200, 401, 206]
    assert gets[2][3]["range"] == gets[1][3]["range"]
    assert len(tokens.requests) == 2


def test_persistent_401_after_refresh_fails(
    token_registry: Registry,
    tokens: TokenServer,
    image: Pushed,
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FaultProxy(token_registry.url) as proxy:
        docker_config(tmp_path, monkeypatch, proxy.host, basic_entry(USER, password))
        proxy.add(Fault("unauthorized", path="/blobs/", times=None))
        with RegistrySource(f"{proxy.host}/{REPO}:v1", backoff=0.01) as src:
            assert src.top_manifest().digest == image.digest
            with pytest.raises(ImageReadError, match=r"^authentication failed: .* rejected"):
                read_all(src.open_blob(image.layer_digests[0], len(image.layers[0])))
    assert len(tokens.requests) == 2  # the first token, and one refresh: no loop
