"""A loopback stand-in of the Cloud KMS REST API (``cryptoKeyVersions.getPublicKey`` and
``.asymmetricSign``), for the real ``google-cloud-kms`` client (REST transport).

It holds the private keys (``add_key``) and answers as the real API does: the public key
as PEM with its CRC32C, the signature (DER ECDSA over the digest given, or Ed25519 over the
data given) with its CRC32C and ``verifiedDigestCrc32c``/``verifiedDataCrc32c``. Every
request is recorded with its path and JSON body.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

import google_crc32c
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils
from loopbackserver import LoopbackServer, QuietHandler, send_json

_VERSION = (
    r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+/cryptoKeyVersions/[^/:]+"
)
_PUBLIC = re.compile(rf"^/v1/({_VERSION})/publicKey$")
_SIGN = re.compile(rf"^/v1/({_VERSION}):asymmetricSign$")

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def crc(data: bytes) -> str:
    return str(google_crc32c.value(data))


@dataclass
class Seen:
    method: str
    name: str
    body: dict[str, Any] | None


class KmsStandIn(LoopbackServer):
    def __init__(self) -> None:
        self.keys: dict[str, PrivateKey] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server._handle(self)

            do_POST = do_GET

        self._listen(Handler)

    def add_key(self, name: str, key: PrivateKey) -> None:
        self.keys[name] = key

    def _error(self, handler: BaseHTTPRequestHandler, code: int, status: str, what: str) -> None:
        send_json(handler, code, {"error": {"code": code, "status": status, "message": what}})

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = unquote(urlsplit(handler.path).path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        with self._lock:
            if handler.command == "GET" and (m := _PUBLIC.match(path)):
                self.requests.append(Seen("getPublicKey", m[1], body))
                self._public_key(handler, m[1])
            elif handler.command == "POST" and (m := _SIGN.match(path)):
                self.requests.append(Seen("asymmetricSign", m[1], body))
                self._sign(handler, m[1], body or {})
            else:
                self._error(handler, 404, "NOT_FOUND", f"no route {handler.command} {path}")

    def _public_key(self, handler: BaseHTTPRequestHandler, name: str) -> None:
        key = self.keys.get(name)
        if key is None:
            self._error(handler, 404, "NOT_FOUND", f"{name} not found")
            return
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        algorithm = (
            "EC_SIGN_ED25519"
            if isinstance(key, ed25519.Ed25519PrivateKey)
            else ("EC_SIGN_P256_SHA256")
        )
        send_json(
            handler,
            200,
            {
                "pem": pem.decode(),
                "algorithm": algorithm,
                "pemCrc32c": crc(pem),
                "name": name,
                "protectionLevel": "SOFTWARE",
            },
        )

    def _sign(self, handler: BaseHTTPRequestHandler, name: str, body: dict[str, Any]) -> None:
        key = self.keys.get(name)
        if key is None:
            self._error(handler, 404, "NOT_FOUND", f"{name} not found")
            return
        answer: dict[str, Any] = {"name": name, "protectionLevel": "SOFTWARE"}
        if isinstance(key, ed25519.Ed25519PrivateKey):
            data = base64.b64decode(body["data"])
            if "dataCrc32c" in body and body["dataCrc32c"] != crc(data):
                self._error(handler, 400, "INVALID_ARGUMENT", "data CRC32C mismatch")
                return
            signature = key.sign(data)
            answer["verifiedDataCrc32c"] = "dataCrc32c" in body
        else:
            digest = base64.b64decode(body["digest"]["sha256"])
            if "digestCrc32c" in body and body["digestCrc32c"] != crc(digest):
                self._error(handler, 400, "INVALID_ARGUMENT", "digest CRC32C mismatch")
                return
            signature = key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
            answer["verifiedDigestCrc32c"] = "digestCrc32c" in body
        answer["signature"] = base64.b64encode(signature).decode()
        answer["signatureCrc32c"] = crc(signature)
        send_json(handler, 200, answer)
