"""Registry credentials and the WWW-Authenticate dance (Basic and Bearer).

Credentials are looked up in this order, the first that has an answer wins:

1. the docker config (``$DOCKER_CONFIG/config.json``, default ``~/.docker/config.json``):
   ``auths``, ``credHelpers`` and ``credsStore``, read by docker-py's ``docker.auth`` (which
   runs ``docker-credential-*`` helpers, so ``docker-credential-gcloud`` works);
2. Google Application Default Credentials (google-auth) for ``*.pkg.dev``, ``gcr.io``,
   ``*.gcr.io`` and the hosts in ``$BUILDGUARD_GOOGLE_REGISTRIES``, used as basic auth with
   user ``oauth2accesstoken`` and the access token as password;
3. anonymous.

They are looked up lazily, on the first 401, so a public registry never runs a helper.
No secret is ever put into a log record, an exception message or a ``repr``.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from buildguard.errors import UsageError

logger = logging.getLogger(__name__)

GOOGLE_USERNAME = "oauth2accesstoken"
GOOGLE_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
GOOGLE_REGISTRIES_ENV = "BUILDGUARD_GOOGLE_REGISTRIES"
TOKEN_LIFETIME_DEFAULT = 60.0
"""Seconds a bearer token lives when the token server does not say (distribution spec)."""
TOKEN_EXPIRY_MARGIN = 10.0
MAX_TOKEN_RESPONSE_BYTES = 1 << 20


@dataclass(frozen=True)
class Credentials:
    """What to authenticate with. The secrets never appear in ``repr`` or ``str``."""

    source: str
    """Where they came from, for messages: 'docker config …', 'Google ADC'."""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)
    """An OAuth2 refresh token (docker config ``identitytoken``), exchanged at the realm."""
    refresh: Callable[[], Credentials | None] | None = field(
        default=None, repr=False, compare=False
    )
    """For short-lived credentials (Google access tokens): get fresh ones."""

    def __repr__(self) -> str:
        return f"Credentials(source={self.source!r}, username={self.username!r}, secret=<hidden>)"

    __str__ = __repr__

    def basic_header(self) -> str | None:
        if self.username is None or self.password is None:
            return None
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


class Keychain(Protocol):
    def __call__(self, registry: str, notes: list[str]) -> Credentials | None: ...


# --------------------------------------------------------------------------- lookup


def _config_location() -> str:
    directory = os.environ.get("DOCKER_CONFIG")
    if directory:
        return os.path.join(directory, "config.json")
    return "~/.docker/config.json"


def docker_config_credentials(registry: str, notes: list[str]) -> Credentials | None:
    """Credentials for ``registry`` from the docker config and its credential helpers."""
    import docker.auth
    import docker.errors

    location = _config_location()
    try:
        config = docker.auth.load_config()
    except docker.errors.DockerException as exc:
        raise UsageError(
            f"the docker config {location} could not be read: {exc}",
            hint="fix the file, or point DOCKER_CONFIG at a directory with a valid config.json",
        ) from None
    lookup = registry
    if lookup in ("registry-1.docker.io", "index.docker.io"):
        lookup = "docker.io"
    try:
        with warnings.catch_warnings():
            # docker-py warns when a configured helper is not on PATH; it then fails below.
            warnings.simplefilter("ignore")
            entry: Mapping[str, Any] | None = config.resolve_authconfig(lookup)
    except docker.errors.DockerException as exc:
        helper = config.get_credential_store(lookup)
        notes.append(
            f"the credential helper docker-credential-{helper} named in {location} failed "
            f"for {registry} ({_one_line(str(exc))})"
        )
        logger.info("credential helper for %s failed; trying other credentials", registry)
        return None
    if not entry:
        return None
    helper = (
        config.get_credential_store(lookup) if (config.creds_store or config.cred_helpers) else None
    )
    where = (
        f"credential helper docker-credential-{helper} ({location})"
        if "ServerAddress" in entry and helper
        else f"docker config {location}"
    )
    identity = entry.get("IdentityToken")
    username = entry.get("username") or entry.get("Username")
    password = entry.get("password") or entry.get("Password")
    if identity:
        return Credentials(source=where, username=username, identity_token=str(identity))
    if username is None or password is None:
        return None
    return Credentials(source=where, username=str(username), password=str(password))


def _split_env_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(item.strip().lower() for item in value.split(",") if item.strip())


def host_matches(registry: str, patterns: Sequence[str]) -> bool:
    """``registry`` (``host[:port]``) equals a pattern, or its host equals a port-less one."""
    registry = registry.lower()
    host = _host_only(registry)
    for pattern in patterns:
        pattern = pattern.lower().removeprefix("http://").removeprefix("https://").rstrip("/")
        if registry == pattern or (host == pattern and not _has_port(pattern)):
            return True
    return False


def _has_port(hostport: str) -> bool:
    if hostport.startswith("["):
        return "]:" in hostport
    return ":" in hostport


def _host_only(hostport: str) -> str:
    if hostport.startswith("["):
        return hostport[1 : hostport.index("]")]
    return hostport.rsplit(":", 1)[0] if ":" in hostport else hostport


def is_loopback(hostport: str) -> bool:
    host = _host_only(hostport.lower())
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_google_registry(registry: str) -> bool:
    """``*.pkg.dev``, ``gcr.io``, ``*.gcr.io``, or named in ``$BUILDGUARD_GOOGLE_REGISTRIES``."""
    host = _host_only(registry.lower())
    if host == "gcr.io" or host.endswith((".gcr.io", ".pkg.dev")):
        return True
    return host_matches(registry, _split_env_list(os.environ.get(GOOGLE_REGISTRIES_ENV)))


def google_credentials(registry: str, notes: list[str]) -> Credentials | None:
    """Google Application Default Credentials as ``oauth2accesstoken:<access token>``."""
    if not is_google_registry(registry):
        return None
    try:
        import google.auth
        import google.auth.exceptions
        import google.auth.transport.requests
    except ImportError as exc:  # pragma: no cover - google-auth is a dependency
        notes.append(f"google-auth is not importable ({exc})")
        return None

    def fetch() -> Credentials | None:
        try:
            found: tuple[Any, Any] = google.auth.default(scopes=list(GOOGLE_SCOPES))
            creds = found[0]
            creds.refresh(google.auth.transport.requests.Request())
        except google.auth.exceptions.DefaultCredentialsError:
            notes.append(
                "no Google Application Default Credentials were found "
                "(set GOOGLE_APPLICATION_CREDENTIALS or run `gcloud auth application-default "
                "login`, or run on Google Cloud)"
            )
            return None
        except google.auth.exceptions.GoogleAuthError as exc:
            notes.append(
                "Google Application Default Credentials could not get an access token "
                f"({type(exc).__name__}: {_one_line(str(exc))})"
            )
            return None
        token = getattr(creds, "token", None)
        if not token:
            notes.append("Google Application Default Credentials returned no access token")
            return None
        return Credentials(
            source="Google Application Default Credentials",
            username=GOOGLE_USERNAME,
            password=str(token),
            refresh=fetch,
        )

    return fetch()


def default_keychain(registry: str, notes: list[str]) -> Credentials | None:
    """Docker config, then Google ADC (for Google registries), then ``None`` (anonymous)."""
    found = docker_config_credentials(registry, notes)
    if found is not None:
        return found
    return google_credentials(registry, notes)


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- challenges


@dataclass(frozen=True)
class Challenge:
    scheme: str
    """Lower-case: ``basic`` or ``bearer`` (others are kept but not answered)."""
    params: Mapping[str, str]


_AUTH_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)')
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9_.-]*)(?:\s+|$)")


def parse_www_authenticate(header: str) -> list[Challenge]:
    """Parse ``Bearer realm="…",service="…",scope="…"`` (several challenges allowed)."""
    challenges: list[Challenge] = []
    pos = 0
    while pos < len(header):
        while pos < len(header) and header[pos] in " ,":
            pos += 1
        scheme_match = _SCHEME.match(header, pos)
        if scheme_match is None:
            break
        scheme = scheme_match.group(1).lower()
        pos = scheme_match.end()
        params: dict[str, str] = {}
        while pos < len(header):
            param = _AUTH_PARAM.match(header, pos)
            if param is None:
                break
            quoted, bare = param.group(2), param.group(3)
            value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else (bare or "")
            params[param.group(1).lower()] = value
            pos = param.end()
        challenges.append(Challenge(scheme=scheme, params=params))
    return challenges


# --------------------------------------------------------------------------- authenticator


class TokenFetcher(Protocol):
    def __call__(
        self, method: str, url: str, *, headers: Mapping[str, str], form: Mapping[str, str] | None
    ) -> httpx.Response: ...


class AuthFailed(Exception):
    """Internal: the registry refused us; :class:`RegistrySource` turns it into a message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Authenticator:
    """Holds the ``Authorization`` value for one registry repository and renews it on 401.

    ``fetch`` sends a request to the token realm (with the caller's retries for 429/5xx and
    connection errors); ``allow_plain_http`` says whether a host may be reached over HTTP.
    """

    def __init__(
        self,
        registry: str,
        repository: str,
        fetch: TokenFetcher,
        *,
        allow_plain_http: Callable[[str], bool],
        keychain: Keychain = default_keychain,
    ) -> None:
        self.registry = registry
        self.repository = repository
        self._fetch = fetch
        self._allow_plain_http = allow_plain_http
        self._keychain = keychain
        self._resolved = False
        self._credentials: Credentials | None = None
        self.notes: list[str] = []
        """Why credentials we expected were not used (helper failed, no ADC), for messages."""
        self._header: str | None = None
        self._expires_at: float | None = None
        self._bearer: Challenge | None = None

    def __repr__(self) -> str:
        return f"Authenticator(registry={self.registry!r}, repository={self.repository!r})"

    @property
    def credentials(self) -> Credentials | None:
        return self._credentials

    @property
    def has_credentials(self) -> bool:
        return self._credentials is not None

    @property
    def credentials_source(self) -> str | None:
        return None if self._credentials is None else self._credentials.source

    def authorization(self) -> str | None:
        """The ``Authorization`` header value for the next request (``None``: anonymous)."""
        if (
            self._bearer is not None
            and self._expires_at is not None
            and time.monotonic() >= self._expires_at
        ):
            logger.debug("bearer token for %s expired; fetching a new one", self.registry)
            self._get_token(self._bearer)
        return self._header

    def _resolve(self) -> None:
        if not self._resolved:
            self._resolved = True
            self._credentials = self._keychain(self.registry, self.notes)
            logger.debug(
                "credentials for %s: %s",
                self.registry,
                self._credentials.source if self._credentials else "anonymous",
            )

    def handle_unauthorized(self, response: httpx.Response, *, renew: bool) -> None:
        """Prepare a new ``Authorization`` after a 401, or raise :class:`AuthFailed`.

        ``renew`` is true when the header we sent was not obtained during this request (an
        expired token, short-lived credentials): credentials are then refreshed once.
        """
        challenges = parse_www_authenticate(response.headers.get("www-authenticate", ""))
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        already_resolved = self._resolved
        self._resolve()
        if renew and already_resolved:
            self._refresh_credentials()
        if bearer is not None:
            self._bearer = bearer
            self._get_token(bearer)
            return
        if basic is not None or not challenges:
            if self._credentials is None:
                raise AuthFailed("no-credentials")
            header = self._credentials.basic_header()
            if header is None:
                raise AuthFailed("unsupported-credentials")
            self._header = header
            self._bearer = None
            self._expires_at = None
            return
        raise AuthFailed(f"unsupported-challenge:{challenges[0].scheme}")

    def _refresh_credentials(self) -> None:
        creds = self._credentials
        if creds is not None and creds.refresh is not None:
            logger.debug("refreshing short-lived credentials for %s", self.registry)
            self._credentials = creds.refresh()

    def _get_token(self, challenge: Challenge) -> None:
        realm = challenge.params.get("realm")
        if not realm:
            raise AuthFailed("bearer-without-realm")
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AuthFailed(f"bad-realm:{realm}")
        if parts.scheme == "http" and not self._allow_plain_http(parts.netloc):
            raise AuthFailed(f"plain-http-realm:{parts.netloc}")
        scopes = [f"repository:{self.repository}:pull"]
        for scope in challenge.params.get("scope", "").split():
            if scope not in scopes:
                scopes.append(scope)
        creds = self._credentials
        params: list[tuple[str, str | int | float | bool | None]] = []
        if challenge.params.get("service"):
            params.append(("service", challenge.params["service"]))
        headers: dict[str, str] = {}
        form: dict[str, str] | None = None
        if creds is not None and creds.identity_token is not None:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "client_id": "buildguard",
                "scope": " ".join(scopes),
            }
            if "service" in challenge.params:
                form["service"] = challenge.params["service"]
            method, url = "POST", realm
        else:
            params.extend(("scope", s) for s in scopes)
            if creds is not None:
                basic = creds.basic_header()
                if basic is not None:
                    headers["Authorization"] = basic
            method = "GET"
            url = str(httpx.URL(realm).copy_merge_params(params))
        response = self._fetch(method, url, headers=headers, form=form)
        try:
            if response.status_code in (401, 403):
                raise AuthFailed(f"token-refused:{response.status_code}")
            if response.status_code != 200:
                raise AuthFailed(f"token-status:{response.status_code}")
            body = response.read()
        finally:
            response.close()
        if len(body) > MAX_TOKEN_RESPONSE_BYTES:
            raise AuthFailed("token-response-too-large")
        try:
            import json

            data = json.loads(body)
        except ValueError:
            raise AuthFailed("token-not-json") from None
        if not isinstance(data, dict):
            raise AuthFailed("token-not-json")
        token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthFailed("token-missing")
        lifetime = data.get("expires_in")
        seconds = (
            float(lifetime)
            if isinstance(lifetime, int | float) and lifetime > 0
            else TOKEN_LIFETIME_DEFAULT
        )
        self._header = f"Bearer {token}"
        self._expires_at = time.monotonic() + max(seconds - TOKEN_EXPIRY_MARGIN, 1.0)
        logger.debug("got a bearer token for %s (lifetime %.0fs)", self.registry, seconds)


