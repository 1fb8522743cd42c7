"""The DSSE envelope: securesystemslib's :class:`~securesystemslib.dsse.Envelope` signs the
PAE (``DSSEv1 LEN(type) type LEN(body) body``) of the statement's JSON; verification tries
every signature of an envelope against one public key (a ``keyid`` is a hint that the DSSE
spec leaves unauthenticated, so it never decides alone)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import UnverifiedSignatureError, VerificationError
from securesystemslib.signer import Signature, Signer, SSlibKey

from buildguard._attest.statement import PAYLOAD_TYPE


def sign_statement(statement: dict[str, Any], signer: Signer) -> bytes:
    """The JSON bytes of a DSSE envelope of ``statement`` signed by ``signer``."""
    payload = json.dumps(statement, separators=(",", ":"), sort_keys=True).encode("utf-8")
    envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    envelope.sign(signer)
    return json.dumps(envelope.to_dict(), separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Opened:
    """What an envelope held, and whether ``key`` signed it."""

    payload_type: str | None
    payload: bytes | None
    keyids: tuple[str, ...]
    signed: bool
    problem: str | None
    """Why it is not signed by the key (or could not be read), else ``None``."""


def _b64(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def open_envelope(data: bytes, key: SSlibKey) -> Opened:
    """Read a DSSE envelope (JSON) and check its signatures against ``key``."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return Opened(None, None, (), False, "the layer is not a JSON DSSE envelope")
    if not isinstance(doc, dict):
        return Opened(None, None, (), False, "the layer is not a JSON DSSE envelope")
    payload_type = doc.get("payloadType")
    payload = _b64(doc.get("payload"))
    sigs = doc.get("signatures")
    if not isinstance(payload_type, str) or payload is None or not isinstance(sigs, list):
        return Opened(
            None, None, (), False, "the envelope lacks payloadType, payload or signatures"
        )
    keyids = tuple(str(s.get("keyid", "")) for s in sigs if isinstance(s, dict) and s.get("keyid"))
    pae = Envelope(payload, payload_type, {}).pae()
    mentioned = False
    for entry in sigs:
        if not isinstance(entry, dict):
            continue
        raw = _b64(entry.get("sig"))
        if raw is None:
            continue
        mentioned = mentioned or entry.get("keyid") == key.keyid
        try:
            key.verify_signature(Signature(key.keyid, raw.hex()), pae)
        except (UnverifiedSignatureError, VerificationError):  # "not this key"
            continue
        return Opened(payload_type, payload, keyids, True, None)
    if mentioned:
        problem = (
            f"bad signature: a signature names key {key.keyid[:16]}… but does not verify "
            "(the payload or the signature was changed)"
        )
    else:
        named = ", ".join(k[:16] + "…" for k in keyids) or "no keyid"
        problem = f"not signed by key {key.keyid[:16]}… (signatures by {named})"
    return Opened(payload_type, payload, keyids, False, problem)
