"""Which ``location`` of a server answers a URI, as nginx chooses it.

nginx.org's ``ngx_http_core_module`` ``location`` documentation and
``ngx_http_core_find_location`` in nginx's source: the URI normalised (merged slashes, ``.``
and ``..``); an ``=`` location equal to it answers; else the longest prefix is remembered,
its nested locations are searched (a regex match there answers), and unless it is ``^~`` the
regexes of this level are tried in the order they appear, the first match answering; else
the remembered prefix. Checked against a real nginx in ``tests/test_lint_nginxconf.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from buildguard._lint.nginxconf import Directive


@dataclass(frozen=True)
class Location:
    directive: Directive
    modifier: str
    """"=", "^~", "~", "~*", "" (prefix) or "@" (named)."""
    pattern: str

    @property
    def regex(self) -> bool:
        return self.modifier in ("~", "~*")


def location_of(d: Directive) -> Location | None:
    args = d.args
    if not args:
        return None
    if len(args) >= 2 and args[0] in ("=", "^~", "~", "~*"):
        return Location(d, args[0], args[1])
    arg = args[0]
    for modifier in ("^~", "~*", "=", "~", "@"):
        if arg.startswith(modifier):
            return Location(d, modifier, arg[len(modifier) :] if modifier != "@" else arg)
    return Location(d, "", arg)


class Unknown(Exception):
    """A regex location that Python's ``re`` cannot read: the answer cannot be known."""


def answering_location(block: Directive, uri: str) -> Directive | None:
    """The ``location`` of ``block`` (a server) that answers ``uri``, None when none does.

    Raises :class:`Unknown` when a regex on the way cannot be read. The URI is normalised
    as nginx does first (``merge_slashes``, ``.`` and ``..`` segments)."""
    _, found = _find(block, normalise_uri(uri))
    return found


def normalise_uri(uri: str) -> str:
    path = re.split(r"[?#]", uri, maxsplit=1)[0]
    out: list[str] = []
    for segment in re.sub(r"/{2,}", "/", path).split("/")[1:]:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    result = "/" + "/".join(out)
    if path.endswith(("/.", "/..")) and not result.endswith("/"):
        result += "/"
    return result


def _find(block: Directive, uri: str) -> tuple[str, Directive | None]:
    locations = [loc for d in block.children("location") if (loc := location_of(d))]
    best: Location | None = None
    for loc in locations:
        if loc.modifier == "=" and loc.pattern == uri:
            return "ok", loc.directive
        longer = best is None or len(loc.pattern) > len(best.pattern)
        if loc.modifier in ("", "^~") and uri.startswith(loc.pattern) and longer:
            best = loc
    chosen = best.directive if best else None
    noregex = best is not None and best.modifier == "^~"
    if best is not None:
        status, nested = _find(best.directive, uri)
        if status == "ok":
            return "ok", nested
        if nested is not None:
            chosen = nested
    if not noregex:
        for loc in locations:
            if loc.regex and _regex_matches(loc, uri):
                status, nested = _find(loc.directive, uri)
                return "ok", nested if status == "ok" else loc.directive
    return "again", chosen


def _regex_matches(loc: Location, uri: str) -> bool:
    flags = re.IGNORECASE if loc.modifier == "~*" else 0
    try:
        return re.search(loc.pattern, uri, flags) is not None
    except re.error as e:
        raise Unknown(f"regex location {loc.pattern!r}: {e}") from e


def spa_fallback(d: Directive) -> Directive | None:
    """The ``try_files … /index.html`` of a location that serves the entry page for what it
    does not have (and proxies nothing), else None."""
    if any(d.first(name) for name in ("proxy_pass", "grpc_pass", "fastcgi_pass", "return")):
        return None
    try_files = d.first("try_files")
    if try_files is None or not try_files.args:
        return None
    last = try_files.args[-1]
    return try_files if last.endswith(".html") and not last.startswith("$") else None
