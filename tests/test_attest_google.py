"""The attachment through Google credentials, as on Artifact Registry (``*.pkg.dev`` speaks
the same registry API): Application Default Credentials from a loopback GCE metadata server,
a real htpasswd registry whose user is ``oauth2accesstoken``, named in
``BUILDGUARD_GOOGLE_REGISTRIES``. The token never appears at ``-vv``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from attestkeys import make_key
from clitools import buildguard_cli
from metadata_server import MetadataServer
from services import AuthRegistry
from test_attest_registry import LAYOUT, RECORD, layout_digest
from test_registry_google import google_registry, google_token

pytestmark = pytest.mark.docker
__all__ = ["google_registry", "google_token"]  # the fixtures, shared with that module


def test_attach_and_check_with_google_credentials(
    google_registry: AuthRegistry, google_token: str, tmp_path: Path
) -> None:
    creds = f"{google_registry.username}:{google_registry.password}"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds,
            f"oci:{LAYOUT}:fresh",
            f"docker://{google_registry.host}/attest/google:fresh",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    key = make_key(tmp_path / "keys", "team")
    image = f"{google_registry.host}/attest/google@{layout_digest('fresh')}"
    (tmp_path / "docker-config").mkdir()
    with MetadataServer(google_token) as metadata:
        env = {
            k: ""
            for k in os.environ
            if k.startswith(("GOOGLE_", "GCE_", "CLOUDSDK_", "BUILDGUARD_"))
        }
        env.update(
            metadata.environ(),
            HOME=str(tmp_path),
            CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),
            DOCKER_CONFIG=str(tmp_path / "docker-config"),
            BUILDGUARD_GOOGLE_REGISTRIES=google_registry.host,
            BUILD_ID="",
            COMMIT_SHA="",
        )
        done = buildguard_cli(
            "verify",
            image,
            "--record",
            str(RECORD),
            "--attest",
            f"file:{key.private}",
            "-vv",
            cwd=tmp_path,
            env=env,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        checked = buildguard_cli(
            "verify-attestation", image, "--key", str(key.public), "-vv", cwd=tmp_path, env=env
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert metadata.token_requests >= 1
    for output in (done.stdout + done.stderr, checked.stdout + checked.stderr):
        assert google_token not in output
