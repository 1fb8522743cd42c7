"""``verify --attest gcpkms://…`` through the real ``google-cloud-kms`` client (REST) against
a loopback stand-in of Cloud KMS that holds the key, then ``verify-attestation`` with the
public key the stand-in serves."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from clitools import buildguard_cli
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from kms_standin import KmsStandIn
from services import Registry
from test_attest_registry import RECORD, fresh_repo, layout_digest

from buildguard._attest.keys import KeyUnreadable, keyid_of, load_signer

pytestmark = pytest.mark.docker

VERSION = "projects/p/locations/europe-west1/keyRings/ring/cryptoKeys/{}/cryptoKeyVersions/1"


@pytest.fixture
def kms() -> Iterator[KmsStandIn]:
    with KmsStandIn() as server:
        yield server


def pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@pytest.mark.parametrize("kind", ["ecdsa", "ed25519"])
def test_kms_signs_the_attestation_that_verify_attestation_accepts(
    kind: str, kms: KmsStandIn, registry: Registry, tmp_path: Path
) -> None:
    name = VERSION.format(f"vsa-{kind}")
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ecdsa"
        else ed25519.Ed25519PrivateKey.generate()
    )
    kms.add_key(name, key)
    public = tmp_path / "team.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (tmp_path / "dc").mkdir()
    env = {
        "DOCKER_CONFIG": str(tmp_path / "dc"),
        "BUILD_ID": "",
        "COMMIT_SHA": "",
        "BUILDGUARD_KMS_EMULATOR_HOST": kms.host,
    }
    repo = fresh_repo(registry, f"attest/kms-{kind}")
    digest = layout_digest("fresh")
    out = tmp_path / "vsa.json"
    done = buildguard_cli(
        "verify",
        f"{repo}@{digest}",
        "--record",
        str(RECORD),
        "--attest",
        f"gcpkms://{name}",
        "--attest-out",
        str(out),
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r.method for r in kms.requests] == ["getPublicKey", "asymmetricSign"]
    envelope = json.loads(out.read_text())
    signed = pae(envelope["payloadType"], base64.b64decode(envelope["payload"]))
    body = kms.requests[1].body or {}
    if kind == "ecdsa":  # KMS was given the sha256 of the PAE, not the PAE
        assert base64.b64decode(body["digest"]["sha256"]) == hashlib.sha256(signed).digest()
    else:  # Ed25519 keys sign the data itself
        assert base64.b64decode(body["data"]) == signed
    assert envelope["signatures"][0]["keyid"] == keyid_of(key.public_key())
    checked = buildguard_cli(
        "verify-attestation",
        f"{repo}@{digest}",
        "--key",
        str(public),
        "--json",
        cwd=tmp_path,
        env=env,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_unknown_kms_key_is_exit_2_before_anything_is_read(
    kms: KmsStandIn, tmp_path: Path
) -> None:
    env = {"BUILDGUARD_KMS_EMULATOR_HOST": kms.host}
    with pytest.raises(KeyUnreadable, match="cannot read the Cloud KMS key"):
        load_signer("gcpkms://" + VERSION.format("absent"), env)
    with pytest.raises(KeyUnreadable, match="is not a Cloud KMS key version"):
        load_signer("gcpkms://projects/p/keyRings/r", env)
    done = buildguard_cli(
        "verify",
        "127.0.0.1:9/never/read:v1",
        "--expect-build-id",
        "b-123456",
        "--attest",
        "gcpkms://" + VERSION.format("absent"),
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert "cannot read the Cloud KMS key" in done.stderr
    assert [r.method for r in kms.requests] == ["getPublicKey", "getPublicKey"]


def test_without_the_gcp_extra_a_kms_key_is_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from buildguard.errors import MissingExtra

    monkeypatch.setitem(sys.modules, "google.cloud.kms_v1", None)  # import fails
    with pytest.raises(MissingExtra) as caught:
        load_signer("gcpkms://" + VERSION.format("k"), {})
    assert caught.value.exit_code == 2
    assert "google-cloud-kms" in caught.value.message
    assert "pip install 'buildguard-cli[gcp]'" in (caught.value.hint or "")
