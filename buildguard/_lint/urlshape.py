"""What the URL rules ask of a URL literal (:class:`buildguard._lint.jsurls.UrlLiteral`):
its path, a path segment written twice, the same-origin API path it calls, a loopback host.
"""

from __future__ import annotations

import re

from buildguard._lint.jsurls import UrlLiteral


def path_of(url: str) -> str:
    """The path of a URL or path (scheme and host, query and fragment removed)."""
    match = re.match(r"^(?:[a-z]+:)?//[^/]*", url, re.I)
    rest = url[match.end() :] if match else url
    return re.split(r"[?#]", rest, maxsplit=1)[0]


HOLE = "\x00"
"""Stands for a part of a URL the file does not tell (in :meth:`UrlLiteral.text`)."""


def repeated_segments(path: str) -> tuple[str, ...] | None:
    """The first run of path segments written twice in a row (``/api/v5/v5/`` → ``("v5",)``,
    ``/api/v1/api/v1`` → ``("api", "v1")``); ids (digits), route parameters (``:id``,
    ``*``, ``[id]``) and empty segments do not count. In a run of two or more, a segment with
    an unknown part (:data:`HOLE`) and known text around it matches what it could be
    (``/api/v1/api/v${VERSION}``: the API prefix written twice, whatever the version), as long
    as one segment of the run matches as written."""
    segments = path.split("/")
    for size in range(1, len(segments) // 2 + 1):
        for start in range(len(segments) - 2 * size + 1):
            run = segments[start : start + size]
            again = segments[start + size : start + 2 * size]
            if not all(_namelike(s.replace(HOLE, "")) for s in run + again):
                continue
            exact = [a == b and HOLE not in a for a, b in zip(run, again, strict=True)]
            if all(exact) or (
                size >= 2
                and any(exact)
                and all(_could_be(a, b) for a, b in zip(run, again, strict=True))
            ):
                return tuple(a if HOLE not in a else b for a, b in zip(run, again, strict=True))
    return None


def _could_be(a: str, b: str) -> bool:
    """Whether segments ``a`` and ``b`` (either with holes) can be the same text."""
    if HOLE not in a and HOLE not in b:
        return a == b
    if HOLE in a and HOLE in b:
        return False
    pattern, text = (a, b) if HOLE in a else (b, a)
    if pattern.replace(HOLE, "") == "":
        return False
    regex = ".+".join(re.escape(part) for part in pattern.split(HOLE))
    return re.fullmatch(regex, text) is not None


def _namelike(segment: str) -> bool:
    return (
        bool(segment)
        and not segment.isdigit()
        and not segment.startswith((":", "*", "[", "{", "$", "%", "."))
        and re.search(r"[A-Za-z]", segment) is not None
    )


_API_SEGMENT = re.compile(r"^(?:api[\w.-]*|apis|graphql|gql|rest|rpc|backend)$", re.I)


def api_probe(literal: UrlLiteral) -> str | None:
    """The same-origin API path a literal calls (relative, first segment ``api…``,
    ``graphql``, ``rest``, ``rpc`` or ``backend``), cut at its first hole; else None."""
    known = literal.known_prefix
    if not known.startswith("/") or known.startswith("//"):
        return None
    path = path_of(known)
    first = path.split("/")[1] if path.count("/") >= 1 else ""
    if not _API_SEGMENT.match(first):
        return None
    if not literal.complete and path == f"/{first}":
        return path + "/"
    return path


_LOOPBACK = re.compile(
    r"^(?:https?|wss?)://(?:[^/@]*@)?(localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0|\[::1?\])"
    r"(?::\d*)?(?:[/?#]|$)",
    re.I,
)


def api_prefix(uri: str) -> str:
    """The first segment of an API call's path as a prefix (``/api/v5/sessions`` →
    ``/api/``): the location or Ingress path a fix routes."""
    first = uri.strip("/").split("/")[0]
    return f"/{first}/"


def loopback_host(literal: UrlLiteral) -> str | None:
    match = _LOOPBACK.match(literal.known_prefix)
    return match.group(1) if match else None
