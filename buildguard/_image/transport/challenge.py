"""``WWW-Authenticate`` challenges (RFC 9110 §11.6.1): ``Bearer realm="…",service="…"``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Challenge:
    scheme: str
    """Lower-case: ``basic`` or ``bearer`` (others are kept but not answered)."""
    params: Mapping[str, str]


_AUTH_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)')
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9_.-]*)(?:\s+|$)")


def parse_www_authenticate(header: str) -> list[Challenge]:
    """Every challenge in the header, in order (parameter names lower-cased)."""
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
