"""A securesystemslib :class:`Signer` over Cloud KMS's REST API.

securesystemslib's own ``GCPSigner`` builds a gRPC client to Google's endpoint that nothing
can point at a stand-in; this one uses ``google-cloud-kms``'s REST transport, honours
``$BUILDGUARD_KMS_EMULATOR_HOST`` (anonymous plain HTTP to ``host:port``, as the other
``*_EMULATOR_HOST`` variables do) and checks the CRC32C integrity fields both ways, as
Google's docs ask of callers. Key versions of ``EC_SIGN_P256_SHA256`` (a digest is signed)
and ``EC_SIGN_ED25519`` (the data itself is signed) are supported.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from securesystemslib.signer import Signature, Signer, SSlibKey

from buildguard._attest.keys import KeyUnreadable, check_public_key, sslib_key
from buildguard._cloud.clients import (
    KMS_EMULATOR_ENV,
    call_options,
    client_options,
    google_errors,
    make_client,
)
from buildguard._internal.distribution import CLOUD_KMS, require_gcp
from buildguard._internal.text import one_line
from buildguard.errors import ImageReadError

_NAME = re.compile(
    r"^gcpkms://(projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+/"
    r"cryptoKeyVersions/[^/]+)$"
)
_DIGEST_ALGORITHMS = {"EC_SIGN_P256_SHA256"}
_DATA_ALGORITHMS = {"EC_SIGN_ED25519"}


def _crc32c(data: bytes) -> int:
    import google_crc32c

    return int(google_crc32c.value(data))


class CloudKmsSigner(Signer):
    """Signs with one Cloud KMS key version through ``client`` (a REST
    ``KeyManagementServiceClient``)."""

    def __init__(self, name: str, client: Any, public_key: SSlibKey, algorithm: str) -> None:
        self.name = name
        self._client = client
        self._public_key = public_key
        self._algorithm = algorithm

    @classmethod
    def from_priv_key_uri(
        cls, priv_key_uri: str, public_key: Any, secrets_handler: Any = None
    ) -> CloudKmsSigner:
        return load_kms_signer(priv_key_uri, {})

    @property
    def public_key(self) -> SSlibKey:
        return self._public_key

    def sign(self, payload: bytes) -> Signature:
        request: dict[str, Any] = {"name": self.name}
        if self._algorithm in _DATA_ALGORITHMS:
            request["data"] = payload
            request["data_crc32c"] = _crc32c(payload)
        else:
            digest = hashlib.sha256(payload).digest()
            request["digest"] = {"sha256": digest}
            request["digest_crc32c"] = _crc32c(digest)
        try:
            response = self._client.asymmetric_sign(request=request, **call_options())
        except google_errors() as exc:
            raise ImageReadError(
                f"Cloud KMS could not sign with {self.name}: {type(exc).__name__}: "
                f"{one_line(str(exc), 300)}",
                hint="the caller needs roles/cloudkms.signerVerifier on the key",
            ) from None
        verified = response.verified_data_crc32c or response.verified_digest_crc32c
        signature = bytes(response.signature)
        if not verified or int(response.signature_crc32c) != _crc32c(signature):
            raise ImageReadError(
                f"Cloud KMS answered a signature for {self.name} that failed its integrity "
                "check (CRC32C)",
                hint="retry; if it persists, report it to Google Cloud support",
            )
        return Signature(self._public_key.keyid, signature.hex())


def kms_client(environ: Mapping[str, str]) -> Any:
    from google.cloud import kms_v1

    return make_client(
        kms_v1.KeyManagementServiceClient,
        client_options(KMS_EMULATOR_ENV, environ),
        "Cloud KMS",
    )


def load_kms_signer(spec: str, environ: Mapping[str, str]) -> CloudKmsSigner:
    """The signer of ``gcpkms://NAME``: its public key read from KMS first, so a key that
    cannot be used is :class:`KeyUnreadable` (exit 2) before anything else happens."""
    match = _NAME.match(spec)
    if match is None:
        raise KeyUnreadable(
            f"{spec!r} is not a Cloud KMS key version",
            hint="gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V",
        )
    require_gcp("a gcpkms:// key", CLOUD_KMS)
    name = match[1]
    failures: tuple[type[Exception], ...] = (ImageReadError, *google_errors())
    try:
        client = kms_client(environ)
        answer = client.get_public_key(request={"name": name}, **call_options())
    except failures as exc:
        text = exc.message if isinstance(exc, ImageReadError) else one_line(str(exc), 300)
        raise KeyUnreadable(
            f"cannot read the Cloud KMS key {name}: {text}",
            hint="check the name, and that the caller has roles/cloudkms.publicKeyViewer "
            "and roles/cloudkms.signerVerifier on it",
        ) from None
    algorithm = str(getattr(answer.algorithm, "name", answer.algorithm))
    if algorithm not in _DIGEST_ALGORITHMS | _DATA_ALGORITHMS:
        raise KeyUnreadable(
            f"the Cloud KMS key {name} is {algorithm}; buildguard signs with "
            "EC_SIGN_P256_SHA256 or EC_SIGN_ED25519 keys",
            hint="create a key version with one of those algorithms",
        )
    pem = answer.pem.encode("utf-8")
    if answer.pem_crc32c and int(answer.pem_crc32c) != _crc32c(pem):
        raise KeyUnreadable(f"the public key of {name} failed its integrity check (CRC32C)")
    from cryptography.hazmat.primitives import serialization

    public = check_public_key(serialization.load_pem_public_key(pem), f"the KMS key {name}")
    return CloudKmsSigner(name, client, sslib_key(public), algorithm)
