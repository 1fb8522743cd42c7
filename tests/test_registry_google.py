"""Google Application Default Credentials, offline: google-auth against a loopback GCE
metadata server (tests/support/metadata_server.py), a real htpasswd registry whose user is
``oauth2accesstoken`` with the access token as password, named in
``BUILDGUARD_GOOGLE_REGISTRIES``.

Each read runs in a subprocess so that ``GCE_METADATA_HOST`` / ``GCE_METADATA_IP`` are set
before google-auth is imported (it reads them at import time).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from metadata_server import MetadataServer
from registryhelpers import Pushed, push_random_image
from services import AuthRegistry, start_auth_registry

pytestmark = pytest.mark.docker

REPO = "bg/google"

READER = r"""
import hashlib, json, logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
from buildguard.errors import BuildguardError
from buildguard._image.registry import RegistrySource
result = {}
try:
    with RegistrySource(sys.argv[1]) as src:
        top = src.top_manifest()
        manifest = json.loads(top.data)
        result["digest"] = top.digest
        result["layers"] = []
        for layer in manifest["layers"]:
            with src.open_blob(layer["digest"], layer["size"]) as stream:
                data = stream.read()
            result["layers"].append("sha256:" + hashlib.sha256(data).hexdigest())
        result["repr"] = repr(src) + repr(src._auth) + repr(src._auth.credentials)
except BuildguardError as exc:
    result["error"] = str(exc)
    result["exit_code"] = exc.exit_code
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def google_token() -> str:
    return "ya29." + secrets.token_urlsafe(40)


@pytest.fixture(scope="module")
def google_registry(
    tmp_path_factory: pytest.TempPathFactory, google_token: str
) -> Iterator[AuthRegistry]:
    reg = start_auth_registry(
        tmp_path_factory.mktemp("google-registry"),
        username="oauth2accesstoken",
        password=google_token,
    )
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="module")
def image(google_registry: AuthRegistry) -> Pushed:
    return push_random_image(
        google_registry.url, REPO, "v1", headers={"Authorization": google_registry.auth_header()}
    )


def run_reader(
    reference: str, metadata: MetadataServer, home: Path, google_registries: str
) -> tuple[dict[str, object], str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GOOGLE_", "GCE_", "CLOUDSDK_", "DOCKER_", "BUILDGUARD_"))
    }
    (home / "docker-config").mkdir(parents=True, exist_ok=True)
    env.update(
        metadata.environ(),
        HOME=str(home),  # no ~/.config/gcloud application_default_credentials.json
        CLOUDSDK_CONFIG=str(home / "gcloud"),
        DOCKER_CONFIG=str(home / "docker-config"),
        BUILDGUARD_GOOGLE_REGISTRIES=google_registries,
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    proc = subprocess.run(
        [sys.executable, "-c", READER, reference],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stdout + proc.stderr


def test_google_adc_from_metadata_server(
    google_registry: AuthRegistry, image: Pushed, google_token: str, tmp_path: Path
) -> None:
    with MetadataServer(google_token) as metadata:
        result, output = run_reader(
            f"{google_registry.host}/{REPO}:v1",
            metadata,
            tmp_path,
            f"other.example,{google_registry.host}",
        )
        assert metadata.token_requests >= 1
    assert "error" not in result, result
    assert result["digest"] == image.digest
    assert result["layers"] == image.layer_digests
    assert google_token not in output  # not in logs (DEBUG), reprs or anything printed
    basic = base64.b64encode(f"oauth2accesstoken:{google_token}".encode()).decode()
    assert basic not in output


def test_wrong_google_token_is_a_clear_error_without_the_token(
    google_registry: AuthRegistry, image: Pushed, tmp_path: Path
) -> None:
    stale = "ya29.stale-" + secrets.token_urlsafe(30)
    with MetadataServer(stale) as metadata:
        result, output = run_reader(
            f"{google_registry.host}/{REPO}:v1", metadata, tmp_path, google_registry.host
        )
        # a token fetched for this very request and refused is not fetched again: no loop
        assert metadata.token_requests == 1
    assert result["exit_code"] == 3
    assert str(result["error"]).startswith(
        f"authentication failed: registry {google_registry.host}, repository {REPO} rejected the "
        "credentials from Google Application Default Credentials"
    ), result
    assert stale not in output


def test_registry_not_named_gets_no_google_credentials(
    google_registry: AuthRegistry, image: Pushed, google_token: str, tmp_path: Path
) -> None:
    with MetadataServer(google_token) as metadata:
        result, output = run_reader(
            f"{google_registry.host}/{REPO}:v1", metadata, tmp_path, "other.example"
        )
        assert metadata.token_requests == 0
    assert str(result["error"]).startswith("authentication required:"), result
    assert google_token not in output
