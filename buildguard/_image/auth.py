"""Registry credentials, as importers of earlier versions know them.

The code lives in :mod:`buildguard._image.transport` (one layer per module): the keychain
(:mod:`~buildguard._image.transport.keychain`), challenge parsing
(:mod:`~buildguard._image.transport.challenge`), the ``httpx.Auth`` flow
(:mod:`~buildguard._image.transport.authflow`) and the host rules
(:mod:`~buildguard._image.transport.hosts`).
"""

from __future__ import annotations

from buildguard._image.transport.challenge import Challenge, parse_www_authenticate
from buildguard._image.transport.hosts import host_matches, is_google_registry, is_loopback
from buildguard._image.transport.keychain import (
    Credentials,
    Keychain,
    Provider,
    default_keychain,
    docker_config_credentials,
    google_credentials,
)

__all__ = [
    "Challenge",
    "Credentials",
    "Keychain",
    "Provider",
    "default_keychain",
    "docker_config_credentials",
    "google_credentials",
    "host_matches",
    "is_google_registry",
    "is_loopback",
    "parse_www_authenticate",
]
