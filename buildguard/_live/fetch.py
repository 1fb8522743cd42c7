"""Fetching one URL of the site: bounded redirects, streamed and hashed body, typed errors.

Only :class:`SiteReadError` (exit 3) and :class:`UsageError` escape, whatever httpx raised
underneath. The body is read raw and through the Content-Encoding decoders in chunks
(:mod:`buildguard._internal.bodyread`), each chunk hashed and handed to an optional consumer
(the reference scanner) and then dropped: memory stays flat whatever the size or encoding,
and reading stops past the caller's limit (decoded bytes) or past its encoded counterpart
(a body decoding to nothing forever). Each request, redirects one by one, ends within
``request_deadline`` seconds (``$BUILDGUARD_HTTP_DEADLINE``) and every deadline the calling
thread entered (the command's, :func:`buildguard._internal.deadline.within`).
Redirects are followed here (not by httpx) so a loop is seen
for what it is, and the extra headers (``--header``) go only to the entry page's origin.
Header values are never logged.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from buildguard._internal.bodyread import BodyReader, EncodedTooLarge, encoded_limit_for
from buildguard._internal.deadline import HTTP_DEADLINE_DEFAULT, HTTP_DEADLINE_ENV, Deadline, within
from buildguard._internal.decode import DecodeError, UnsupportedEncoding
from buildguard._internal.netdeadline import bound_client
from buildguard._internal.useragent import USER_AGENT
from buildguard._live.urls import Origin, origin_of, strip_url
from buildguard.errors import SiteReadError

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 10
NO_LIMIT = 1 << 30
"""The decoded bytes read from a body when the caller gives no limit."""
REDIRECTS = frozenset({301, 302, 303, 307, 308})
ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # what browsers ask for

Consumer = Callable[[bytes], None]
Limit = Callable[["Fetched"], "int | None"]


@dataclass
class Fetched:
    """One response, its body read (decoded) to the end or to ``limit``."""

    url: str
    """The URL asked for (before redirects)."""
    final_url: str
    status: int
    headers: httpx.Headers
    sha256: str | None = None
    size: int = 0
    over_limit: bool = False
    """The decoded body went past the limit; reading stopped there (sha256 is None)."""
    decode_error: str | None = None
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("content-type")
        return value.split(";")[0].strip().lower() if value else None

    @property
    def content_encoding(self) -> str | None:
        value: str | None = self.headers.get("content-encoding")
        return value


class Fetcher:
    """Two httpx clients: a pooled one for assets, one that opens a new connection for
    every request (samples, so a load balancer spreads them)."""

    def __init__(
        self,
        site: Origin,
        *,
        headers: Sequence[tuple[str, str]] = (),
        insecure: bool = False,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        request_deadline: float = HTTP_DEADLINE_DEFAULT,
    ) -> None:
        self.site = site
        self._extra = list(headers)
        self._request_deadline = request_deadline
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        common = {
            "verify": not insecure,
            "timeout": timeout,
            "follow_redirects": False,
            "trust_env": True,
            "headers": {"user-agent": USER_AGENT, "accept-encoding": ACCEPT_ENCODING},
        }
        # sockets bounded by this thread's deadlines: the request's, and the command's
        self._pooled = bound_client(httpx.Client(**common), None)  # type: ignore[arg-type]
        self._fresh = bound_client(
            httpx.Client(
                limits=httpx.Limits(max_keepalive_connections=0),
                **common,  # type: ignore[arg-type]
            ),
            None,
        )
        self.requests = 0
        self.bytes_read = 0

    def close(self) -> None:
        self._pooled.close()
        self._fresh.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers_for(self, url: str, fresh: bool, accept: str) -> dict[str, str]:
        headers = {"accept": accept}
        if fresh:
            headers["connection"] = "close"
        if origin_of(url) == self.site:
            for key, value in self._extra:  # the user's headers win
                headers[key.lower()] = value
        return headers

    def get(
        self,
        url: str,
        *,
        fresh: bool = False,
        limit: int | Limit | None = None,
        consumer: Consumer | None = None,
        accept: str = "*/*",
    ) -> Fetched:
        """GET ``url`` following redirects; read and hash the decoded body.

        ``limit``: stop reading once the decoded body passes this many bytes (the sealed
        size, so a body that cannot match is not read to its end); a function of the
        response (status, headers) to choose it once they are known.
        """
        current = strip_url(url)
        seen = [current]
        client = self._fresh if fresh else self._pooled
        while True:
            headers = self._headers_for(current, fresh, accept)
            self.requests += 1
            bound = Deadline.after(
                self._request_deadline,
                f"the {self._request_deadline:g} s deadline of one request (${HTTP_DEADLINE_ENV})",
            )
            try:
                with within(bound), client.stream("GET", current, headers=headers) as response:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECTS and location:
                        target = strip_url(urljoin(current, location))
                        logger.info(
                            "GET %s -> %d redirect to %s", current, response.status_code, target
                        )
                        if target in seen:
                            chain = " -> ".join([*seen, target])
                            raise SiteReadError(
                                f"redirect loop: {chain}",
                                hint="fix the server's redirect rules (or give the final URL)",
                            )
                        if len(seen) > MAX_REDIRECTS:
                            raise SiteReadError(
                                f"more than {MAX_REDIRECTS} redirects from {url}",
                                hint="give the final URL, or fix the redirect chain",
                            )
                        if origin_of(target) is None:
                            raise SiteReadError(
                                f"{current} redirects to {target}, which is not an http(s) URL"
                            )
                        seen.append(target)
                        current = target
                        continue
                    result = Fetched(
                        url=url,
                        final_url=current,
                        status=response.status_code,
                        headers=response.headers,
                        redirects=seen[1:],
                    )
                    cap = limit(result) if callable(limit) else limit
                    self._read_body(response, result, cap, consumer)
                    logger.info(
                        "GET %s -> %d %s %d bytes%s",
                        current,
                        result.status,
                        result.content_type or "-",
                        result.size,
                        f" ({result.content_encoding})" if result.content_encoding else "",
                    )
                    return result
            except httpx.InvalidURL as exc:
                raise SiteReadError(f"cannot fetch {current}: bad URL ({exc})") from None
            except httpx.TimeoutException as exc:
                why = f": {exc}" if str(exc) not in ("", "timed out") else ""
                raise SiteReadError(
                    f"could not read {current}: timed out ({type(exc).__name__}{why})",
                    hint="check that the site is up and reachable from here",
                ) from None
            except httpx.HTTPError as exc:
                raise SiteReadError(
                    f"could not read {current}: {type(exc).__name__}: {exc}",
                    hint="check the URL, DNS and that the site is up and reachable from here; "
                    "--insecure skips TLS verification for a test site",
                ) from None

    def _read_body(
        self,
        response: httpx.Response,
        result: Fetched,
        limit: int | None,
        consumer: Consumer | None,
    ) -> None:
        encoded_limit = encoded_limit_for(NO_LIMIT if limit is None else limit)
        try:
            reader = BodyReader(response, encoded_limit)
        except UnsupportedEncoding as exc:
            raise SiteReadError(
                f"{result.final_url} is served with Content-Encoding {exc}, which buildguard "
                "cannot decode, so its bytes cannot be compared",
                hint="buildguard decodes gzip, deflate, br and zstd",
            ) from None
        digest = hashlib.sha256()
        cap = NO_LIMIT if limit is None else limit
        try:
            while chunk := reader.read(cap + 1 - reader.size):
                self.bytes_read += len(chunk)
                if reader.size > cap:
                    result.over_limit = True
                    break
                digest.update(chunk)
                if consumer is not None:
                    consumer(chunk)
        except (DecodeError, EncodedTooLarge) as exc:
            result.decode_error = str(exc)
            result.size = reader.size
            return
        result.size = reader.size
        if not result.over_limit:
            result.sha256 = digest.hexdigest()
