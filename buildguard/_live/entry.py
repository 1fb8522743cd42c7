"""The entry page: sampled over new connections, each distinct version judged once.

Each sample asks for the entry page over a new connection, then as many times for the
site's ``buildguard-manifest.json``. A version is an entry page's digest, or, when
``index.html`` may be rewritten at start-up (``--allow-changed``), what the page loads.
Judging a version: its status, its bytes against the sealed ``index.html``, its references
(all must be this build's files, unless the page is the sealed one and they lie on another
origin), its caching headers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pydantic import ValidationError

from buildguard._live.bundle import ENTRY, BundleIndex, ServedBuilds
from buildguard._live.caching import ENTRY_CACHE_HINT, cacheable_for
from buildguard._live.fetch import Fetched, Fetcher
from buildguard._live.findings import Attempt, Where, listing
from buildguard._live.refs import HtmlRefs
from buildguard._live.urls import bundle_path, manifest_url, origin_of, resolve
from buildguard.errors import SiteReadError
from buildguard.models import BundleManifest

logger = logging.getLogger(__name__)

ENTRY_LIMIT = 16 << 20
SERVED_MANIFEST_LIMIT = 16 << 20
ERROR_BODY_LIMIT = 64 << 10
HTML_ACCEPT = "text/html,application/xhtml+xml,*/*;q=0.8"


def _entry_limit(got: Fetched) -> int:
    return ENTRY_LIMIT if 200 <= got.status < 300 else ERROR_BODY_LIMIT


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


class EntryPages:
    def __init__(self, fetcher: Fetcher, bundle: BundleIndex, url: str, base: str) -> None:
        self.fetcher = fetcher
        self.bundle = bundle
        self.url = url
        self.base = base
        self.served = ServedBuilds(bundle.build_id)

    def sample(self, samples: int) -> dict[str, Page]:
        """Ask ``samples`` times; the distinct versions, each with its count.

        All entry page requests go first, back to back, then as many requests for the
        served manifest: a round robin over K backends sends N consecutive requests to
        min(N, K) of them, both times (interleaving the two would skip backends).
        """
        pages: dict[str, Page] = {}
        for _ in range(samples):
            parser = HtmlRefs()
            fetched = self.fetcher.get(
                self.url,
                fresh=True,
                limit=_entry_limit,
                consumer=parser.feed_bytes,
                accept=HTML_ACCEPT,
            )
            parser.finish()
            page = self._page(fetched, parser)
            if page.key in pages:
                pages[page.key].samples += 1
            else:
                pages[page.key] = page
        for _ in range(samples):
            self._served_manifest()
        return pages

    def _served_manifest(self) -> None:
        where = manifest_url(self.url, self.base)
        chunks: list[bytes] = []
        got = self.fetcher.get(
            where,
            fresh=True,
            limit=SERVED_MANIFEST_LIMIT,
            consumer=chunks.append,
            accept="application/json",
        )
        if got.status != 200 or got.sha256 is None:
            return
        try:
            self.served.add(BundleManifest.model_validate_json(b"".join(chunks)))
        except ValidationError:
            logger.debug("%s is not a buildguard manifest (ignored)", where)

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
        if fetched.sha256 is None or not 200 <= fetched.status < 300:
            page.key = f"HTTP {fetched.status}" + (
                f" ({fetched.decode_error})" if fetched.decode_error else ""
            )
        elif allowed and not page.identical:
            # rewritten at start-up: pages differ per pod, what they load identifies them
            page.key = "loads " + " ".join(sorted(u for u, _ in page.refs) + page.unknown)
        else:
            page.key = fetched.sha256
        return page

    def label(self, page: Page) -> str:
        if page.build_id == self.bundle.build_id:
            return f"this build {self.bundle.build_id}"
        if page.build_id:
            return f"build {page.build_id}"
        if page.fetched.sha256 is None or not 200 <= page.fetched.status < 300:
            return page.key
        return f"an unknown build (entry page sha256 {page.fetched.sha256[:12]}…)"

    def judge(self, page: Page, attempt: Attempt) -> None:
        fetched = page.fetched
        where = Where(ENTRY, fetched.final_url, fetched.status)
        if not 200 <= fetched.status < 300:
            attempt.add(
                "LIVE_MISSING",
                f"the entry page {fetched.final_url} answered HTTP {fetched.status}",
                where,
            )
            return
        allowed = self.bundle.allowed_changed(ENTRY)
        if fetched.over_limit and allowed:
            raise SiteReadError(
                f"the entry page {fetched.final_url} is larger than {ENTRY_LIMIT >> 20} MiB; "
                "buildguard does not read entry pages that large"
            )
        owner = self.served.owner_of_bytes(fetched.sha256) if fetched.sha256 else None
        stale_owner = self.served.owner_of_paths(
            [p for p in (bundle_path(u, self.base) for u in page.unknown) if p]
        )
        page.build_id = (
            self.bundle.build_id
            if page.identical or (allowed and not page.unknown)
            else (owner[0] if owner else stale_owner)
        )
        if fetched.decode_error:
            attempt.add(
                "LIVE_CHANGED",
                f"the entry page {fetched.final_url} could not be decoded ({fetched.decode_error})",
                where,
            )
        elif not page.identical and not allowed:
            whose = (
                f": it is {owner[1]} of build {owner[0]}"
                if owner
                else (f": it belongs to build {page.build_id}" if page.build_id else "")
            )
            if self.bundle.entry is None:
                attempt.add(
                    "LIVE_CHANGED",
                    f"the bundle has no {ENTRY} to compare the entry page {fetched.final_url} with",
                    where,
                )
            else:
                attempt.add(
                    "LIVE_CHANGED",
                    f"the entry page {fetched.final_url} is not this build's {ENTRY}{whose}",
                    where,
                    served_build=page.build_id,
                )
        if page.unknown and not (
            page.identical and all(origin_of(u) != self.fetcher.site for u in page.unknown)
        ):
            paths = [bundle_path(u, self.base) or u for u in page.unknown]
            whose = f" (build {page.build_id})" if page.build_id and not page.identical else ""
            hint = (
                " The page is the sealed one: is --base the bundle's public base?"
                if page.identical
                else ""
            )
            attempt.add(
                "LIVE_STALE_ENTRY",
                f"the entry page {fetched.final_url}{whose} references "
                f"{len(paths)} file(s) this build does not have: {listing(paths)}.{hint}",
                where,
                served_build=page.build_id,
            )
        reason = cacheable_for(fetched.headers)
        if reason:
            attempt.add(
                "LIVE_ENTRY_CACHEABLE",
                f"the entry page {fetched.final_url} may be cached by browsers or a CDN "
                f"({reason}): after a deploy users can keep the old page",
                where,
                severity="warning",
                hint=ENTRY_CACHE_HINT,
            )
