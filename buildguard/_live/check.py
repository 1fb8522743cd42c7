"""One attempt of verify-live: sample the entry page, then fetch and compare every file.

Every distinct entry page is judged once (:mod:`buildguard._live.entry`); then every bundle
file any of them references, and every chunk those files import that the manifest lists, is
fetched once (one request per distinct URL) and compared. Findings are data; only
:class:`SiteReadError` (the site could not be read, or not within the bounds: more distinct
asset URLs than ``max_requests``, the command's deadline) raises.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import NoReturn

from buildguard._internal.deadline import nearest
from buildguard._live.apicalls import SCRIPT_SUFFIXES, ApiCalls, ScriptText
from buildguard._live.bundle import ENTRY, BundleIndex
from buildguard._live.entry import ENTRY_LIMIT, ERROR_BODY_LIMIT, EntryPages, Page
from buildguard._live.fetch import Consumer, Fetched, Fetcher
from buildguard._live.findings import Attempt, Where, listing
from buildguard._live.refs import TokenScanner, scanned
from buildguard._live.urls import bundle_path, resolve
from buildguard._models.livereport import AssetResult, ServedVersion
from buildguard.errors import SiteReadError, UsageError

FALLBACK_SUFFIXES = (".js", ".mjs", ".cjs", ".css")


MAX_REQUESTS_ENV = "BUILDGUARD_LIVE_MAX_REQUESTS"
MIN_REQUESTS_CAP = 1000
"""The default cap on asset requests per attempt is twice the bundle's files, at least this."""


