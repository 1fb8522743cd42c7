"""The registry's challenge answered in one place: an ``httpx.Auth`` flow.

For each request to the registry host the flow adds the ``Authorization`` it holds for the
request's scope (``pull``, or ``pull,push`` for a write), sends it, and on a 401 answers the
challenge once: ``Basic`` with the keychain's credentials; ``Bearer`` with a token from the
realm (``GET realm?service=…&scope=repository:REPO:ACTIONS`` with basic auth, or ``POST
grant_type=refresh_token`` for an identity token; ``token`` or ``access_token``; renewed
before ``expires_in``, default 60 s, runs out). Credentials that predate the 401 (an
expired token, a Google token that aged) are refreshed once before the answer; a second 401,
to the answer itself, is a :class:`RegistryAuthError`: no loops. A 403 from
the registry is "access denied". Requests to any other host (a storage redirect) are sent
untouched: our credentials never leave the registry host.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from buildguard._image.transport.challenge import Challenge, parse_www_authenticate
from buildguard._image.transport.errors import (
    ERROR_BODY_SECONDS,
    MAX_ERROR_BODY,
    AuthProblem,
    Diagnostic,
    Repo,
    auth_error,
    read_diagnostics,
)
from buildguard._image.transport.keychain import Credentials, Provider, default_keychain
from buildguard._image.transport.retry import BUDGET_EXTENSION, RetryBudget
from buildguard._internal.bodyread import (
    BodyTooLarge,
    EncodedTooLarge,
    read_for_httpx,
    settle_quietly,
)
from buildguard._internal.deadline import Deadline, within
from buildguard._internal.decode import DecodeError, UnsupportedEncoding

logger = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"PUT", "POST", "PATCH", "DELETE"})
TOKEN_LIFETIME_DEFAULT = 60.0
"""Seconds a bearer token lives when the token server does not say (distribution spec)."""
TOKEN_EXPIRY_MARGIN = 10.0
MAX_TOKEN_RESPONSE_BYTES = 1 << 20
MAX_TOKEN_CHARS = 64 << 10
"""A longer token is refused, never sent as a header (real ones are a few KB)."""

Flow = Generator[httpx.Request, httpx.Response, None]
TokenFlow = Generator[httpx.Request, httpx.Response, "_Header"]


@dataclass(frozen=True)
class _Header:
    value: str
    expires_at: float | None = None

    def expired(self) -> bool:
        return self.expires_at is not None and time.monotonic() >= self.expires_at


class RegistryAuth(httpx.Auth):
    """Authentication to one repository of one registry (see the module docstring).

    ``api_host`` is the ``host[:port]`` requests go to; ``allow_plain_http(host)`` says
    whether a token realm may be plain HTTP.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        repo: Repo,
        api_host: str,
        *,
        allow_plain_http: Callable[[str], bool],
        keychain: Provider = default_keychain,
    ) -> None:
        self.repo = repo
        self._api_host = api_host
        self._allow_plain_http = allow_plain_http
        self._keychain = keychain
        self._resolved = False
        self._credentials: Credentials | None = None
        self.notes: list[str] = []
        """Why credentials we expected were not used (helper failed, no ADC), for messages."""
        self._basic: _Header | None = None
        self._bearer: Challenge | None = None
        self._tokens: dict[str, _Header] = {}

    def __repr__(self) -> str:
        return f"RegistryAuth({self.repo.registry!r}, {self.repo.repository!r})"

    @property
    def credentials(self) -> Credentials | None:
        return self._credentials

    @property
    def credentials_source(self) -> str | None:
        return None if self._credentials is None else self._credentials.source

    def _to_registry(self, url: httpx.URL) -> bool:
        return url.netloc.decode("ascii").lower() == self._api_host.lower()

    # ------------------------------------------------------------------ the flow

    def auth_flow(self, request: httpx.Request) -> Flow:
        if not self._to_registry(request.url):
            yield request
            return
        actions = "pull,push" if request.method in WRITE_METHODS else "pull"
        header = self._basic or self._tokens.get(actions)
        if self._bearer is not None and (header is None or header.expired()):
            # Renewed ahead of time, so a 401 to it may still be answered once.
            header = yield from self._token(self._bearer, actions)
        if header is not None:
            request.headers["Authorization"] = header.value
        response = yield request
        if response.status_code == 401 and self._to_registry(response.request.url):
            # httpx reads this answered response again, whole and unbounded: read it first
            with within(Deadline.after(ERROR_BODY_SECONDS, "the error body's deadline")):
                settle_quietly(response, MAX_ERROR_BODY)
            header = yield from self._answer(response, actions)
            request.headers["Authorization"] = header.value
            response = yield request
            if response.status_code == 401 and self._to_registry(response.request.url):
                raise self._refused(response)
        if response.status_code == 403 and self._to_registry(response.request.url):
            diagnostics = read_diagnostics(response)
            raise auth_error(
                AuthProblem.DENIED,
                self.repo,
                source=self.credentials_source,
                notes=self.notes,
                status=403,
                diagnostics=diagnostics,
                detail=_verb(actions),
            )

    def _refused(self, response: httpx.Response) -> Exception:
        diagnostics = read_diagnostics(response)
        return auth_error(
            AuthProblem.REJECTED,
            self.repo,
            source=self.credentials_source,
            notes=self.notes,
            status=response.status_code,
            diagnostics=diagnostics,
        )

    def _resolve(self) -> None:
        if self._resolved:
            creds = self._credentials
            if creds is not None and creds.refresh is not None:
                logger.debug("refreshing short-lived credentials for %s", self.repo.registry)
                self._credentials = creds.refresh()
            return
        self._resolved = True
        self._credentials = self._keychain(self.repo.registry, self.notes)
        logger.debug(
            "credentials for %s: %s", self.repo.registry, self.credentials_source or "anonymous"
        )

    def _answer(self, response: httpx.Response, actions: str) -> TokenFlow:
        """A new header after a 401 (credentials refreshed when they predate it)."""
        challenges = parse_www_authenticate(response.headers.get("www-authenticate", ""))
        self._resolve()
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        if bearer is not None:
            self._bearer, self._basic = bearer, None
            return (yield from self._token(bearer, actions))
        if challenges and not any(c.scheme == "basic" for c in challenges):
            raise self._error(
                AuthProblem.BAD_CHALLENGE, f"unsupported challenge scheme {challenges[0].scheme!r}"
            )
        if self._credentials is None:
            raise self._error(AuthProblem.NO_CREDENTIALS)
        value = self._credentials.basic_header()
        if value is None:
            raise self._error(AuthProblem.UNSUPPORTED_CREDENTIALS)
        self._basic, self._bearer = _Header(value), None
        return self._basic

    def _error(
        self,
        problem: AuthProblem,
        detail: str = "",
        *,
        status: int | None = None,
        diagnostics: tuple[Diagnostic, ...] = (),
        attempts: int = 1,
    ) -> Exception:
        return auth_error(
            problem,
            self.repo,
            source=self.credentials_source,
            notes=self.notes,
            detail=detail,
            status=status,
            diagnostics=diagnostics,
            attempts=attempts,
        )

    # ------------------------------------------------------------------ tokens

    def _token_request(self, challenge: Challenge, actions: str) -> httpx.Request:
        realm = challenge.params.get("realm", "")
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise self._error(AuthProblem.BAD_CHALLENGE, f"bad token realm {realm!r}")
        if parts.scheme == "http" and not self._allow_plain_http(parts.netloc):
            raise self._error(AuthProblem.PLAIN_HTTP_REALM, parts.netloc)
        ours = f"repository:{self.repo.repository}:"
        scopes = [ours + actions]  # plus what the challenge asks for other resources
        scopes += [s for s in challenge.params.get("scope", "").split() if not s.startswith(ours)]
        service = challenge.params.get("service")
        creds = self._credentials
        if creds is not None and creds.identity_token is not None:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "client_id": "buildguard",
                "scope": " ".join(scopes),
            }
            if service is not None:
                form["service"] = service
            return httpx.Request("POST", realm, data=form)
        params: list[tuple[str, str | int | float | bool | None]] = (
            [("service", service)] if service else []
        )
        params += [("scope", s) for s in scopes]
        headers = {}
        basic = creds.basic_header() if creds is not None else None
        if basic is not None:
            headers["Authorization"] = basic
        return httpx.Request("GET", httpx.URL(realm).copy_merge_params(params), headers=headers)

    def _token(self, challenge: Challenge, actions: str) -> TokenFlow:
        """Ask the realm for a token for ``actions``; store and return its header."""
        if not self._resolved:
            self._resolve()
        request = self._token_request(challenge, actions)
        response = yield request
        realm_host = request.url.netloc.decode("ascii")
        if response.status_code in (401, 403):
            response.close()
            raise self._error(AuthProblem.REJECTED)
        if response.status_code != 200:
            budget = request.extensions.get(BUDGET_EXTENSION)
            attempts = budget.attempts if isinstance(budget, RetryBudget) else 1
            raise self._error(
                AuthProblem.TOKEN_SERVER_FAILED,
                realm_host,
                status=response.status_code,
                diagnostics=read_diagnostics(response),
                attempts=attempts,
            )
        body = self._read_token_body(response, request, realm_host)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        token = (data.get("token") or data.get("access_token")) if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise self._error(AuthProblem.BAD_TOKEN, f"{realm_host} sent no token")
        if len(token) > MAX_TOKEN_CHARS:  # never sent as a header
            raise self._error(
                AuthProblem.BAD_TOKEN,
                f"{realm_host} sent a token of "
                f"{len(token)} characters (at most {MAX_TOKEN_CHARS} are used)",
            )
        assert isinstance(data, dict)
        lifetime = data.get("expires_in")
        seconds = (
            float(lifetime)
            if isinstance(lifetime, int | float) and lifetime > 0
            else TOKEN_LIFETIME_DEFAULT
        )
        header = _Header(
            f"Bearer {token}", time.monotonic() + max(seconds - TOKEN_EXPIRY_MARGIN, 1.0)
        )
        self._tokens[actions] = header
        logger.debug("got a %s token for %s (lifetime %.0fs)", actions, self.repo.registry, seconds)
        return header

    def _read_token_body(
        self, response: httpx.Response, request: httpx.Request, realm_host: str
    ) -> bytes:
        """The token server's answer, at most 1 MiB decoded, within one request's deadline
        (httpx reads it again after the flow moves on: it is handed what was read)."""
        budget = request.extensions.get(BUDGET_EXTENSION)
        bound = budget.policy.request_bound() if isinstance(budget, RetryBudget) else None
        try:
            with within(bound):
                return read_for_httpx(response, MAX_TOKEN_RESPONSE_BYTES)
        except BodyTooLarge:
            raise self._error(AuthProblem.BAD_TOKEN, f"{realm_host} sent more than 1 MiB") from None
        except (EncodedTooLarge, DecodeError, UnsupportedEncoding) as exc:
            raise self._error(
                AuthProblem.BAD_TOKEN,
                f"{realm_host} sent a body buildguard cannot read ({type(exc).__name__}: {exc})",
            ) from None


def _verb(actions: str) -> str:
    return "push to" if "push" in actions else "pull"
