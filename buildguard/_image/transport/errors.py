"""``RegistryError``: what went wrong talking to a registry, as typed data.

Every failure of the registry client ends in a :class:`RegistryError` (an
:class:`~buildguard.errors.ImageReadError`, exit 3) that carries the HTTP status, the
registry's error codes (distribution's JSON error body), whether the failure is
``temporary`` (worth retrying later) and how many attempts were made; authentication
failures are a :class:`RegistryAuthError` with an :class:`AuthProblem`. The message the CLI
prints is made here, from those fields, once: nothing downstream parses it back.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from buildguard._internal.bodyread import BodyTooLarge, EncodedTooLarge, read_bounded
from buildguard._internal.deadline import Deadline, within
from buildguard._internal.decode import DecodeError, UnsupportedEncoding
from buildguard._internal.text import one_line
from buildguard.errors import ImageReadError

TEMPORARY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
TEMPORARY_CODES = frozenset({"BLOB_UPLOAD_INVALID", "TOOMANYREQUESTS", "UNKNOWN", "UNAVAILABLE"})
MAX_ERROR_BODY = 64 * 1024
ERROR_BODY_SECONDS = 10.0
"""An error body (at most 64 KiB) arrives within this, or is ignored."""


@dataclass(frozen=True)
class Repo:
    """One repository of one registry: what every message names."""

    registry: str
    repository: str

    def __str__(self) -> str:
        return f"registry {self.registry}, repository {self.repository}"


@dataclass(frozen=True)
class Subject:
    """What a request was about: ``manifest v1``, ``blob sha256:…``, ``tag verified``."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Diagnostic:
    """One entry of a distribution error body: ``{"code": …, "message": …}``."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


def read_diagnostics(response: httpx.Response) -> tuple[Diagnostic, ...]:
    """The error entries of a response body (at most 64 KiB, decoded, within
    ``ERROR_BODY_SECONDS``), then release it. A body we cannot read has none."""
    body = b""
    try:
        if response.is_stream_consumed:
            body = response.content[:MAX_ERROR_BODY]
        else:
            with within(Deadline.after(ERROR_BODY_SECONDS, "the error body's deadline")):
                body = read_bounded(response, MAX_ERROR_BODY)
    except (
        httpx.HTTPError,
        httpx.StreamError,
        BodyTooLarge,
        EncodedTooLarge,
        DecodeError,
        UnsupportedEncoding,
    ):
        pass
    finally:
        response.close()
    try:
        data = json.loads(body)
    except ValueError:
        return ()
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return ()
    found = []
    for entry in errors[:3]:
        if isinstance(entry, dict):
            code = one_line(str(entry.get("code", "")), 60)
            message = one_line(str(entry.get("message", "")), 200)
            if code or message:
                found.append(Diagnostic(code, message))
    return tuple(found)


def is_temporary(status: int | None, diagnostics: Sequence[Diagnostic] = ()) -> bool:
    """go-containerregistry's rule: a temporary status, or only temporary error codes."""
    if diagnostics:
        return all(d.code in TEMPORARY_CODES for d in diagnostics)
    return status in TEMPORARY_STATUS


class RegistryError(ImageReadError):
    """A registry request failed (exit 3). The fields say how; ``str()`` says it in words."""

    def __init__(
        self,
        message: str,
        *,
        repo: Repo,
        subject: Subject | None = None,
        status: int | None = None,
        diagnostics: Sequence[Diagnostic] = (),
        attempts: int = 1,
        temporary: bool = False,
        hint: str | None = None,
    ) -> None:
        self.repo = repo
        self.subject = subject
        self.status = status
        self.diagnostics = tuple(diagnostics)
        self.attempts = attempts
        self.temporary = temporary
        super().__init__(message, hint=hint)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.diagnostics)


def http_detail(status: int, diagnostics: Sequence[Diagnostic]) -> str:
    """``HTTP 404 MANIFEST_UNKNOWN: manifest unknown`` (codes joined by ``; ``)."""
    codes = "; ".join(str(d) for d in diagnostics)
    return f"HTTP {status}" + (f" {codes}" if codes else "")


def status_error(
    response: httpx.Response,
    repo: Repo,
    subject: Subject,
    *,
    attempts: int = 1,
    verb: str = "read",
) -> RegistryError:
    """The error for a response whose status the caller did not expect (reads its body)."""
    status = response.status_code
    diagnostics = read_diagnostics(response)
    detail = http_detail(status, diagnostics)
    if status == 404 and verb == "read" and subject.kind == "manifest":
        message = f"not found: {repo} has no manifest {subject.name} ({detail})"
        hint = "check the repository name and the tag or digest, and that `docker push` finished"
    elif status == 404 and verb == "read":
        message = f"not found: {subject} is missing from {repo} ({detail})"
        hint = "the image is incomplete in the registry; push it again"
    elif status in TEMPORARY_STATUS:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        message = f"could not {verb} {subject} {_preposition(verb)} {repo}: {detail}{tries}"
        hint = "the registry is failing or rate-limiting; retry later"
    else:
        message = f"could not {verb} {subject} {_preposition(verb)} {repo}: {detail}"
        hint = "check the reference and the registry"
    return RegistryError(
        message,
        repo=repo,
        subject=subject,
        status=status,
        diagnostics=diagnostics,
        attempts=attempts,
        temporary=is_temporary(status, diagnostics),
        hint=hint,
    )


def _preposition(verb: str) -> str:
    return "to" if verb == "write" else "from"


