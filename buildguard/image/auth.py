"""Registry credentials, as importers of earlier versions know them.

The code lives in :mod:`buildguard.image.transport` (one layer per module): the keychain
(:mod:`~buildguard.image.transport.keychain`), challenge parsing
(:mod:`~buildguard.image.transport.challenge`), the ``httpx.Auth`` flow
(:mod:`~buildguard.image.transport.authflow`) and the host rules
(:mod:`~buildguard.image.transport.hosts`).
"""

from __future__ import annotations

from buildguard.image.transport.challenge import Challenge, parse_www_authenticate
from buildguard.image.transport.hosts import host_matches, is_google_registry, is_loopback
from buildguard.image.transport.keychain import (
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
