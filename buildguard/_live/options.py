"""Parsing the command line's values for verify-live: ``--wait DURATION``, ``--header``."""

from __future__ import annotations

import re

from buildguard.errors import UsageError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 field-name


def parse_duration(text: str) -> float:
    """``20s``, ``5m``, ``1m30s``, ``1h``, ``250ms`` or plain seconds (``90``) → seconds."""
    value = text.strip().lower()
    hint = "e.g. --wait 90s, --wait 5m, --wait 1m30s"
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    if not value or _PART.sub("", value):
        raise UsageError(f"bad duration {text!r}", hint=hint)
    return sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(value))


def parse_header(text: str) -> tuple[str, str]:
    """``'K: V'`` → ``("K", "V")``. The value is never echoed in an error."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not _TOKEN.match(name):
        shown = name if _TOKEN.match(name) else "…"
        raise UsageError(
            f"bad --header {shown!r}: expected 'Name: value'",
            hint="e.g. --header 'Authorization: Bearer …' (the value is never printed)",
        )
    value = value.strip()
    check_header(name, value)
    return name, value


def check_header(name: str, value: str) -> None:
    """A header HTTP can carry: a token name, a value of printable ASCII, spaces and tabs
    (what httpx sends; anything else would fail later, or echo the value in an error).
    The value is never echoed."""
    if not _TOKEN.match(name):
        raise UsageError("bad header name: expected a token such as X-Preview-Token")
    if any(not (" " <= c <= "~" or c == "\t") for c in value):
        raise UsageError(
            f"bad --header {name!r}: the value must be printable ASCII (no line breaks, "
            "control characters or non-ASCII letters)",
            hint="encode it as the server expects, e.g. base64 for Basic credentials",
        )