def describe_exception(exc: BaseException) -> str:
    """``ReadTimeout: timed out`` on one line (never a URL query: httpx does not put one)."""
    text = one_line(str(exc), 200)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def transport_error(
    exc: httpx.TransportError,
    repo: Repo,
    subject: Subject,
    *,
    attempts: int,
    plain_http: bool,
    verb: str = "read",
) -> RegistryError:
    """No answer at all (refused, reset, timed out) after the retry budget was spent."""
    hint = "check the registry address, the network and the registry's health"
    if isinstance(exc, httpx.ConnectError) and "CERTIFICATE" in str(exc).upper():
        hint = (
            "the registry's TLS certificate is not trusted; fix it, or for a test registry "
            "name it with --insecure-registry / $BUILDGUARD_INSECURE_REGISTRIES"
        )
    via = ""
    try:
        host = exc.request.url.netloc.decode("ascii")
        if host != repo.registry:
            via = f" (talking to {host})"
    except RuntimeError:  # an exception raised without a request attached
        pass
    scheme = "http" if plain_http else "https"
    return RegistryError(
        f"could not {verb} {subject} {_preposition(verb)} {repo} over {scheme}{via}: "
        f"{describe_exception(exc)} (after {attempts} attempts)",
        repo=repo,
        subject=subject,
        attempts=attempts,
        temporary=True,
        hint=hint,
    )


def redirect_error(repo: Repo, subject: Subject, limit: int) -> RegistryError:
    return RegistryError(
        f"could not read {subject} from {repo}: it was redirected more than {limit} times "
        "(a redirect loop)",
        repo=repo,
        subject=subject,
        hint="the registry or its storage backend is misconfigured; report it to the "
        "registry's operator",
    )


# --------------------------------------------------------------------------- auth


class AuthProblem(enum.Enum):
    """Why authentication failed; each has its own message."""

    NO_CREDENTIALS = "no credentials"
    REJECTED = "credentials rejected"
    DENIED = "access denied"
    PLAIN_HTTP_REALM = "token server over plain HTTP"
    UNSUPPORTED_CREDENTIALS = "credentials unusable for the challenge"
    BAD_CHALLENGE = "challenge not understood"
    BAD_TOKEN = "token answer not understood"
    TOKEN_SERVER_FAILED = "token server failed"


class RegistryAuthError(RegistryError):
    """Authentication failed (exit 3); ``problem`` says how, ``str()`` never holds a secret."""

    def __init__(
        self,
        problem: AuthProblem,
        message: str,
        *,
        repo: Repo,
        credentials_source: str | None,
        hint: str,
        status: int | None = None,
        diagnostics: Sequence[Diagnostic] = (),
        attempts: int = 1,
    ) -> None:
        self.problem = problem
        self.credentials_source = credentials_source
        super().__init__(
            message,
            repo=repo,
            status=status,
            diagnostics=diagnostics,
            attempts=attempts,
            temporary=problem is AuthProblem.TOKEN_SERVER_FAILED
            and is_temporary(status, diagnostics),
            hint=hint,
        )


def auth_error(
    problem: AuthProblem,
    repo: Repo,
    *,
    source: str | None,
    notes: Sequence[str] = (),
    status: int | None = None,
    diagnostics: Sequence[Diagnostic] = (),
    detail: str = "",
    attempts: int = 1,
) -> RegistryAuthError:
    """Message and hint for ``problem``; ``source`` names where the credentials came from."""
    note_text = f" ({'; '.join(notes)})" if notes else ""
    login = (
        f"run `docker login {repo.registry}` or set DOCKER_CONFIG to a directory whose "
        "config.json has credentials for it"
    )
    said = f" ({http_detail(status, diagnostics)})" if status is not None else ""
    if problem is AuthProblem.REJECTED and source is None:
        problem = AuthProblem.NO_CREDENTIALS
    if problem is AuthProblem.NO_CREDENTIALS:
        message = (
            f"authentication required: {repo} refused anonymous access and no "
            f"credentials were found for it{note_text}"
        )
        hint = login
    elif problem is AuthProblem.REJECTED:
        message = f"authentication failed: {repo} rejected the credentials from {source}{said}"
        message += note_text
        hint = f"check that they are current and may pull {repo.repository}; {login}"
    elif problem is AuthProblem.DENIED:
        who = f"these credentials ({source})" if source else "anonymous users"
        message = f"access denied: {repo} does not let {who} {detail or 'pull'} this repository"
        message += f"{said}{note_text}"
        hint = f"check the repository name and your permissions; {login}"
    elif problem is AuthProblem.PLAIN_HTTP_REALM:
        message = (
            f"{repo} sent its token server {detail} over plain HTTP; refusing to send "
            "credentials or trust tokens over an unencrypted connection"
        )
        hint = (
            f"add {detail} to --insecure-registry / $BUILDGUARD_INSECURE_REGISTRIES if "
            "this is intended (test registries only)"
        )
    elif problem is AuthProblem.UNSUPPORTED_CREDENTIALS:
        message = (
            f"{repo} asks for basic auth but the credentials from {source} are an identity token"
        )
        hint = login
    elif problem is AuthProblem.TOKEN_SERVER_FAILED:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        message = (
            f"could not get a bearer token for {repo} from its token server {detail}{said}{tries}"
        )
        hint = "the registry's token server is failing; retry later"
    else:
        message = f"could not authenticate to {repo}: {problem.value}: {detail}{note_text}"
        hint = "check the registry's auth configuration (WWW-Authenticate and token server)"
    return RegistryAuthError(
        problem,
        message,
        repo=repo,
        credentials_source=source,
        hint=hint,
        status=status,
        diagnostics=diagnostics,
        attempts=attempts,
    )
