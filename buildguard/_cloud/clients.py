"""Making the Google API clients: REST transport, a short timeout and a bounded retry, the
emulator convention, and Google's errors turned into ours.

``BUILDGUARD_CLOUDBUILD_EMULATOR_HOST`` / ``BUILDGUARD_ARTIFACTREGISTRY_EMULATOR_HOST`` /
``BUILDGUARD_KMS_EMULATOR_HOST``
(``host:port``, after the ``*_EMULATOR_HOST`` convention of Google's libraries) point a
client at ``http://host:port`` with anonymous credentials; otherwise the client finds
Application Default Credentials itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from buildguard._internal.text import one_line
from buildguard.errors import ImageReadError

CLOUDBUILD_EMULATOR_ENV = "BUILDGUARD_CLOUDBUILD_EMULATOR_HOST"
ARTIFACTREGISTRY_EMULATOR_ENV = "BUILDGUARD_ARTIFACTREGISTRY_EMULATOR_HOST"
KMS_EMULATOR_ENV = "BUILDGUARD_KMS_EMULATOR_HOST"
CALL_TIMEOUT = 20.0
"""Seconds for one API call (the client's default retry would go on for 600 s)."""
RETRY_DEADLINE = 30.0

T = TypeVar("T")


def client_options(
    emulator_env: str, environ: Mapping[str, str], endpoint: str | None = None
) -> dict[str, Any]:
    """Keyword arguments for a ``*Client``: ``endpoint`` (a URL) or the emulator variable
    make it anonymous plain HTTP; otherwise ADC and Google's endpoint."""
    target = endpoint or (f"http://{environ[emulator_env]}" if environ.get(emulator_env) else None)
    if target is None:
        return {"transport": "rest"}
    from google.auth.credentials import AnonymousCredentials

    anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
    return {
        "transport": "rest",
        "credentials": anonymous,
        "client_options": {"api_endpoint": target},
    }


def call_options() -> dict[str, Any]:
    """``timeout`` and a bounded ``retry`` (transient errors only) for one call."""
    from google.api_core import retry

    bounded = retry.Retry(
        initial=0.25,
        maximum=4.0,
        multiplier=2.0,
        timeout=RETRY_DEADLINE,
        predicate=retry.if_transient_error,
    )
    return {"timeout": CALL_TIMEOUT, "retry": bounded}


def make_client(factory: Callable[..., T], options: dict[str, Any], api: str) -> T:
    """``factory(**options)``, with missing credentials as :class:`ImageReadError`."""
    import google.auth.exceptions

    try:
        return factory(**options)
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise ImageReadError(
            f"no Google credentials for the {api} API: {one_line(str(exc), 300)}",
            hint="run on Google Cloud, set GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth "
            "application-default login`",
        ) from None


def api_error(exc: Exception, what: str, role: str) -> ImageReadError:
    """A Google API failure as exit 3, with the IAM role to check when access was refused."""
    from google.api_core import exceptions

    text = one_line(str(exc), 300)
    if isinstance(exc, exceptions.NotFound):
        return ImageReadError(
            f"{what}: not found ({text})", hint="check the id, the project and the region"
        )
    if isinstance(exc, exceptions.PermissionDenied | exceptions.Unauthenticated):
        return ImageReadError(
            f"{what}: access refused ({text})", hint=f"the caller needs {role} on the project"
        )
    return ImageReadError(
        f"{what}: {type(exc).__name__}: {text}",
        hint="the Google API is failing or unreachable; retry later",
    )


def google_errors() -> tuple[type[Exception], ...]:
    """What a call may raise: API errors, a spent retry, credential failures."""
    import google.auth.exceptions
    from google.api_core import exceptions

    return (exceptions.GoogleAPIError, google.auth.exceptions.GoogleAuthError)
