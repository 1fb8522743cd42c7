"""URLs of the site ↔ paths of the bundle manifest.

A URL path is percent-encoded bytes; a manifest path is a file name in the escaped form of
:mod:`buildguard._internal.pathescape` (bytes that are not UTF-8 written as ``\\xNN``). A
URL path under the public base maps to the manifest path after the base: the rest is
percent-decoded to bytes, decoded as the file name (``surrogateescape``) and escaped, so a
name maps exactly when its bytes are equal. Query and fragment never take part.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urljoin, urlsplit, urlunsplit

from buildguard._internal.pathescape import decode_name, escape
from buildguard._internal.redact import hide_userinfo
from buildguard.errors import UsageError

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        default = DEFAULT_PORTS.get(self.scheme)
        port = "" if self.port == default else f":{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{port}"


def origin_of(url: str) -> Origin | None:
    """The origin of an absolute http(s) URL, or ``None`` when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return Origin(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])


def _why_unparsable(exc: ValueError) -> str:
    """urlsplit's complaint in our words: its text can quote a piece of the URL (a password
    with a ``/`` in it is read as the port), so it is never echoed."""
    text = str(exc)
    if "Port" in text or "port" in text:
        return "the port must be a number from 0 to 65535"
    if "IPv6" in text or "IPv4" in text:
        return "the host is not a valid IP address literal"
    return "it cannot be parsed as a URL"


def check_site_url(url: str) -> Origin:
    """An entry page URL we can fetch, or :class:`UsageError` (exit 2).

    This is where the user's URL is first read: every message shows it without its user-info
    (:func:`hide_userinfo`), whatever else is wrong with it, and credentials in it are refused.
    """
    hint = "give the page users open, e.g. https://app.example.com/ or http://127.0.0.1:8080/"
    shown = repr(hide_userinfo(url))
    if not url or any(c.isspace() for c in url):
        raise UsageError(f"bad URL {shown}: empty or contains white space", hint=hint)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise UsageError(f"bad URL {shown}: {_why_unparsable(exc)}", hint=hint) from None
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise UsageError(f"bad URL {shown}: the scheme must be http or https", hint=hint)
    if "@" in parts.netloc:
        raise UsageError(
            f"bad URL {shown}: credentials in the URL would be printed in reports",
            hint="pass them as a header instead: --header 'Authorization: Basic …'",
        )
    found = origin_of(url)
    if found is None:
        raise UsageError(f"bad URL {shown}: no host", hint=hint)
    return found


def normalise_base(base: str) -> str:
    """``app`` / ``/app`` / ``/app/`` → ``/app/``; ``/`` stays. A full URL is refused."""
    text = base.strip()
    if "://" in text or "?" in text or "#" in text:
        raise UsageError(
            f"--base {hide_userinfo(base)!r} must be a path (Vite's `base`, e.g. /app/), not a URL",
            hint="asset URLs on another origin are mapped by their path under this base",
        )
    path = posixpath.normpath("/" + text.lstrip("/"))
    return "/" if path == "/" else path.rstrip("/") + "/"


def strip_url(url: str) -> str:
    """The URL without fragment (what is requested) and without user-info: credentials a
    page puts in an asset's URL are neither sent nor shown (browsers refuse such subresource
    URLs or ask the user; a site that needs them answers 401, a finding)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def resolve(reference: str, against: str) -> str | None:
    """A reference (attribute value, import specifier) resolved to an absolute http(s) URL,
    or ``None`` for anything a browser would not fetch from the network (data:, blob:, …)."""
    text = reference.strip()
    if not text or text.startswith("#"):
        return None
    try:
        absolute = urljoin(against, text)
    except ValueError:
        return None
    if origin_of(absolute) is None:
        return None
    return strip_url(absolute)


def bundle_path(url: str, base: str) -> str | None:
    """The manifest path a URL's path maps to under ``base``, or ``None`` outside it."""
    raw_path = urlsplit(url).path or "/"
    if not raw_path.startswith(base):
        return None
    rest = raw_path[len(base) :]
    if not rest:
        return None  # the base itself: a folder, not a file of the bundle
    name = decode_name(unquote_to_bytes(rest))
    if any(part in ("", ".", "..") for part in name.split("/")):
        # an empty or dot segment (after decoding %2e, %2f) names no manifest file
        return None
    return escape(name)


def check_under_base(url: str, base: str) -> None:
    """The entry page's URL must lie under the base (an SPA route under it is fine)."""
    path = urlsplit(url).path or "/"
    if not path.startswith(base) and path + "/" != base:
        raise UsageError(
            f"the URL's path {path} is not under --base {base}",
            hint="--base is the bundle's public base (Vite's `base`); the entry page URL "
            "must lie under it",
        )


def manifest_url(url: str, base: str) -> str:
    """Where a site serves the bundle's ``buildguard-manifest.json``: at the base."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, base + "buildguard-manifest.json", "", ""))
