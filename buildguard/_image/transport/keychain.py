"""Registry credentials: a :class:`Keychain` is a list of providers; the first that answers
wins (go-containerregistry's ``authn.MultiKeychain``).

The default list, :data:`default_keychain`:

1. the docker config (``$DOCKER_CONFIG/config.json``, default ``~/.docker/config.json``):
   ``auths``, ``credHelpers`` and ``credsStore``, read by docker-py's ``docker.auth`` (which
   runs ``docker-credential-*`` helpers, so ``docker-credential-gcloud`` works);
2. Google Application Default Credentials (google-auth) for ``*.pkg.dev``, ``gcr.io``,
   ``*.gcr.io`` and the hosts in ``$BUILDGUARD_GOOGLE_REGISTRIES``, as basic auth with user
   ``oauth2accesstoken`` and the access token as password;
3. anonymous.

A caller extends it with ``Keychain((my_provider, *default_keychain.providers))``. A
provider is any callable ``(registry, notes) -> Credentials | None``: ``None`` means "ask
the next one"; ``notes`` collects why expected credentials were not found (for messages).
Providers run lazily, on the first 401, so a public registry never runs a helper. No
secret ever reaches a log record, an exception message or a ``repr``.
"""

from __future__ import annotations

import base64
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from buildguard._image.transport.hosts import is_google_registry
from buildguard._internal.text import one_line
from buildguard.errors import UsageError

logger = logging.getLogger(__name__)

GOOGLE_USERNAME = "oauth2accesstoken"
GOOGLE_SOURCE = "Google Application Default Credentials"
ANONYMOUS_SOURCE = "anonymous"


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

    @property
    def anonymous(self) -> bool:
        return self.password is None and self.identity_token is None

    def basic_header(self) -> str | None:
        if self.username is None or self.password is None:
            return None
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")


ANONYMOUS = Credentials(source=ANONYMOUS_SOURCE)


class Provider(Protocol):
    def __call__(self, registry: str, notes: list[str]) -> Credentials | None: ...


class Keychain:
    """Providers asked in order; the first answer wins, anonymous when none answers."""

    def __init__(self, providers: Iterable[Provider]) -> None:
        self.providers: tuple[Provider, ...] = tuple(providers)

    def __call__(self, registry: str, notes: list[str]) -> Credentials | None:
        for provider in self.providers:
            found = provider(registry, notes)
            if found is not None:
                return None if found.anonymous else found
        return None

    def __repr__(self) -> str:
        names = ", ".join(getattr(p, "__name__", type(p).__name__) for p in self.providers)
        return f"Keychain({names})"


# --------------------------------------------------------------------------- docker config


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
            f"for {registry} ({one_line(str(exc))})"
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


# --------------------------------------------------------------------------- Google


def google_credentials(registry: str, notes: list[str]) -> Credentials | None:
    """Google Application Default Credentials as ``oauth2accesstoken:<access token>``."""
    if not is_google_registry(registry):
        return None
    from buildguard._image.transport.google import access_token

    def fetch() -> Credentials | None:
        token = access_token(notes)
        if token is None:
            return None
        return Credentials(
            source=GOOGLE_SOURCE, username=GOOGLE_USERNAME, password=token, refresh=fetch
        )

    return fetch()


def anonymous(registry: str, notes: list[str]) -> Credentials | None:
    """The last resort: no credentials at all."""
    del registry, notes
    return ANONYMOUS


default_keychain = Keychain((docker_config_credentials, google_credentials, anonymous))
