"""Keeping credentials out of every message, log line and report (``docs/reliability.md``,
"Secrets").

Two layers:

- **Where the user's input is first checked** (the site URL of ``verify-live``, an image
  reference, ``--base``), a message shows the input only through :func:`hide_userinfo`,
  which drops everything that could be user-info, however malformed the rest is.
- **A last line of defence** for whatever slips through: :func:`scrub` removes the
  credentials the command line was given (:func:`remember_arguments` notes the user-info of
  every URL or reference among the arguments and every ``--header`` value before anything
  is parsed) and URL user-info (``scheme://USERINFO@``). The CLI's error rendering, its
  human output, the log handler (:func:`scrub_log` adds ``Bearer``/``Basic`` values,
  ``key=secret`` pairs and signed query strings) and the report documents
  (:func:`scrub_json`, :func:`scrub_tree`) all pass their text through it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

HIDDEN = "<redacted>"
MIN_REMEMBERED = 4
"""Shorter strings are not scrubbed everywhere (it would garble messages); the first layer
still hides them where the input is echoed."""

_SCHEME = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.\-]*://")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/?#@'\"<>\\]*@")
_CREDENTIALS = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_LOG_PATTERNS = (
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\",\s]+(\s+[^'\",\s]+)?"),
        r"\1<redacted>",
    ),
    (
        re.compile(
            r"(?i)\b(password|passwd|token|access_token|secret)(['\"]?\s*[:=]\s*['\"]?)"
            r"[^'\"&,\s]+"
        ),
        r"\1\2<redacted>",
    ),
    (re.compile(r"(https?://[^\s?]+)\?[^\s]+"), r"\1?<query redacted>"),
)

_remembered: set[str] = set()


def _userinfo_end(text: str) -> tuple[int, int] | None:
    """Where the user-info of a URL or reference written as ``text`` may lie: ``(start,
    end)`` of the span before its ``@``, or ``None``. Generous on purpose: with a scheme,
    everything from ``://`` to the last ``@``; without one, everything before the last ``@``
    that is not a digest's (``host/repo@sha256:…``)."""
    at = text.rfind("@")
    if at < 0:
        return None
    scheme = _SCHEME.match(text)
    if scheme is not None:
        return (scheme.end(), at) if at >= scheme.end() else None
    if "/" in text[:at] and _DIGEST.fullmatch(text, at + 1):  # NAME@DIGEST
        return _userinfo_end(text[:at])
    return 0, at


def hide_userinfo(text: str) -> str:
    """``text`` (a URL or image reference as the user wrote it, possibly malformed) with any
    user-info replaced: ``http://user:pw@host:99999/`` → ``http://<redacted>@host:99999/``."""
    span = _userinfo_end(text)
    if span is None:
        return text
    start, end = span
    return text[:start] + HIDDEN + text[end:]


def credentials_in(text: str) -> list[str]:
    """The user-info of a URL or reference argument (whole, and the part after its first
    ``:``), when ``text`` has the shape of one: ``scheme://USERINFO@HOST…`` (the host part
    ends at the first ``/``, ``?`` or ``#``, as in RFC 3986; for a URL that does not parse,
    the user-info runs to the last ``@``), or ``user:pw@host/…`` without a scheme. Other
    arguments with an ``@`` (``logo@2x.png``, ``/@scope/``) yield nothing."""
    scheme = _SCHEME.match(text)
    if scheme is not None:
        netloc = re.split(r"[/?#]", text[scheme.end() :], maxsplit=1)[0]
        userinfo = netloc.rpartition("@")[0]
        if not _parses(text):
            span = _userinfo_end(text)
            userinfo = text[span[0] : span[1]] if span else userinfo
    else:
        head = text.split("/", 1)[0]
        userinfo = head.rpartition("@")[0]
        if ":" not in userinfo:
            userinfo = ""
    found = [userinfo] if userinfo else []
    _user, colon, password = userinfo.partition(":")
    if colon and password:
        found.append(password)
    return found


def _parses(url: str) -> bool:
    try:
        urlsplit(url).port  # noqa: B018 - raises ValueError for a bad port or IP literal
    except ValueError:
        return False
    return not any(c.isspace() for c in url)


def remember(secrets: Iterable[str]) -> None:
    """Scrub these strings (each at least :data:`MIN_REMEMBERED` long) from all output."""
    _remembered.update(s for s in secrets if len(s) >= MIN_REMEMBERED)


def remember_arguments(argv: Sequence[str]) -> None:
    """Note the credentials among the command line's arguments, before they are parsed (an
    argparse error can echo any of them): URL and reference user-info, ``--header`` values."""
    for index, arg in enumerate(argv):
        remember(credentials_in(arg))
        if arg == "--header" and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith("--header="):
            value = arg[len("--header=") :]
        else:
            continue
        secret = value.partition(":")[2].strip()
        remember([secret, *secret.split()[-1:]])


def forget() -> None:
    """Drop what :func:`remember` noted (a test, or a long-lived process between commands)."""
    _remembered.clear()


def scrub(text: str) -> str:
    """``text`` without the credentials remembered and without URL user-info."""
    for secret in sorted(_remembered, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, HIDDEN)
    return _URL_USERINFO.sub(rf"\1{HIDDEN}@", text)


def scrub_log(text: str) -> str:
    """:func:`scrub`, and the patterns that only log lines need (``Bearer``/``Basic``
    values, ``token=…``, signed query strings, ``Authorization:`` values)."""
    text = _CREDENTIALS.sub(r"\1 <redacted>", scrub(text))
    for pattern, replacement in _LOG_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _needs_scrub(text: str) -> bool:
    if _URL_USERINFO.search(text):
        return True
    return any(
        secret in text or json.dumps(secret, ensure_ascii=False)[1:-1] in text
        for secret in _remembered
    )


def _scrub_value(value: object) -> object:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrub_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _scrub_value(item) for key, item in value.items()}
    return value


def scrub_json(text: str) -> str:
    """A JSON document (``--json``, ``--report``) with :func:`scrub` applied to every string
    in it; the text is returned unchanged (byte for byte) when there is nothing to scrub."""
    if not _needs_scrub(text):
        return text
    document = json.loads(text)
    return json.dumps(_scrub_value(document), indent=2, ensure_ascii=False) + "\n"


def scrub_tree(root: ET.Element) -> None:
    """:func:`scrub` every text, tail and attribute value of an XML tree (``--junit``)."""
    for element in root.iter():
        if element.text:
            element.text = scrub(element.text)
        if element.tail:
            element.tail = scrub(element.tail)
        for key, value in element.attrib.items():
            element.set(key, scrub(value))
