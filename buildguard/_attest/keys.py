"""The keys of an attestation: the signer ``--attest KEY`` names, the public key
``verify-attestation --key`` names, and the keyid both agree on.

``KEY`` is ``file:PATH`` or ``env:VAR`` (a PEM private key, ECDSA P-256 or Ed25519, not
encrypted) or ``gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V``
(:mod:`.kms`). The keyid is the lowercase hex sha256 of the public key's DER
SubjectPublicKeyInfo. A key that cannot be read is :class:`KeyUnreadable` (exit 2), whose
message never holds any byte of the key.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from securesystemslib.signer import CryptoSigner, Signer, SSlibKey

from buildguard.errors import UsageError

KMS_PREFIX = "gcpkms://"
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
KEY_FORMS = "file:PATH, env:VAR or gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V"


class KeyUnreadable(UsageError):
    """The signing or public key cannot be read or is not of a supported kind (exit 2)."""


def keyid_of(public_key: PublicKey) -> str:
    """Lowercase hex sha256 of the DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def sslib_key(public_key: PublicKey) -> SSlibKey:
    """securesystemslib's key for ``public_key``, under our keyid."""
    return SSlibKey.from_crypto(public_key, keyid=keyid_of(public_key))


def check_public_key(public_key: object, what: str) -> PublicKey:
    """``public_key`` if it is ECDSA P-256 or Ed25519; :class:`KeyUnreadable` otherwise."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return public_key
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
        public_key.curve, ec.SECP256R1
    ):
        return public_key
    raise KeyUnreadable(
        f"{what} is not an ECDSA P-256 or Ed25519 key",
        hint="make one with `openssl genpkey -algorithm ed25519` or "
        "`openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt`",
    )


def _pem_private_key(data: bytes, what: str) -> CryptoSigner:
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyUnreadable(
            f"{what} is an encrypted private key; buildguard reads unencrypted PEM keys only",
            hint="keep the key in Secret Manager and pass it with env:VAR, or use gcpkms://",
        ) from None
    except (ValueError, UnicodeError):
        raise KeyUnreadable(
            f"{what} is not a PEM private key that can be read",
            hint=f"KEY is {KEY_FORMS}",
        ) from None
    public = check_public_key(private.public_key(), what)
    return CryptoSigner(private, sslib_key(public))


def load_signer(spec: str, environ: Mapping[str, str] | None = None) -> Signer:
    """The signer ``spec`` names (see the module docstring)."""
    env = os.environ if environ is None else environ
    if spec.startswith("file:"):
        path = Path(spec.removeprefix("file:"))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyUnreadable(
                f"cannot read the signing key {path}: {exc.strerror or type(exc).__name__}",
                hint="check the path and its permissions",
            ) from None
        return _pem_private_key(data, f"the signing key {path}")
    if spec.startswith("env:"):
        name = spec.removeprefix("env:")
        value = env.get(name)
        if not value:
            raise KeyUnreadable(
                f"the signing key variable ${name} is not set or empty",
                hint="set it to the PEM private key (e.g. from Secret Manager)",
            )
        return _pem_private_key(value.encode("utf-8"), f"the signing key in ${name}")
    if spec.startswith(KMS_PREFIX):
        from buildguard._attest.kms import load_kms_signer

        return load_kms_signer(spec, env)
    raise KeyUnreadable(f"{spec!r} is not a key buildguard can use", hint=f"KEY is {KEY_FORMS}")


def load_public_key(spec: str, environ: Mapping[str, str] | None = None) -> SSlibKey:
    """The public key (PEM SubjectPublicKeyInfo) at ``spec``: a path, ``file:PATH`` or
    ``env:VAR``."""
    env = os.environ if environ is None else environ
    if spec.startswith("env:"):
        name = spec.removeprefix("env:")
        text = env.get(name)
        if not text:
            raise KeyUnreadable(f"the public key variable ${name} is not set or empty")
        data, what = text.encode("utf-8"), f"the public key in ${name}"
    else:
        path = Path(spec.removeprefix("file:"))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyUnreadable(
                f"cannot read the public key {path}: {exc.strerror or type(exc).__name__}",
                hint="check the path and its permissions",
            ) from None
        what = f"the public key {path}"
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnicodeError):
        raise KeyUnreadable(
            f"{what} is not a PEM public key",
            hint="export it with `openssl pkey -pubout` (or `gcloud kms keys versions "
            "get-public-key`)",
        ) from None
    return sslib_key(check_public_key(public, what))