def max_requests_from_env(environ: Mapping[str, str]) -> int | None:
    """``$BUILDGUARD_LIVE_MAX_REQUESTS`` (a positive integer), else None (the default)."""
    text = environ.get(MAX_REQUESTS_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise UsageError(
            f"${MAX_REQUESTS_ENV} must be a positive integer, not {text[:40]!r}",
            hint="unset it for the default (twice the bundle's files, at least "
            f"{MIN_REQUESTS_CAP})",
        )
    return int(text)


class LiveCheck:
    def __init__(
        self,
        fetcher: Fetcher,
        bundle: BundleIndex,
        url: str,
        base: str,
        samples: int,
        *,
        max_requests: int | None = None,
        api_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.fetcher = fetcher
        self.bundle = bundle
        self.url = url
        self.base = base
        self.samples = samples
        self.max_requests = max_requests or max(MIN_REQUESTS_CAP, 2 * len(bundle.files))
        """Asset requests one attempt may make (distinct URLs; each is fetched once)."""
        self.entry = EntryPages(fetcher, bundle, url, base)
        self.api = ApiCalls(api_prefixes)
        self.served = self.entry.served

    # -- assets --------------------------------------------------------------------------

    def _judge_asset(
        self, url: str, path: str, attempt: Attempt, entry_digests: set[str]
    ) -> list[tuple[str, str]]:
        sealed = self.bundle.files[path]
        exempt = self.bundle.allowed_changed(path)
        scanner = TokenScanner(self.bundle.names, foreign=exempt) if scanned(path) else None
        script = ScriptText() if path.lower().endswith(SCRIPT_SUFFIXES) else None
        consumer = _both(scanner.feed if scanner else None, script.feed if script else None)

        def limit(got: Fetched) -> int:
            if not 200 <= got.status < 300:
                return ERROR_BODY_LIMIT
            # read as far as any file we could name (this build's, or another build's the
            # site serves), never further: a body larger than all of them belongs to none;
            # an HTML answer is read whole, to tell whether it is the entry page, and so is
            # a file exempt from the digest check, to see what it references
            known = max(self.bundle.largest, self.served.largest)
            whole = got.content_type == "text/html" or exempt
            return max(known, ENTRY_LIMIT) if whole else known

        fetched = self.fetcher.get(url, limit=limit, consumer=consumer)
        where = Where(path, fetched.final_url, fetched.status)
        ok = False
        if not 200 <= fetched.status < 300:
            attempt.add(
                "LIVE_MISSING",
                f"{path} is not served: {fetched.final_url} answered HTTP {fetched.status}",
                where,
            )
        elif path.lower().endswith(FALLBACK_SUFFIXES) and fetched.content_type == "text/html":
            what = " (the entry page)" if fetched.sha256 in entry_digests else ""
            attempt.add(
                "LIVE_FALLBACK",
                f"{path} is answered with text/html{what}: the server's SPA fallback stands "
                "in for a file it does not have, and browsers fail to load it "
                "(ChunkLoadError)",
                where,
            )
        elif fetched.decode_error:
            attempt.add(
                "LIVE_CHANGED",
                f"{path}: the served body could not be decoded ({fetched.decode_error})",
                where,
            )
        elif fetched.sha256 == sealed.sha256:
            ok = True
        elif exempt:
            ok = self._exempt_ok(path, fetched, scanner, attempt, where)
        else:
            attempt.add(
                "LIVE_CHANGED",
                self._changed(path, fetched, sealed.size),
                where,
                served_build=self._owner(fetched),
            )
        attempt.compared += 1
        attempt.assets.append(
            AssetResult(
                url=fetched.final_url,
                path=path,
                status=fetched.status,
                content_type=fetched.content_type,
                content_encoding=fetched.content_encoding,
                sha256=fetched.sha256,
                size=fetched.size,
                ok=ok,
            )
        )
        fallback = fetched.content_type == "text/html" and not ok
        text = script.text() if script and 200 <= fetched.status < 300 and not fallback else None
        if text is not None:
            self.api.read_script(path, text)
        if scanner is None or not 200 <= fetched.status < 300 or fallback:
            return []
        scanner.finish()
        return self._imports(scanner, fetched.final_url)

    def _exempt_ok(
        self,
        path: str,
        fetched: Fetched,
        scanner: TokenScanner | None,
        attempt: Attempt,
        where: Where,
    ) -> bool:
        """A file exempt from the digest check (--allow-changed) must still be read whole
        and reference only this build's files."""
        if fetched.over_limit:
            attempt.add(
                "LIVE_CHANGED",
                f"{path} (exempt from the digest check) is larger "
                f"than {ENTRY_LIMIT >> 20} MiB: what it references was not read",
                where,
            )
            return False
        if scanner is None:
            return True
        scanner.finish()
        foreign = []
        for token in scanner.foreign:
            target = resolve(token, fetched.final_url)
            mapped = bundle_path(target, self.base) if target else None
            if target and mapped not in self.bundle.files:
                foreign.append(mapped or target)
        if not foreign:
            return True
        attempt.add(
            "LIVE_CHANGED",
            f"{path} is exempt from the digest check (--allow-changed) "
            f"but references {len(foreign)} file(s) this build does not have: "
            f"{listing(foreign)}",
            where,
        )
        return False

    def _owner(self, fetched: Fetched) -> str | None:
        found = self.served.owner_of_bytes(fetched.sha256) if fetched.sha256 else None
        return found[0] if found else None

    def _changed(self, path: str, fetched: Fetched, size: int) -> str:
        if fetched.over_limit:
            return (
                f"{path} is served with more bytes than any file of this build (sealed: "
                f"{size}); reading stopped there: the served bytes belong to no file of "
                "this build"
            )
        assert fetched.sha256 is not None
        mine = [p for p in self.bundle.by_digest.get(fetched.sha256, []) if p != path]
        other = self.served.owner_of_bytes(fetched.sha256)
        if mine:
            whose = f": the served bytes are this build's {mine[0]}"
        elif other:
            whose = f": the served bytes are {other[1]} of build {other[0]}"
        else:
            whose = ": the served bytes belong to no file of this build"
        return (
            f"{path} differs from the sealed file (served {fetched.size} bytes, sha256 "
            f"{fetched.sha256[:12]}…; sealed {size} bytes){whose}"
        )

    def _imports(self, scanner: TokenScanner, at: str) -> list[tuple[str, str]]:
        base_url = resolve(self.base, at) or at
        found = []
        for token in scanner.tokens:
            starts = ("/", "./", "../", "http:", "https:")
            tries = [at] if token.startswith(starts) else [at, base_url]
            for against in tries:
                target = resolve(token, against)
                path = bundle_path(target, self.base) if target else None
                if target and path in self.bundle.files:
                    found.append((target, path))
                    break
        return found

    # -- one attempt ---------------------------------------------------------------------

    def run(self) -> Attempt:
        attempt = Attempt()
        pages = self.entry.sample(self.samples)
        for page in pages.values():
            self.entry.judge(page, attempt)
            attempt.assets.append(_entry_result(page, attempt))
        entry_digests = {p.fetched.sha256 for p in pages.values() if p.fetched.sha256}
        if self.bundle.entry is not None:
            entry_digests.add(self.bundle.entry.sha256)
        queue = deque(ref for page in pages.values() for ref in page.refs)
        seen: set[str] = set()
        while queue:
            url, path = queue.popleft()
            if url in seen:
                continue
            if len(seen) >= self.max_requests:
                self._too_many(url, seen, queue)
            _check_deadline()
            seen.add(url)
            queue += self._judge_asset(url, path, attempt, entry_digests)
        served = any(200 <= p.fetched.status < 300 for p in pages.values())
        if served:
            self.api.check(self.fetcher, self.url, entry_digests, attempt)
        if served and attempt.compared == 0 and self.bundle.has_assets() and attempt.ok:
            attempt.add(
                "LIVE_STALE_ENTRY",
                f"the entry page references no script or stylesheet of this build, though the "
                f"bundle has them: nothing but {ENTRY} could be compared (is --base the "
                "bundle's public base?)",
                Where(ENTRY, self.url),
            )
        attempt.served += [self._version(page) for page in pages.values()]
        if len(pages) > 1:
            counts = ", ".join(
                f"{self.entry.label(p)}: {p.samples}"
                for p in sorted(pages.values(), key=lambda p: -p.samples)
            )
            attempt.add(
                "LIVE_MIXED",
                f"{len(pages)} versions of the entry page were served over {self.samples} "
                f"samples ({counts}): users get one or the other, and a page of one "
                "version loading chunks from another fails",
                Where(url=self.url),
            )
        return attempt

    def _too_many(self, url: str, seen: set[str], queue: deque[tuple[str, str]]) -> NoReturn:
        skipped = len(({u for u, _ in queue} | {url}) - seen)
        raise SiteReadError(
            f"the site's pages and scripts reference more distinct asset URLs than one "
            f"attempt may fetch ({self.max_requests}): {len(seen)} were fetched, at least "
            f"{skipped} more were skipped, so the site could not be compared whole",
            hint=f"a build rarely needs that many; if yours does, raise ${MAX_REQUESTS_ENV}",
        )

    def _version(self, page: Page) -> ServedVersion:
        served = 200 <= page.fetched.status < 300
        return ServedVersion(
            entry_sha256=page.fetched.sha256 if served else None,
            status=page.fetched.status,
            build_id=page.build_id,
            this_build=page.build_id == self.bundle.build_id,
            samples=page.samples,
        )


def _both(*consumers: Consumer | None) -> Consumer | None:
    present = [c for c in consumers if c is not None]
    if len(present) <= 1:
        return present[0] if present else None

    def feed(data: bytes) -> None:
        for consumer in present:
            consumer(data)

    return feed


def _check_deadline() -> None:
    """Between requests: the command's deadline bounds the work, not only the sockets."""
    deadline = nearest()
    if deadline is not None and deadline.passed():
        raise SiteReadError(
            f"verify-live stopped: {deadline.message()}",
            hint="raise the bound if the site is large or slow",
        )


def _entry_result(page: Page, attempt: Attempt) -> AssetResult:
    fetched = page.fetched
    failed = any(
        f.path == ENTRY and f.url == fetched.final_url and f.severity == "error"
        for f in attempt.findings
    )
    return AssetResult(
        url=fetched.final_url,
        path=ENTRY,
        status=fetched.status,
        content_type=fetched.content_type,
        content_encoding=fetched.content_encoding,
        sha256=fetched.sha256,
        size=fetched.size,
        ok=not failed,
    )
