"""Google Application Default Credentials (google-auth), imported only when needed.

Used for registry basic auth (``oauth2accesstoken``) and, by :mod:`buildguard._cloud`, as
the credentials of the Google API clients. google-auth reads ``GCE_METADATA_HOST`` /
``GCE_METADATA_IP`` at import time, which is one more reason to import it late.
"""

from __future__ import annotations

from typing import Any

from buildguard._internal.text import one_line

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def default_credentials(notes: list[str]) -> tuple[Any, str | None] | None:
    """``(credentials, project)`` from ADC, refreshed; ``None`` (with a note) if there are none."""
    import google.auth
    import google.auth.exceptions
    import google.auth.transport.requests

    try:
        found: tuple[Any, Any] = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
        creds, project = found
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
            f"({type(exc).__name__}: {one_line(str(exc))})"
        )
        return None
    return creds, (str(project) if project else None)


def access_token(notes: list[str]) -> str | None:
    """A fresh ADC access token, or ``None`` with a note saying why not."""
    found = default_credentials(notes)
    if found is None:
        return None
    token = getattr(found[0], "token", None)
    if not token:
        notes.append("Google Application Default Credentials returned no access token")
        return None
    return str(token)
