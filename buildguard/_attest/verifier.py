"""``verify-attestation``: is there a buildguard VSA on this image's digest, signed by this
key, naming this digest, ``PASSED``, of the expected build?

Each layer of ``sha256-HEX.att`` is judged alone; the report says, for each, which checks
failed. Unsigned content is never read for anything but the signature check: a layer not
signed by the key has only that problem. No expectation is taken from the environment
(at deploy time ``$BUILD_ID`` is the deploying build's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from securesystemslib.signer import SSlibKey

from buildguard._attest.attach import DSSE_MEDIA_TYPE, attestation_tag, layers_of
from buildguard._attest.envelope import open_envelope
from buildguard._attest.keys import load_public_key
from buildguard._attest.ocistore import AttestationRegistry
from buildguard._attest.statement import (
    EXTENSION_KEY,
    PASSED,
    PAYLOAD_TYPE,
    STATEMENT_TYPE,
    VERIFIED_LEVEL,
    VERIFIER_ID,
    VSA_PREDICATE_TYPE,
)
from buildguard._image.options import ReadOptions
from buildguard._image.reference import parse_reference
from buildguard._models.attestreport import (
    AttestationCheckName,
    AttestationExpected,
    AttestationImage,
    AttestationProblem,
    AttestationReport,
    AttestationResult,
)
from buildguard._verify.mark import NOT_REGISTRY_PREFIXES
from buildguard.errors import UsageError


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _problem(check: AttestationCheckName, message: str) -> AttestationProblem:
    return AttestationProblem(check=check, message=message)


def _judge_statement(
    statement: Any, digest: str, expected: AttestationExpected
) -> tuple[list[AttestationProblem], dict[str, Any]]:
    """The problems of a signed statement, and the facts read from it."""
    problems: list[AttestationProblem] = []
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        return [_problem("predicate", f"the payload is not an in-toto {STATEMENT_TYPE}")], {}
    predicate = _dict(statement.get("predicate"))
    verifier = _dict(predicate.get("verifier"))
    levels = predicate.get("verifiedLevels")
    if (
        statement.get("predicateType") != VSA_PREDICATE_TYPE
        or verifier.get("id") != VERIFIER_ID
        or not isinstance(levels, list)
        or VERIFIED_LEVEL not in levels
    ):
        problems.append(
            _problem(
                "predicate",
                f"not a buildguard verification summary (predicateType "
                f"{statement.get('predicateType')!r}, verifier {verifier.get('id')!r})",
            )
        )
    hex_digest = digest.removeprefix("sha256:")
    subjects = statement.get("subject")
    subjects = subjects if isinstance(subjects, list) else []
    named = [
        s["digest"].get("sha256")
        for s in subjects
        if isinstance(s, dict) and isinstance(s.get("digest"), dict)
    ]
    if hex_digest not in named:
        shown = ", ".join(f"sha256:{str(d)[:12]}…" for d in named) or "no digest"
        problems.append(_problem("subject", f"it attests another digest ({shown}), not {digest}"))
    result = predicate.get("verificationResult")
    if result != PASSED:
        problems.append(_problem("result", f"its verificationResult is {result!r}, not PASSED"))
    facts = _dict(predicate.get(EXTENSION_KEY))
    build_id, commit = facts.get("buildId"), facts.get("commit")
    if expected.build_id is not None and build_id != expected.build_id:
        problems.append(
            _problem(
                "build_id",
                f"it attests build {build_id!r}, not the expected {expected.build_id!r}",
            )
        )
    if expected.commit is not None and commit != expected.commit:
        problems.append(
            _problem(
                "commit", f"it attests commit {commit!r}, not the expected {expected.commit!r}"
            )
        )
    time_verified = predicate.get("timeVerified")
    return problems, {
        "build_id": build_id if isinstance(build_id, str) else None,
        "commit": commit if isinstance(commit, str) else None,
        "time_verified": time_verified if isinstance(time_verified, str) else None,
    }


def judge_envelope(
    layer: str, data: bytes, key: SSlibKey, digest: str, expected: AttestationExpected
) -> AttestationResult:
    """One envelope, judged (see the module docstring)."""
    opened = open_envelope(data, key)
    if not opened.signed:
        check: AttestationCheckName = "envelope" if opened.payload is None else "signature"
        return AttestationResult(
            layer=layer,
            keyids=opened.keyids,
            ok=False,
            problems=(_problem(check, opened.problem or "not signed by the key"),),
        )
    if opened.payload_type != PAYLOAD_TYPE:
        problem = _problem("predicate", f"its payloadType is {opened.payload_type!r}")
        return AttestationResult(layer=layer, keyids=opened.keyids, ok=False, problems=(problem,))
    try:
        statement = json.loads(opened.payload or b"")
    except (ValueError, UnicodeDecodeError):
        statement = None
    problems, facts = _judge_statement(statement, digest, expected)
    predicate_type = statement.get("predicateType") if isinstance(statement, dict) else None
    return AttestationResult(
        layer=layer,
        predicate_type=predicate_type if isinstance(predicate_type, str) else None,
        keyids=opened.keyids,
        ok=not problems,
        problems=tuple(problems),
        **facts,
    )


def _verdict(results: list[AttestationResult], target: str) -> str:
    if not results:
        return f"no attestation is attached: {target} does not exist or holds no envelope"
    if any(r.ok for r in results):
        return "a buildguard verification summary signed by the key attests this digest"
    reasons = "; ".join(
        f"{r.layer[:19]}…: " + ", ".join(p.message for p in r.problems) for r in results
    )
    return f"no attestation passed: {reasons}"


def verify_attestation(
    image: str,
    key: str | SSlibKey,
    *,
    expect_build_id: str | None = None,
    expect_commit: str | None = None,
    options: ReadOptions | None = None,
    environ: Mapping[str, str] | None = None,
) -> AttestationReport:
    """Check the attestations attached to ``image``'s digest against ``key`` (a public key
    path, ``file:PATH``, ``env:VAR``, or a securesystemslib key). Raises
    :class:`~buildguard.errors.UsageError` (a bad key or reference) and
    :class:`~buildguard.errors.ImageReadError` (unreadable); a failed check is a report
    with ``ok`` false."""
    options = options or ReadOptions()
    public = key if isinstance(key, SSlibKey) else load_public_key(key, environ)
    if image.startswith(NOT_REGISTRY_PREFIXES):
        raise UsageError(
            f"verify-attestation reads attestations from a registry, not {image}",
            hint="give the pushed image: HOST/REPO[:TAG|@sha256:…]",
        )
    ref = parse_reference(image)
    expected = AttestationExpected(build_id=expect_build_id, commit=expect_commit)
    with AttestationRegistry(image, insecure_registries=options.insecure_registries) as registry:
        digest = registry.top_manifest().digest
        assert digest is not None
        tag = attestation_tag(digest)
        target = f"{ref.registry}/{ref.repository}:{tag}"
        present = registry.manifest_or_none(tag)
        results: list[AttestationResult] = []
        for layer in layers_of(present.data, target) if present is not None else []:
            if layer.get("mediaType") != DSSE_MEDIA_TYPE:
                continue
            data = registry.read_blob(layer["digest"], layer["size"])
            results.append(judge_envelope(layer["digest"], data, public, digest, expected))
    return AttestationReport(
        ok=any(r.ok for r in results),
        image=AttestationImage(reference=image, digest=digest, attestations_tag=target),
        key_id=public.keyid,
        expected=expected,
        attestations=tuple(results),
        message=_verdict(results, target),
    )
