"""``LIVE_API_FALLBACK``: an API prefix the bundle calls, answered with the entry page.

The prefixes are those given (``--api-prefix``) and the same-origin API paths found in the
served scripts' URL literals (read with lint's :mod:`buildguard._lint.jsurls`). Each is asked
for once per attempt (a path found in a script that does not end with ``/`` may be a base
the app extends, so the path under it is asked for too, and both must be the entry page);
an answer whose bytes are the entry page's means the route is missing at the edge and the
server's SPA fallback stands in for the API.
"""

from __future__ import annotations

from buildguard._live.entry import ERROR_BODY_LIMIT
from buildguard._live.fetch import Fetched, Fetcher
from buildguard._live.findings import Attempt, Where
from buildguard._live.urls import resolve
from buildguard.errors import UsageError

SCRIPT_TEXT_LIMIT = 8 << 20
"""Served scripts are read for URL literals up to this size (a larger one is not read)."""
MAX_FOUND = 20
"""API paths found in the scripts asked for per attempt (the given ones always are)."""
SCRIPT_SUFFIXES = (".js", ".mjs", ".cjs")


def check_api_prefixes(prefixes: tuple[str, ...]) -> None:
    for prefix in prefixes:
        if not prefix.startswith("/") or prefix.startswith("//"):
            raise UsageError(
                f"--api-prefix {prefix!r} is not a path on the site",
                hint="give the path prefix the bundle calls, e.g. /api/v5/",
            )


class ScriptText:
    """Collects a served script's decoded bytes (up to :data:`SCRIPT_TEXT_LIMIT`)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.size <= SCRIPT_TEXT_LIMIT:
            self.chunks.append(data)

    def text(self) -> str | None:
        if self.size > SCRIPT_TEXT_LIMIT:
            return None
        return b"".join(self.chunks).decode("utf-8", errors="replace")


class ApiCalls:
    """The API paths to ask for: given, then found in the served scripts."""

    def __init__(self, given: tuple[str, ...]) -> None:
        self.given = given
        self.found: dict[str, str] = {}
        """path → the script (bundle path) whose literal calls it"""

    def read_script(self, path: str, text: str) -> None:
        from buildguard._lint.jsurls import url_literals
        from buildguard._lint.urlshape import api_probe

        for literal in url_literals(path, text):
            uri = api_probe(literal)
            if uri is not None and uri not in self.given and len(self.found) < MAX_FOUND:
                self.found.setdefault(uri, path)

    def check(
        self, fetcher: Fetcher, site_url: str, entry_digests: set[str], attempt: Attempt
    ) -> None:
        limit = max([ERROR_BODY_LIMIT, *(_sizes(attempt))])
        answered: list[tuple[str, Fetched, str | None]] = []
        found = [
            (u, s)
            for u, s in self.found.items()
            if not any(v != u and v.startswith(u.rstrip("/") + "/") for v in self.found)
        ]  # a base the app extends (/api/v5 of /api/v5/sessions) is asked for through them
        for uri, script in [*((u, None) for u in self.given), *found]:
            asks = [uri] if script is None or uri.endswith("/") else [uri, uri + "/"]
            got: Fetched | None = None
            for ask in asks:
                url = resolve(ask, site_url)
                if url is None:
                    break
                fetched = fetcher.get(url, limit=limit)
                if fetched.sha256 is None or fetched.sha256 not in entry_digests:
                    got = None
                    break
                got = got or fetched
            if got is not None:
                answered.append((uri, got, script))
        if answered:
            from buildguard._lint.urlshape import api_prefix
        for uri, fetched, script in answered:
            called = f" (called by {script})" if script else ""
            attempt.add(
                "LIVE_API_FALLBACK",
                f"GET {uri}{called} is answered with the entry page (HTTP {fetched.status}): "
                "no route sends this API prefix to the API, so the server's SPA fallback "
                "answers the bundle's API calls with HTML",
                Where(None, fetched.final_url, fetched.status),
                hint=f"route {api_prefix(uri)} to the API service before the SPA fallback "
                "(an nginx `location` with proxy_pass, or the Ingress path)",
            )


def _sizes(attempt: Attempt) -> list[int]:
    return [a.size + 1 for a in attempt.assets if a.size is not None]
