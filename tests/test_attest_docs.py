"""docs/attest.md: the deploy-gate policies it shows are well formed for their controllers
(parsed, required fields, the predicate type, the key, the log checks off), and the URIs it
documents are the ones buildguard writes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from attestkeys import make_key
from cryptography.hazmat.primitives import serialization

from buildguard._attest import attach, statement

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "attest.md").read_text()
VSA = "https://slsa.dev/verification_summary/v1"


def yaml_blocks() -> dict[str, dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)
    docs = [yaml.safe_load(block) for block in blocks]
    return {doc["kind"]: doc for doc in docs}


def with_key(pem_block: str, tmp_path: Path) -> str:
    """The policy's key block with a real key in place of the placeholder."""
    key = make_key(tmp_path, "team")
    return pem_block.replace(
        "-----BEGIN PUBLIC KEY-----\nREPLACE-WITH-THE-TEAM-KEY\n-----END PUBLIC KEY-----",
        key.public.read_text().strip(),
    )


def test_the_kyverno_cluster_policy(tmp_path: Path) -> None:
    policy = yaml_blocks()["ClusterPolicy"]
    assert policy["apiVersion"] == "kyverno.io/v1"
    assert policy["metadata"]["name"]
    [rule] = policy["spec"]["rules"]
    assert rule["match"]["any"][0]["resources"]["kinds"] == ["Pod"]
    [verify] = rule["verifyImages"]
    assert verify["imageReferences"] and verify["required"] is True
    assert verify["verifyDigest"] is True and verify["failureAction"] == "Enforce"
    [attestation] = verify["attestations"]
    assert attestation["type"] == VSA == statement.VSA_PREDICATE_TYPE
    [attestor] = attestation["attestors"]
    [entry] = attestor["entries"]
    keys = entry["keys"]
    assert keys["rekor"] == {"ignoreTlog": True}
    assert keys["ctlog"] == {"ignoreSCT": True}
    assert "REPLACE-WITH-THE-TEAM-KEY" in keys["publicKeys"]
    serialization.load_pem_public_key(with_key(keys["publicKeys"], tmp_path).encode())
    conditions = {c["key"]: c for c in attestation["conditions"][0]["all"]}
    assert conditions["{{ verificationResult }}"]["value"] == statement.PASSED
    assert conditions["{{ verifier.id }}"]["value"] == statement.VERIFIER_ID
    assert conditions["{{ verifiedLevels }}"]["value"] == [statement.VERIFIED_LEVEL]


def test_the_policy_controller_cluster_image_policy(tmp_path: Path) -> None:
    policy = yaml_blocks()["ClusterImagePolicy"]
    assert policy["apiVersion"] == "policy.sigstore.dev/v1beta1"
    spec = policy["spec"]
    assert spec["images"][0]["glob"]
    [authority] = spec["authorities"]
    assert "ctlog" not in authority and "keyless" not in authority  # no Rekor lookup
    assert authority["key"]["hashAlgorithm"] == "sha256"
    serialization.load_pem_public_key(with_key(authority["key"]["data"], tmp_path).encode())
    [attestation] = authority["attestations"]
    assert attestation["predicateType"] == statement.VSA_PREDICATE_TYPE
    assert attestation["policy"]["type"] == "cue"
    cue = attestation["policy"]["data"]
    assert statement.VERIFIER_ID in cue and '"PASSED"' in cue


@pytest.mark.parametrize(
    "value",
    [
        statement.VERIFIER_ID,
        statement.POLICY_URI,
        statement.EXTENSION_KEY,
        statement.STATEMENT_TYPE,
        statement.PAYLOAD_TYPE,
        statement.VERIFIED_LEVEL,
        attach.DSSE_MEDIA_TYPE,
        attach.SIGNATURE_ANNOTATION,
    ],
)
def test_every_value_buildguard_writes_is_documented(value: str) -> None:
    assert value in DOC


def test_the_uri_anchors_exist_in_the_doc() -> None:
    for uri in (statement.VERIFIER_ID, statement.POLICY_URI, statement.EXTENSION_KEY):
        anchor = uri.split("#", 1)[1]
        assert f'<a id="{anchor}"></a>' in DOC
