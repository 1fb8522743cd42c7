"""The in-toto Statement v1 with the SLSA Verification Summary (VSA v1) predicate.

Field by field as in-toto's ``spec/v1/statement.md`` and slsa.dev's
``verification_summary/v1``; buildguard's own facts sit in one extension field whose key is
a URI (docs/attest.md names every URI). The policy digest is the sha256 of the RFC 8785
canonical JSON of the expectations (:func:`policy_expectations`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import rfc8785

from buildguard._internal.timefmt import rfc3339
from buildguard.models import VerifyReport

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
VSA_PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
DOCS = "https://github.com/buildguard/buildguard/blob/main/docs/attest.md"
VERIFIER_ID = f"{DOCS}#verifier"
"""``predicate.verifier.id``: buildguard's verify, whoever runs it."""
POLICY_URI = f"{DOCS}#policy-v1"
"""``predicate.policy.uri``: the checks of verify, against the expectations digested."""
EXTENSION_KEY = f"{DOCS}#bundles-v1"
"""The key of the extension field with the build id, commit and each bundle's manifest."""
VERIFIED_LEVEL = "BUILDGUARD_BUNDLE_MATCH_V1"
"""``verifiedLevels``: a custom value, so not starting with ``SLSA_`` (VSA v1)."""
PASSED = "PASSED"


def policy_expectations(
    report: VerifyReport, *, paths: Sequence[str] = (), allow_extra: bool | Sequence[str] = False
) -> dict[str, Any]:
    """What verify held the image to: the object whose canonical JSON is digested."""
    expected = report.expected
    digests = sorted(
        {record.source_digest for record in expected.records}
        | ({expected.source_digest} if expected.source_digest else set())
    )
    return {
        "allow_extra": allow_extra if isinstance(allow_extra, bool) else sorted(allow_extra),
        "build_id": expected.build_id,
        "commit": expected.commit,
        "paths": sorted(paths),
        "source_digests": digests,
    }


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of ``value``."""
    return rfc8785.dumps(value)


def policy_digest(expectations: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(expectations)).hexdigest()


def subject_name(reference: str) -> str:
    """``HOST/REPO`` of a registry reference (tag and digest dropped); other sources as given."""
    from buildguard._image.reference import parse_reference
    from buildguard._verify.mark import NOT_REGISTRY_PREFIXES

    if reference.startswith(NOT_REGISTRY_PREFIXES):
        return reference
    ref = parse_reference(reference)
    return f"{ref.registry}/{ref.repository}"


def subject_digests(report: VerifyReport) -> list[str]:
    """The hex digests a VSA of ``report`` names: the digest verified, then (``--platform
    all`` of an index) each platform's manifest, which the index's verify covered."""
    assert report.image.digest is not None
    digests = [report.image.digest, *report.image.platform_digests]
    return [d.removeprefix("sha256:") for d in dict.fromkeys(digests)]


def build_statement(
    report: VerifyReport,
    *,
    version: str,
    time_verified: datetime,
    paths: Sequence[str] = (),
    allow_extra: bool | Sequence[str] = False,
) -> dict[str, Any]:
    """The Statement for a passing ``report`` (ValueError for a failing one or no digest)."""
    if not report.ok:
        raise ValueError("only a passing verify is attested")
    if report.image.digest is None:
        raise ValueError(f"{report.image.reference} has no digest to attest")
    hex_digest = report.image.digest.removeprefix("sha256:")
    name = subject_name(report.image.reference)
    expectations = policy_expectations(report, paths=paths, allow_extra=allow_extra)
    facts = {
        "buildId": report.expected.build_id,
        "commit": report.expected.commit,
        "bundles": [
            {
                "path": bundle.root,
                "platform": bundle.platform,
                "manifestSha256": bundle.manifest_sha256,
            }
            for bundle in report.bundles
        ],
        "expectations": expectations,
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": d}} for d in subject_digests(report)],
        "predicateType": VSA_PREDICATE_TYPE,
        "predicate": {
            "verifier": {"id": VERIFIER_ID, "version": {"buildguard": version}},
            "timeVerified": rfc3339(time_verified),
            "resourceUri": f"{name}@sha256:{hex_digest}",
            "policy": {"uri": POLICY_URI, "digest": {"sha256": policy_digest(expectations)}},
            "verificationResult": PASSED,
            "verifiedLevels": [VERIFIED_LEVEL],
            EXTENSION_KEY: facts,
        },
    }
