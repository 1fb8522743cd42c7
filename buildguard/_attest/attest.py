"""``verify --attest KEY [--attest-out FILE]``: a passing verify made into a signed VSA,
attached to the verified digest (registry images) and/or written to a file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from securesystemslib.signer import Signer

from buildguard import __version__
from buildguard._attest.attach import Attached, attach
from buildguard._attest.envelope import sign_statement
from buildguard._attest.statement import VSA_PREDICATE_TYPE, build_statement, subject_digests
from buildguard._internal.files import atomic_write
from buildguard._verify.mark import NOT_REGISTRY_PREFIXES
from buildguard.errors import ImageReadError, UsageError
from buildguard.models import VerifyReport


class AttestFailed(ImageReadError):
    """The verify passed; the attestation could not be written or attached (exit 3)."""


@dataclass(frozen=True)
class Attestation:
    envelope: bytes
    keyid: str
    attached: tuple[Attached, ...]
    """Where it was attached: the digest verified, then each platform of an index."""
    written: Path | None


def check_attest_target(image: str | None, out_file: str | None) -> None:
    """Usage errors before anything is read: an archive, layout or daemon image can only be
    attested to a file."""
    if image and image.startswith(NOT_REGISTRY_PREFIXES) and not out_file:
        raise UsageError(
            f"--attest of {image} needs --attest-out FILE: only a registry image can carry "
            "an attached attestation",
            hint="add --attest-out vsa.json, or verify the pushed image",
        )


def attest_verified(
    report: VerifyReport,
    signer: Signer,
    *,
    paths: Sequence[str] = (),
    allow_extra: bool | Sequence[str] = False,
    out_file: str | Path | None = None,
    insecure_registries: Sequence[str] = (),
) -> Attestation:
    """Sign a VSA of the passing ``report`` with ``signer``; write it to ``out_file`` when
    given, attach it when the image is in a registry."""
    if not report.ok:
        raise UsageError(f"refusing to attest {report.image.reference}: its verify did not pass")
    if report.image.digest is None:
        raise AttestFailed(
            f"the verify passed, but {report.image.reference} has no digest to attest",
            hint="verify the pushed image by digest: HOST/REPO@sha256:…",
        )
    statement = build_statement(
        report,
        version=__version__,
        time_verified=datetime.now(UTC),
        paths=paths,
        allow_extra=allow_extra,
    )
    envelope = sign_statement(statement, signer)
    written = None
    if out_file is not None:
        written = Path(out_file)
        try:
            atomic_write(written, envelope + b"\n")
        except OSError as exc:
            raise AttestFailed(
                f"the verify passed, but the attestation could not be written to {written}: "
                f"{exc.strerror or type(exc).__name__}",
                hint="check the folder exists and is writable",
            ) from None
    attached: list[Attached] = []
    if not report.image.reference.startswith(NOT_REGISTRY_PREFIXES):
        for digest in subject_digests(report):  # the index's first, then its platforms'
            try:
                attached.append(
                    attach(
                        report.image.reference,
                        f"sha256:{digest}",
                        envelope,
                        VSA_PREDICATE_TYPE,
                        insecure_registries=insecure_registries,
                    )
                )
            except ImageReadError as exc:
                raise AttestFailed(
                    f"the verify passed, but the attestation could not be attached to "
                    f"{report.image.reference}@sha256:{digest}: {exc.message}",
                    hint=exc.hint,
                ) from None
    return Attestation(envelope, signer.public_key.keyid, tuple(attached), written)
