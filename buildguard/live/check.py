"""One attempt of verify-live: sample the entry page, then fetch and compare every asset.

Each sample asks for the entry page and the site's ``buildguard-manifest.json`` over new
connections (so a load balancer spreads them). Every distinct entry page is checked once:
its bytes, its caching headers and its references; then every bundle file any of them
references, and every chunk those files import that the manifest lists, is fetched once and
compared. Findings are data; only :class:`SiteReadError` (the site could not be read) raises.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import NamedTuple

from pydantic import ValidationError

from buildguard.errors import SiteReadError
from buildguard.live.bundle import ENTRY, BundleIndex, ServedBuilds
from buildguard.live.caching import cacheable_for
from buildguard.live.fetch import Fetched, Fetcher
from buildguard.live.refs import HtmlRefs, TokenScanner, scanned
from buildguard.live.report import (
    AssetResult,
    LiveFinding,
    LiveFindingCode,
    ServedVersion,
    Severity,
)
from buildguard.live.urls import bundle_path, manifest_url, origin_of, resolve
from buildguard.models import BundleManifest

logger = logging.getLogger(__name__)

ENTRY_LIMIT = 16 << 20
SERVED_MANIFEST_LIMIT = 16 << 20
ERROR_BODY_LIMIT = 64 << 10
HTML_ACCEPT = "text/html,application/xhtml+xml,*/*;q=0.8"
FALLBACK_SUFFIXES = (".js", ".mjs", ".cjs", ".css")
LISTED = 8  # references named in one message


class Where(NamedTuple):
    path: str | None = None
    url: str | None = None
    status: int | None = None


@dataclass
class Page:
    """One distinct entry page served in this attempt."""

    fetched: Fetched
    key: str
    samples: int = 1
    refs: list[tuple[str, str]] = field(default_factory=list)
    """(url, bundle path) of every reference that maps to a file of this build."""
    unknown: list[str] = field(default_factory=list)
    """URLs of references that name no file of this build."""
    identical: bool = False
    build_id: str | None = None


@dataclass
class Attempt:
    findings: list[LiveFinding] = field(default_factory=list)
    assets: list[AssetResult] = field(default_factory=list)
    served: list[ServedVersion] = field(default_factory=list)
    compared: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def add(self, code: LiveFindingCode, message: str, where: Where | None = None, *,
            severity: Severity = "error", served_build: str | None = None) -> None:
        path, url, status = where or Where()
        self.findings.append(LiveFinding(code=code, severity=severity, message=message,
                                         path=path, url=url, status=status,
                                         served_build=served_build))


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


class LiveCheck:
    def __init__(self, fetcher: Fetcher, bundle: BundleIndex, url: str, base: str,
                 samples: int) -> None:
        self.fetcher = fetcher
        self.bundle = bundle
        self.url = url
        self.base = base
        self.samples = samples
        self.served = ServedBuilds(bundle.build_id)

    # -- the entry page ------------------------------------------------------------------

    def _served_manifest(self) -> None:
        where = manifest_url(self.url, self.base)
        chunks: list[bytes] = []
        got = self.fetcher.get(where, fresh=True, limit=SERVED_MANIFEST_LIMIT,
                               consumer=chunks.append, accept="application/json")
        if got.status != 200 or got.sha256 is None:
            return
        try:
            self.served.add(BundleManifest.model_validate_json(b"".join(chunks)))
        except ValidationError:
            logger.debug("%s is not a buildguard manifest (ignored)", where)

    def _sample(self, number: int) -> tuple[Fetched, HtmlRefs]:
        parser = HtmlRefs()
        if number % 2:
            self._served_manifest()  # alternate the order: round robin reaches both
        fetched = self.fetcher.get(self.url, fresh=True, limit=ENTRY_LIMIT,
                                   consumer=parser.feed_bytes, accept=HTML_ACCEPT)
        if not number % 2:
            self._served_manifest()
        parser.finish()
        return fetched, parser

    def _page(self, fetched: Fetched, parser: HtmlRefs) -> Page:
        base_url = fetched.final_url
        if parser.base_href:
            base_url = resolve(parser.base_href, fetched.final_url) or base_url
        page = Page(fetched, key="")
        sealed = self.bundle.entry
        page.identical = sealed is not None and fetched.sha256 == sealed.sha256
        for ref in parser.references:
            target = resolve(ref.value, base_url)
            if target is None:
                continue
            path = bundle_path(target, self.base)
            if path is not None and path in self.bundle.files:
                page.refs.append((target, path))
            else:
                page.unknown.append(target)
        allowed = self.bundle.allowed_changed(ENTRY)
        if fetched.sha256 is None:
            page.key = f"HTTP {fetched.status}" + (
                f" ({fetched.decode_error})" if fetched.decode_error else ""
            )
        elif allowed and not page.identical:
            # rewritten at start-up: pages differ per pod, what they load identifies them
            page.key = "loads " + " ".join(sorted(u for u, _ in page.refs) + page.unknown)
        else:
            page.key = fetched.sha256
        return page

    def _label(self, page: Page) -> str:
        if page.build_id == self.bundle.build_id:
            return f"this build {self.bundle.build_id}"
        if page.build_id:
            return f"build {page.build_id}"
        if page.fetched.sha256 is None:
            return page.key
        return f"an unknown build (entry page sha256 {page.fetched.sha256[:12]}…)"

    def _judge_page(self, page: Page, attempt: Attempt) -> None:
        fetched = page.fetched
        where = Where(ENTRY, fetched.final_url, fetched.status)
        if not 200 <= fetched.status < 300:
            attempt.add("LIVE_MISSING", f"the entry page {fetched.final_url} answered HTTP "
                        f"{fetched.status}", where)
            return
        allowed = self.bundle.allowed_changed(ENTRY)
        if fetched.over_limit and allowed:
            raise SiteReadError(
                f"the entry page {fetched.final_url} is larger than {ENTRY_LIMIT >> 20} MiB; "
                "buildguard does not read entry pages that large"
            )
        owner = self.served.owner_of_bytes(fetched.sha256) if fetched.sha256 else None
        stale_owner = self.served.owner_of_paths([p for p in (
            bundle_path(u, self.base) for u in page.unknown) if p])
        page.build_id = (
            self.bundle.build_id if page.identical or (allowed and not page.unknown)
            else (owner[0] if owner else stale_owner)
        )
        if fetched.decode_error:
            attempt.add("LIVE_CHANGED", f"the entry page {fetched.final_url} could not be "
                        f"decoded ({fetched.decode_error})", where)
        elif not page.identical and not allowed:
            whose = f": it is {owner[1]} of build {owner[0]}" if owner else (
                f": it belongs to build {page.build_id}" if page.build_id else "")
            if self.bundle.entry is None:
                attempt.add("LIVE_CHANGED", f"the bundle has no {ENTRY} to compare the entry "
                            f"page {fetched.final_url} with", where)
            else:
                attempt.add("LIVE_CHANGED", f"the entry page {fetched.final_url} is not this "
                            f"build's {ENTRY}{whose}", where, served_build=page.build_id)
        if page.unknown and not (page.identical and all(
                origin_of(u) != self.fetcher.site for u in page.unknown)):
            paths = [bundle_path(u, self.base) or u for u in page.unknown]
            whose = f" (build {page.build_id})" if page.build_id else ""
            hint = (" The page is the sealed one: is --base the bundle's public base?"
                    if page.identical else "")
            attempt.add(
                "LIVE_STALE_ENTRY",
                f"the entry page {fetched.final_url}{whose} references "
                f"{len(paths)} file(s) this build does not have: {_listing(paths)}.{hint}",
                where, served_build=page.build_id,
            )
        reason = cacheable_for(fetched.headers)
        if reason:
            attempt.add(
                "LIVE_ENTRY_CACHEABLE",
                f"the entry page {fetched.final_url} may be cached by browsers or a CDN "
                f"({reason}): after a deploy users can keep the old page; serve it with "
                "Cache-Control: no-cache",
                where, severity="warning",
            )

    # -- assets --------------------------------------------------------------------------

    def _judge_asset(self, url: str, path: str, attempt: Attempt,
                     entry_digests: set[str]) -> list[tuple[str, str]]:
        sealed = self.bundle.files[path]
        scanner = TokenScanner(self.bundle.names) if scanned(path) else None

        def limit(got: Fetched) -> int:
            if not 200 <= got.status < 300:
                return ERROR_BODY_LIMIT
            # an HTML answer is read whole, to tell whether it is the entry page
            return max(sealed.size, ENTRY_LIMIT) if got.content_type == "text/html" \
                else sealed.size

        fetched = self.fetcher.get(url, limit=limit, consumer=scanner.feed if scanner else None)
        where = Where(path, fetched.final_url, fetched.status)
        ok = False
        if not 200 <= fetched.status < 300:
            attempt.add("LIVE_MISSING", f"{path} is not served: {fetched.final_url} answered "
                        f"HTTP {fetched.status}", where)
        elif (path.lower().endswith(FALLBACK_SUFFIXES)
              and fetched.content_type == "text/html"):
            what = " (the entry page)" if fetched.sha256 in entry_digests else ""
            attempt.add(
                "LIVE_FALLBACK",
                f"{path} is answered with text/html{what}: the server's SPA fallback stands "
                "in for a file it does not have, and browsers fail to load it "
                "(ChunkLoadError)", where,
            )
        elif fetched.decode_error:
            attempt.add("LIVE_CHANGED", f"{path}: the served body could not be decoded "
                        f"({fetched.decode_error})", where)
        elif fetched.sha256 == sealed.sha256 or self.bundle.allowed_changed(path):
            ok = True
        else:
            attempt.add("LIVE_CHANGED", self._changed(path, fetched, sealed.size),
                        where, served_build=self._owner(fetched))
        attempt.compared += 1
        attempt.assets.append(AssetResult(
            url=fetched.final_url, path=path, status=fetched.status,
            content_type=fetched.content_type, content_encoding=fetched.content_encoding,
            sha256=fetched.sha256, size=fetched.size, ok=ok,
        ))
        fallback = fetched.content_type == "text/html" and not ok
        if scanner is None or not 200 <= fetched.status < 300 or fallback:
            return []
        scanner.finish()
        return self._imports(scanner, fetched.final_url)

    def _owner(self, fetched: Fetched) -> str | None:
        found = self.served.owner_of_bytes(fetched.sha256) if fetched.sha256 else None
        return found[0] if found else None

    def _changed(self, path: str, fetched: Fetched, size: int) -> str:
        if fetched.over_limit:
            return (f"{path} is served with more bytes than the sealed {size}: not this "
                    "build's file")
        assert fetched.sha256 is not None
        mine = [p for p in self.bundle.by_digest.get(fetched.sha256, []) if p != path]
        other = self.served.owner_of_bytes(fetched.sha256)
        if mine:
            whose = f": the served bytes are this build's {mine[0]}"
        elif other:
            whose = f": the served bytes are {other[1]} of build {other[0]}"
        else:
            whose = ": the served bytes belong to no file of this build"
        return (f"{path} differs from the sealed file (served {fetched.size} bytes, sha256 "
                f"{fetched.sha256[:12]}…; sealed {size} bytes){whose}")

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
        pages: dict[str, Page] = {}
        for number in range(self.samples):
            fetched, parser = self._sample(number)
            page = self._page(fetched, parser)
            if page.key in pages:
                pages[page.key].samples += 1
            else:
                pages[page.key] = page
        for page in pages.values():
            self._judge_page(page, attempt)
            attempt.assets.append(AssetResult(
                url=page.fetched.final_url, path=ENTRY, status=page.fetched.status,
                content_type=page.fetched.content_type,
                content_encoding=page.fetched.content_encoding,
                sha256=page.fetched.sha256, size=page.fetched.size,
                ok=not any(f.path == ENTRY and f.url == page.fetched.final_url
                           and f.severity == "error" for f in attempt.findings),
            ))
        entry_digests = {p.fetched.sha256 for p in pages.values() if p.fetched.sha256}
        if self.bundle.entry is not None:
            entry_digests.add(self.bundle.entry.sha256)
        queue = [ref for page in pages.values() for ref in page.refs]
        seen: set[str] = set()
        while queue:
            url, path = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            queue += self._judge_asset(url, path, attempt, entry_digests)
        served_ok = [p for p in pages.values() if 200 <= p.fetched.status < 300]
        if served_ok and attempt.compared == 0 and self.bundle.has_assets() and attempt.ok:
            attempt.add(
                "LIVE_STALE_ENTRY",
                f"the entry page references no script or stylesheet of this build, though the "
                f"bundle has them: nothing but {ENTRY} could be compared (is --base the "
                "bundle's public base?)", Where(ENTRY, self.url),
            )
        for page in pages.values():
            attempt.served.append(ServedVersion(
                entry_sha256=page.fetched.sha256, status=page.fetched.status,
                build_id=page.build_id,
                this_build=page.build_id == self.bundle.build_id,
                samples=page.samples,
            ))
        if len(pages) > 1:
            counts = ", ".join(f"{self._label(p)}: {p.samples}" for p in
                               sorted(pages.values(), key=lambda p: -p.samples))
            attempt.add(
                "LIVE_MIXED",
                f"{len(pages)} versions of the entry page were served over {self.samples} "
                f"samples ({counts}): users get one or the other, and a page of one "
                "version loading chunks from another fails",
                Where(url=self.url),
            )
        return attempt