def describe_auth_failure(
    reason: str, registry: str, repository: str, authenticator: Authenticator
) -> tuple[str, str]:
    """Message and hint for an :class:`AuthFailed` reason (never with a secret)."""
    where = f"registry {registry}, repository {repository}"
    notes = "; ".join(authenticator.notes)
    note_text = f" ({notes})" if notes else ""
    login = (
        f"run `docker login {registry}` or set DOCKER_CONFIG to a directory whose "
        "config.json has credentials for it"
    )
    source = authenticator.credentials_source
    if reason == "no-credentials" or (reason.startswith("token-refused") and source is None):
        return (
            f"authentication required: {where} refused anonymous access and no credentials "
            f"were found for it{note_text}",
            login,
        )
    if reason.startswith("token-refused") or reason == "rejected":
        return (
            f"authentication failed: {where} rejected the credentials from {source}{note_text}",
            f"check that they are current and may pull {repository}; {login}",
        )
    if reason == "denied":
        return (
            f"access denied: {where} does not let "
            f"{'these credentials (' + source + ')' if source else 'anonymous users'} "
            f"pull this repository{note_text}",
            f"check the repository name and your permissions; {login}",
        )
    if reason.startswith("plain-http-realm:"):
        host = reason.split(":", 1)[1]
        return (
            f"{where} sent its token server {host} over plain HTTP; refusing to send "
            "credentials or trust tokens over an unencrypted connection",
            f"add {host} to --insecure-registry / $BUILDGUARD_INSECURE_REGISTRIES if this is "
            "intended (test registries only)",
        )
    if reason == "unsupported-credentials":
        return (
            f"{where} asks for basic auth but the credentials from {source} are an identity token",
            login,
        )
    return (
        f"could not authenticate to {where}: {reason}{note_text}",
        "check the registry's auth configuration (WWW-Authenticate and token server)",
    )
