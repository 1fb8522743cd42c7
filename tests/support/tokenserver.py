"""A real Docker token server (distribution's token auth spec) on 127.0.0.1, in a thread.

It signs RS256 JWTs with a fresh RSA key whose self-signed certificate it writes to
``cert_path``; a ``docker-registry`` started with :meth:`TokenServer.registry_config`
trusts it (``auth.token``: realm, service, issuer, rootcertbundle). The token carries the
certificate in ``x5c``, which distribution verifies against the root bundle.

Knobs for tests: ``users`` (basic-auth users that get tokens; anonymous users get tokens
with no access unless ``anonymous_pull``), ``expired`` (the next N tokens are already
expired, as if issued long ago), ``field`` (``token``, ``access_token`` or both),
``expires_in`` (what the response claims), and ``requests`` (every request seen).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from loopbackserver import LoopbackServer, QuietHandler, send_body

if TYPE_CHECKING:
    from services import Registry

ISSUER = "buildguard-test-issuer"
SERVICE = "buildguard-test-registry"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class TokenRequest:
    method: str
    params: dict[str, list[str]]
    user: str | None
    issued: bool


class TokenServer(LoopbackServer):
    def __init__(
        self,
        directory: Path,
        users: dict[str, str] | None = None,
        *,
        anonymous_pull: bool = False,
        service: str = SERVICE,
    ) -> None:
        self.users = dict(users or {})
        self.anonymous_pull = anonymous_pull
        self.service = service
        self.expired = 0
        self.field = "token"
        self.expires_in: int | None = 300
        self.requests: list[TokenRequest] = []
        self.issued_tokens: list[str] = []
        self._lock = threading.Lock()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "buildguard test token CA")])
        now = dt.datetime.now(dt.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        self.cert_path = directory / "token-ca.pem"
        self.cert_path.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server._handle(self, parse_qs(urlsplit(self.path).query))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                server._handle(self, {**parse_qs(urlsplit(self.path).query), **form})

        self._listen(Handler)
        self.realm = f"{self.url}/token"

    def registry_config(self) -> dict[str, Any]:
        """The ``extra_config`` for ``services.start_registry``."""
        return {
            "auth": {
                "token": {
                    "realm": self.realm,
                    "service": self.service,
                    "issuer": ISSUER,
                    "rootcertbundle": str(self.cert_path),
                }
            }
        }

    def make_token(
        self, subject: str, access: list[dict[str, Any]], *, expired: bool = False
    ) -> str:
        now = int(time.time())
        # distribution allows 60 s of clock skew: an "expired" token ended 10 minutes ago.
        exp = now - 600 if expired else now + 300
        header = {
            "typ": "JWT",
            "alg": "RS256",
            "x5c": [base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()],
        }
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": self.service,
            "exp": exp,
            "nbf": (exp - 900) if expired else now - 10,
            "iat": (exp - 900) if expired else now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def _user(
        self, handler: BaseHTTPRequestHandler, params: dict[str, list[str]]
    ) -> tuple[bool, str | None]:
        """(authorised, user). An unknown user or wrong password is not authorised."""
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return self.users.get(user) == password, user
        if params.get("grant_type") == ["refresh_token"]:
            refresh = (params.get("refresh_token") or [""])[0]
            for user, password in self.users.items():
                if refresh == f"refresh-{password}":
                    return True, user
            return False, None
        return True, None

    def _handle(self, handler: BaseHTTPRequestHandler, params: dict[str, list[str]]) -> None:
        ok, user = self._user(handler, params)
        with self._lock:
            self.requests.append(
                TokenRequest(method=handler.command, params=params, user=user, issued=ok)
            )
        if not ok:
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
            send_body(handler, 401, body, "application/json")
            return
        access: list[dict[str, Any]] = []
        scopes = [s for value in params.get("scope", []) for s in value.split(" ")]
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            wanted = actions.split(",")
            allowed = (
                {"pull", "push", "*"} if user else ({"pull"} if self.anonymous_pull else set())
            )
            granted = [a for a in wanted if a in allowed]
            if granted:
                access.append({"type": "repository", "name": name, "actions": granted})
        with self._lock:
            expired = self.expired > 0
            if expired:
                self.expired -= 1
        token = self.make_token(user or "", access, expired=expired)
        with self._lock:
            self.issued_tokens.append(token)
        payload: dict[str, Any] = {"issued_at": dt.datetime.now(dt.UTC).isoformat()}
        if self.field in ("token", "both"):
            payload["token"] = token
        if self.field in ("access_token", "both"):
            payload["access_token"] = token
        if self.expires_in is not None:
            payload["expires_in"] = self.expires_in
        send_body(handler, 200, json.dumps(payload).encode(), "application/json")


@contextlib.contextmanager
def token_registry(
    directory: Path, users: dict[str, str]
) -> Iterator[tuple[TokenServer, Registry]]:
    """A running token server and a real registry that trusts it (``auth.token``)."""
    from services import start_registry

    with TokenServer(directory / "tokens", users) as tokens:
        registry = start_registry(directory / "registry", tokens.registry_config())
        try:
            yield tokens, registry
        finally:
            registry.stop()
