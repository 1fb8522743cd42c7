"""The attestation's parts against published vectors and an independent reading.

* PAE and signatures: the DSSE specification's own test vector (protocol.md, "Test
  Vectors": ECDSA P-256, r||s) and a case of securesystemslib's cross-language fixtures
  (tests/data/dsse/cross_lang_signing.json, made by go-securesystemslib's dsse; Ed25519,
  deterministic, so our signing through securesystemslib must give the same bytes).
* The envelopes we write are accepted by a verifier written here from the DSSE spec with
  ``cryptography`` only, and refused by it once tampered.
* The Statement and VSA predicate fields, the keyid, the RFC 8785 policy digest.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner

from buildguard._attest.envelope import open_envelope, sign_statement
from buildguard._attest.keys import keyid_of, sslib_key
from buildguard._attest.statement import (
    EXTENSION_KEY,
    POLICY_URI,
    VERIFIER_ID,
    build_statement,
    canonical_json,
    policy_digest,
    policy_expectations,
)
from buildguard._attest.verifier import judge_envelope
from buildguard._models.attestreport import AttestationExpected
from buildguard.models import VerifyReport

# --- the DSSE spec's vector (protocol.md) -------------------------------------------------
HELLO_TYPE = "http://example.com/HelloWorld"
HELLO_PAE = b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
HELLO_X = 46950820868899156662930047687818585632848591499744589407958293238635476079160
HELLO_Y = 5640078356564379163099075877009565129882514886557779369047442380624545832820
HELLO_SIG = (
    "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="
)

# --- securesystemslib's cross-language fixture, case "statement_0" ---------------------------
SSL_SEED = "908707f3489f763049ec6dc83978ec51fbea1ecee2a9ecce927aa7abe7b64343"
SSL_PAYLOAD_B64 = (
    "eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEiLCJwcmVkaWNhdGUiOnsiYnVpbGRlciI6Im"
    "h0dHBzOi8vZXhhbXBsZS5jb20vYnVpbGRlciIsImZpbmlzaGVkT24iOiIyMDI2LTAxLTAxVDAwOjAwOjAwWiJ9LCJw"
    "cmVkaWNhdGVUeXBlIjoiaHR0cHM6Ly9leGFtcGxlLmNvbS9wcmVkaWNhdGUvYnVpbGQvdjEiLCJzdWJqZWN0Ijpbey"
    "JkaWdlc3QiOnsic2hhMjU2IjoiYzA5NDA5ZjlkMTJlMTNiZWY2NTQ5NjNhZjM0NzZkYjgyY2MwYzY3Nzg4MTg4MjM4"
    "ZTRjY2IzOGY1MWI4NGRiZCJ9LCJuYW1lIjoicmVsZWFzZS50YXIuZ3oifV19"
)
SSL_PAE_HEAD = b"DSSEv1 28 application/vnd.in-toto+json 315 "
SSL_SIG = "F0jQi4g2bUORDea9MalVh6pcklewaaUBl4dbbAbvJ+tF0hwYR3fzymG+IwUia0P5skWP21mvL0LplT60h7byDg=="
SSL_KEYID = "6a0b3c3b3cec7193b931661a269a55410ffdacc86b5c1d40fd3f107d4e9c6158"


def spec_pae(payload_type: str, body: bytes) -> bytes:
    """PAE as the DSSE protocol defines it, written here from the spec text."""
    kind = payload_type.encode("utf-8")
    return b" ".join([b"DSSEv1", str(len(kind)).encode(), kind, str(len(body)).encode(), body])


def spec_verify(envelope: dict[str, Any], public: Any) -> bool:
    """An independent DSSE verifier (cryptography only): any signature that verifies."""
    body = base64.b64decode(envelope["payload"], validate=True)
    signed = spec_pae(envelope["payloadType"], body)
    for entry in envelope["signatures"]:
        sig = base64.b64decode(entry["sig"], validate=True)
        try:
            if isinstance(public, ed25519.Ed25519PublicKey):
                public.verify(sig, signed)
            else:
                public.verify(sig, signed, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        return True
    return False


def test_pae_matches_the_dsse_spec_vector() -> None:
    assert Envelope(b"hello world", HELLO_TYPE, {}).pae() == HELLO_PAE
    assert spec_pae(HELLO_TYPE, b"hello world") == HELLO_PAE


def test_the_dsse_spec_signature_verifies_and_our_reader_accepts_it_without_keyid() -> None:
    public = ec.EllipticCurvePublicNumbers(HELLO_X, HELLO_Y, ec.SECP256R1()).public_key()
    raw = base64.b64decode(HELLO_SIG)
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    public.verify(der, HELLO_PAE, ec.ECDSA(hashes.SHA256()))  # the vector is what it says
    envelope = {
        "payload": base64.b64encode(b"hello world").decode(),
        "payloadType": HELLO_TYPE,
        "signatures": [{"sig": base64.b64encode(der).decode()}],  # no keyid: it is optional
    }
    opened = open_envelope(json.dumps(envelope).encode(), sslib_key(public))
    assert opened.signed and opened.payload == b"hello world"
    envelope["payload"] = base64.b64encode(b"hello World").decode()
    assert not open_envelope(json.dumps(envelope).encode(), sslib_key(public)).signed


def test_securesystemslib_fixture_pae_and_deterministic_signature() -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SSL_SEED))
    payload = base64.b64decode(SSL_PAYLOAD_B64)
    envelope = Envelope(payload, "application/vnd.in-toto+json", {})
    assert envelope.pae() == SSL_PAE_HEAD + payload
    signer = CryptoSigner(private, sslib_key(private.public_key()))
    signature = envelope.sign(signer)
    assert base64.b64encode(bytes.fromhex(signature.signature)).decode() == SSL_SIG
    # the fixture's own envelope (another keyid scheme) is accepted: keyid is only a hint
    published = {
        "payloadType": "application/vnd.in-toto+json",
        "payload": SSL_PAYLOAD_B64,
        "signatures": [{"keyid": SSL_KEYID, "sig": SSL_SIG}],
    }
    opened = open_envelope(json.dumps(published).encode(), sslib_key(private.public_key()))
    assert opened.signed and opened.keyids == (SSL_KEYID,)
    assert spec_verify(published, private.public_key())


def test_keyid_is_the_sha256_of_the_der_subject_public_key_info() -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SSL_SEED))
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # the DER SPKI of an Ed25519 key is a fixed 12-byte prefix and the 32-byte key (RFC 8410)
    assert der[:12] == bytes.fromhex("302a300506032b6570032100")
    assert keyid_of(private.public_key()) == hashlib.sha256(der).hexdigest()
    assert keyid_of(private.public_key()) == (
        "ffc5b1e2b0da1d9167fbc3c937d0c20f0063207b67ea1666c7982fcb51bb6d0b"
    )


def report(ok: bool = True, digest: str = "sha256:" + "ab" * 32) -> VerifyReport:
    return VerifyReport.model_validate(
        {
            "ok": ok,
            "image": {"reference": "registry.example:5000/team/app:v1", "digest": digest},
            "expected": {"build_id": "build-42", "commit": "c0ffee", "source_digest": None},
            "bundles": [
                {
                    "root": "/usr/share/nginx/html",
                    "build_id": "build-42",
                    "commit": "c0ffee",
                    "ok": True,
                    "manifest_sha256": "cd" * 32,
                }
            ],
            "findings": [],
            "stats": {"layers_read": 1, "bytes_read": 1, "files_compared": 1, "seconds": 0.1},
        }
    )


def test_the_statement_and_predicate_fields() -> None:
    when = datetime(2026, 12, 8, 3, 0, 0, tzinfo=UTC)
    statement = build_statement(report(), version="9.9.9", time_verified=when)
    assert set(statement) == {"_type", "subject", "predicateType", "predicate"}
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [
        {"name": "registry.example:5000/team/app", "digest": {"sha256": "ab" * 32}}
    ]
    assert statement["predicateType"] == "https://slsa.dev/verification_summary/v1"
    predicate = statement["predicate"]
    assert predicate["verifier"] == {"id": VERIFIER_ID, "version": {"buildguard": "9.9.9"}}
    assert predicate["timeVerified"] == "2026-12-08T03:00:00Z"
    assert predicate["resourceUri"] == "registry.example:5000/team/app@sha256:" + "ab" * 32
    assert predicate["policy"]["uri"] == POLICY_URI
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == ["BUILDGUARD_BUNDLE_MATCH_V1"]
    assert not any(level.startswith("SLSA_") for level in predicate["verifiedLevels"])
    facts = predicate[EXTENSION_KEY]
    assert EXTENSION_KEY.startswith("https://")  # extension fields sit under URI keys
    assert facts["buildId"] == "build-42" and facts["commit"] == "c0ffee"
    assert facts["bundles"] == [
        {"path": "/usr/share/nginx/html", "platform": None, "manifestSha256": "cd" * 32}
    ]
    with pytest.raises(ValueError, match="only a passing verify"):
        build_statement(report(ok=False), version="1", time_verified=when)


def test_the_policy_digest_is_sha256_of_rfc8785_json_of_the_expectations() -> None:
    expectations = policy_expectations(report(), paths=["/b", "/a"], allow_extra=True)
    text = (
        b'{"allow_extra":true,"build_id":"build-42","commit":"c0ffee",'
        b'"paths":["/a","/b"],"source_digests":[]}'
    )
    assert canonical_json(expectations) == text
    assert policy_digest(expectations) == hashlib.sha256(text).hexdigest()
    # RFC 8785 orders keys by UTF-16 code units and escapes only what it must
    assert canonical_json({"\u20ac": 1, "\U0001f600": 2, "a": "é"}) == (
        '{"a":"é","€":1,"😀":2}'.encode()
    )


@pytest.mark.parametrize("kind", ["ecdsa", "ed25519"])
def test_envelopes_we_write_pass_an_independent_verifier(kind: str) -> None:
    private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ecdsa"
        else ed25519.Ed25519PrivateKey.generate()
    )
    signer = CryptoSigner(private, sslib_key(private.public_key()))
    when = datetime(2026, 12, 8, tzinfo=UTC)
    data = sign_statement(build_statement(report(), version="1", time_verified=when), signer)
    envelope = json.loads(data)
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert [s["keyid"] for s in envelope["signatures"]] == [keyid_of(private.public_key())]
    assert spec_verify(envelope, private.public_key())
    tampered = dict(envelope, payload=base64.b64encode(b'{"_type":"x"}').decode())
    assert not spec_verify(tampered, private.public_key())
    retyped = dict(envelope, payloadType="application/json")
    assert not spec_verify(retyped, private.public_key())
    assert not open_envelope(json.dumps(retyped).encode(), signer.public_key).signed


def test_each_check_of_a_signed_statement_names_itself() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    signer = CryptoSigner(private, sslib_key(private.public_key()))
    when = datetime(2026, 12, 8, tzinfo=UTC)
    statement = build_statement(report(), version="1", time_verified=when)
    digest = "sha256:" + "ab" * 32
    expected = AttestationExpected(build_id="build-42", commit="c0ffee")

    def judge(doc: dict[str, Any], at: str = digest, exp: AttestationExpected = expected):  # type: ignore[no-untyped-def]
        result = judge_envelope(
            "sha256:" + "0" * 64, sign_statement(doc, signer), signer.public_key, at, exp
        )
        return [p.check for p in result.problems]

    assert judge(statement) == []
    assert judge(statement, at="sha256:" + "ef" * 32) == ["subject"]
    failed = json.loads(json.dumps(statement))
    failed["predicate"]["verificationResult"] = "FAILED"
    assert judge(failed) == ["result"]
    other = json.loads(json.dumps(statement))
    other["predicateType"] = "https://slsa.dev/provenance/v1"
    assert judge(other) == ["predicate"]
    assert judge(statement, exp=AttestationExpected(build_id="b-7", commit=None)) == ["build_id"]
    assert judge(statement, exp=AttestationExpected(build_id=None, commit="beef")) == ["commit"]


@settings(max_examples=60, derandomize=True, deadline=None)
@given(kind=st.text(min_size=0, max_size=40), body=st.binary(max_size=200))
def test_pae_property(kind: str, body: bytes) -> None:
    """securesystemslib's PAE equals the spec's for any type (UTF-8 byte lengths) and body."""
    assert Envelope(body, kind, {}).pae() == spec_pae(kind, body)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(
    doc=st.fixed_dictionaries(
        {},
        optional={
            "payload": st.text(max_size=40) | _JSON,
            "payloadType": st.text(max_size=30) | _JSON,
            "signatures": st.lists(
                st.fixed_dictionaries({}, optional={"keyid": _JSON, "sig": st.text(max_size=90)}),
                max_size=3,
            )
            | _JSON,
        },
    ),
    raw=st.binary(max_size=64),
)
def test_hostile_envelopes_are_refused_with_a_reason_never_a_crash(
    doc: dict[str, Any], raw: bytes
) -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SSL_SEED))
    key = sslib_key(private.public_key())
    expected = AttestationExpected(build_id=None, commit=None)
    for data in (json.dumps(doc).encode(), raw):
        result = judge_envelope("sha256:" + "0" * 64, data, key, "sha256:" + "1" * 64, expected)
        assert not result.ok and result.problems


@settings(max_examples=80, derandomize=True, deadline=None)
@given(statement=_JSON)
def test_any_signed_payload_is_judged_never_a_crash(statement: Any) -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SSL_SEED))
    signer = CryptoSigner(private, sslib_key(private.public_key()))
    envelope = sign_statement(statement, signer)
    result = judge_envelope(
        "sha256:" + "0" * 64,
        envelope,
        signer.public_key,
        "sha256:" + "1" * 64,
        AttestationExpected(build_id="b", commit="c"),
    )
    assert not result.ok and result.problems


def test_an_envelope_with_several_signatures_is_accepted_by_the_one_that_verifies() -> None:
    ours = ec.generate_private_key(ec.SECP256R1())
    theirs = ed25519.Ed25519PrivateKey.generate()
    envelope = Envelope(b'{"x":1}', "application/vnd.in-toto+json", {})
    for key in (theirs, ours):
        envelope.sign(CryptoSigner(key, sslib_key(key.public_key())))
    data = json.dumps(envelope.to_dict()).encode()
    assert len(json.loads(data)["signatures"]) == 2
    for key in (ours, theirs):
        opened = open_envelope(data, sslib_key(key.public_key()))
        assert opened.signed and len(opened.keyids) == 2
    stranger = ed25519.Ed25519PrivateKey.generate()
    refused = open_envelope(data, sslib_key(stranger.public_key()))
    assert not refused.signed and "not signed by key" in (refused.problem or "")
