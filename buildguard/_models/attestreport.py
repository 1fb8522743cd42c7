"""The ``verify-attestation`` report: each attestation attached to the image's digest, what
was checked of it, and which checks failed.

Conventions as the other reports: frozen, ``extra="forbid"``, ``schema_version``, ``ok``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from buildguard._internal.modeltypes import Digest, FrozenModel, Sha256Hex

AttestationCheckName = Literal[
    "signature", "predicate", "subject", "result", "build_id", "commit", "envelope"
]


class AttestationProblem(FrozenModel):
    check: AttestationCheckName = Field(
        description="What failed: signature (not signed by the key, or a bad signature), "
        "predicate (not a buildguard VSA), subject (names another digest), result (not "
        "PASSED), build_id / commit (another build's), envelope (unreadable)."
    )
    message: str


class AttestationResult(FrozenModel):
    layer: Digest = Field(description="The digest of the envelope's layer in the .att manifest.")
    predicate_type: str | None = None
    keyids: tuple[str, ...] = Field(default=(), description="The keyids its signatures name.")
    ok: bool
    build_id: str | None = None
    commit: str | None = None
    time_verified: str | None = None
    problems: tuple[AttestationProblem, ...] = ()


class AttestationImage(FrozenModel):
    reference: str
    digest: Digest
    attestations_tag: str = Field(description="HOST/REPO:sha256-HEX.att, where they were read.")


class AttestationExpected(FrozenModel):
    build_id: str | None
    commit: str | None


class AttestationReport(FrozenModel):
    """``ok`` when at least one attestation passed every check."""

    schema_version: Literal[1] = 1
    ok: bool
    image: AttestationImage
    key_id: Sha256Hex = Field(description="sha256 of the public key's DER SubjectPublicKeyInfo.")
    expected: AttestationExpected
    attestations: tuple[AttestationResult, ...]
    message: str = Field(description="The verdict in one sentence.")
