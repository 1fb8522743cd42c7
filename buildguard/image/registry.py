"""An :class:`~buildguard.image.source.ImageSource` over the OCI distribution API (httpx).

A thin client on purpose (see docs/decisions-registry.md): it fetches manifests and streams
blobs, and does nothing else. What it guarantees:

* A tag is resolved to a digest once, by the first manifest GET (``Docker-Content-Digest``,
  else the sha256 of the body); every manifest is checked against the digest that names it
  (:class:`~buildguard.errors.DigestMismatch` otherwise). Manifests are cached by digest.
* Blobs stream: :meth:`RegistrySource.open_blob` returns a reader that holds one chunk in
  memory, writes nothing to disk, follows redirects to storage, and survives a broken stream
  by resuming with ``Range: bytes=N-`` (or re-reading from zero and skipping the ``N`` bytes
  already handed out when the server ignores ranges). Blob digests are verified by the caller.
* 429, 5xx, connection errors and resets are retried a bounded number of times with
  exponential backoff and jitter, honouring ``Retry-After`` (capped); then
  :class:`~buildguard.errors.ImageReadError` names the registry, the repository, what was
  being read and how it failed (status and the registry's error code).
* Plain HTTP only for loopback hosts (``localhost``, ``127.0.0.0/8``, ``::1``) and the hosts
  named in ``insecure_registries`` / ``$BUILDGUARD_INSECURE_REGISTRIES``; TLS is verified
  everywhere else.
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import json
import logging
import os
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import httpx

from buildguard.errors import DigestMismatch, ImageReadError
from buildguard.image.auth import (
    Authenticator,
    AuthFailed,
    Keychain,
    default_keychain,
    describe_auth_failure,
    host_matches,
    is_loopback,
)
from buildguard.image.reference import Reference, is_valid_sha256_digest, parse_reference
from buildguard.image.source import RawManifest

logger = logging.getLogger(__name__)

INSECURE_REGISTRIES_ENV = "BUILDGUARD_INSECURE_REGISTRIES"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""distribution refuses manifests above 4 MiB; so do we (a registry cannot make us buffer more)."""
CHUNK_SIZE = 256 * 1024
MAX_ERROR_BODY = 64 * 1024
BACKOFF_CAP = 8.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 4
DEFAULT_BACKOFF = 0.5
DEFAULT_MAX_RETRY_AFTER = 30.0
USER_AGENT = "buildguard/0.1 (+https://github.com/buildguard)"

_DOCKER_HUB_API = {"docker.io": "registry-1.docker.io", "index.docker.io": "registry-1.docker.io"}
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def insecure_registries_from_env() -> tuple[str, ...]:
    """Hosts named in ``$BUILDGUARD_INSECURE_REGISTRIES`` (comma-separated ``host[:port]``)."""
    value = os.environ.get(INSECURE_REGISTRIES_ENV, "")
    return tuple(item.strip() for item in value.split(",") if item.strip())


def uses_plain_http(registry: str, insecure_registries: Sequence[str] = ()) -> bool:
    """Whether ``registry`` (``host[:port]``) is reached over plain HTTP."""
    return is_loopback(registry) or host_matches(
        registry, (*insecure_registries, *insecure_registries_from_env())
    )


class _LazyTLSTransport(httpx.BaseTransport):
    """A verifying HTTPS transport whose SSL context is made on first use."""

    def __init__(self) -> None:
        self._inner: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            self._inner = httpx.HTTPTransport(verify=True, http1=True, http2=False)
        return self._inner.handle_request(request)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


class RegistrySource:
    """Raw manifests and streaming blobs of one image in a registry.

    ``reference`` is ``HOST[:PORT]/REPO[:TAG|@sha256:HEX]`` (:class:`UsageError` if not).
    ``timeout`` is the connect and read timeout in seconds; ``retries`` how many times a
    request (or a broken blob stream) is tried again after the first failure; ``backoff``
    the first wait in seconds (doubled each retry, with jitter, at most 8 s);
    ``max_retry_after`` caps a server's ``Retry-After``. ``keychain`` replaces the default
    credential lookup (docker config, Google ADC, anonymous).
    """

    def __init__(
        self,
        reference: str,
        *,
        insecure_registries: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        keychain: Keychain = default_keychain,
    ) -> None:
        self._reference = reference
        self._ref: Reference = parse_reference(reference)
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self._retries = retries
        self._backoff = backoff
        self._max_retry_after = max_retry_after
        self._insecure = tuple(insecure_registries)
        self._plain_http = uses_plain_http(self._ref.registry, self._insecure)
        api_host = _DOCKER_HUB_API.get(self._ref.registry, self._ref.registry)
        scheme = "http" if self._plain_http else "https"
        self._base = f"{scheme}://{api_host}/v2/{self._ref.repository}"
        self._timeout = timeout
        self._client: httpx.Client | None = None
        self._auth = Authenticator(
            self._ref.registry,
            self._ref.repository,
            self._token_request,
            allow_plain_http=lambda host: uses_plain_http(host, self._insecure),
            keychain=keychain,
        )
        self._manifests: dict[str, RawManifest] = {}
        self._top: RawManifest | None = None
        self._streams: list[_BlobStream] = []
        self._closed = False

    # ------------------------------------------------------------------ ImageSource

    @property
    def reference(self) -> str:
        return self._reference

    @property
    def parsed(self) -> Reference:
        return self._ref

    @property
    def registry(self) -> str:
        return self._ref.registry

    @property
    def repository(self) -> str:
        return self._ref.repository

    @property
    def plain_http(self) -> bool:
        return self._plain_http

    def __repr__(self) -> str:
        return f"RegistrySource({self._reference!r})"

    def __enter__(self) -> RegistrySource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def top_manifest(self) -> RawManifest:
        """The manifest or index the reference names; a tag is resolved to a digest once."""
        if self._top is None:
            if self._ref.digest is not None:
                self._top = self.manifest(self._ref.digest)
            else:
                assert self._ref.tag is not None
                self._top = self._fetch_manifest(self._ref.tag, expected=None)
                self._manifests.setdefault(self._top.digest or "", self._top)
        return self._top

    def manifest(self, digest: str) -> RawManifest:
        """A manifest by digest, checked against that digest (cached)."""
        if not is_valid_sha256_digest(digest):
            raise ImageReadError(
                f"cannot read manifest {digest!r} from registry {self.registry}, repository "
                f"{self.repository}: only sha256 digests can be verified",
                hint="the image's index names a digest buildguard cannot check",
            )
        cached = self._manifests.get(digest)
        if cached is None:
            cached = self._fetch_manifest(digest, expected=digest)
            self._manifests[digest] = cached
        return cached

    def open_blob(self, digest: str, size: int | None) -> IO[bytes]:
        """A streaming reader of the blob's raw bytes (not verified here; the caller does)."""
        if not is_valid_sha256_digest(digest):
            raise ImageReadError(
                f"cannot read blob {digest!r} from registry {self.registry}, repository "
                f"{self.repository}: only sha256 digests can be verified",
                hint="the image's manifest names a digest buildguard cannot check",
            )
        self._check_open()
        stream = _BlobStream(self, digest, size)
        self._streams = [s for s in self._streams if not s.closed]
        self._streams.append(stream)
        return io.BufferedReader(stream, buffer_size=CHUNK_SIZE)

    def _client_for(self, url: str) -> httpx.Client:
        """The HTTP client, made when first needed.

        For a loopback registry the client uses plain HTTP without loading the CA bundle
        (~0.1 s of start-up); a token realm or a redirect that leads to HTTPS still goes
        through a verifying transport, made only then. Everything else gets one verifying
        client that honours HTTPS_PROXY / NO_PROXY and SSL_CERT_FILE; loopback traffic is
        never sent to a proxy that happens to be configured.
        """
        del url  # one client serves every URL; the transport picks TLS by scheme
        if self._client is None:
            common: dict[str, Any] = {
                "http1": True,
                "http2": False,
                "timeout": httpx.Timeout(self._timeout),
                "follow_redirects": False,
                "headers": {"User-Agent": USER_AGENT},
            }
            if is_loopback(self._ref.registry):
                self._client = httpx.Client(
                    transport=httpx.HTTPTransport(verify=False),  # serves http:// only
                    mounts={"https://": _LazyTLSTransport()},
                    trust_env=False,
                    **common,
                )
            else:
                self._client = httpx.Client(verify=True, trust_env=True, **common)
        return self._client

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for stream in self._streams:
            stream.close()
        self._streams.clear()
        if self._client is not None:
            self._client.close()

    # ------------------------------------------------------------------ manifests

    def _fetch_manifest(self, identifier: str, *, expected: str | None) -> RawManifest:
        what = f"manifest {identifier}"
        response, data = self._get_small(
            f"{self._base}/manifests/{identifier}",
            what=what,
            headers={"Accept": MANIFEST_ACCEPT, "Accept-Encoding": "identity"},
            limit=MAX_MANIFEST_BYTES,
        )
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if expected is None:
            # Tag resolution: the registry's digest if it gives a sha256 one, else the body's.
            header_digest = response.headers.get("docker-content-digest")
            expected = (
                header_digest
                if header_digest is not None and is_valid_sha256_digest(header_digest)
                else actual
            )
        if actual != expected:
            raise DigestMismatch(
                f"manifest {identifier} from {self._where()} does not match its digest "
                f"{expected}: the bytes received hash to {actual}",
                hint="the manifest was altered in the registry or on the way; retry, and if it "
                "persists treat the image as tampered and push it again",
            )
        logger.debug("%s of %s/%s is %s", what, self.registry, self.repository, expected)
        return RawManifest(
            data=data,
            media_type=_media_type(response.headers.get("content-type")),
            digest=expected,
        )

    def _get_small(
        self, url: str, *, what: str, headers: Mapping[str, str], limit: int
    ) -> tuple[httpx.Response, bytes]:
        """GET a small body whole (at most ``limit`` bytes), retrying a body that breaks."""
        attempt = 0
        while True:
            response = self._request("GET", url, what=what, headers=headers, stream=True)
            try:
                if response.status_code != 200:
                    raise self._status_error(response, what)
                length = response.headers.get("content-length")
                if length is not None and length.isdigit() and int(length) > limit:
                    raise self._too_large(what, int(length))
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise self._too_large(what, len(body))
                return response, bytes(body)
            except httpx.TransportError as exc:
                if attempt >= self._retries:
                    raise self._transport_error(what, exc, attempt + 1) from None
                delay = self._delay(attempt, None)
                logger.info(
                    "reading %s from %s/%s broke (%s); retry %d of %d in %.1fs",
                    what, self.registry, self.repository, _describe_exc(exc),
                    attempt + 1, self._retries, delay,
                )  # fmt: skip
                time.sleep(delay)
                attempt += 1
            finally:
                response.close()

    def _too_large(self, what: str, size: int) -> ImageReadError:
        return ImageReadError(
            f"{what} from registry {self.registry}, repository {self.repository} is {size} "
            f"bytes or more, above the {MAX_MANIFEST_BYTES}-byte limit for manifests",
            hint="this is not a manifest buildguard can read; check the reference",
        )

    # ------------------------------------------------------------------ HTTP

    def _check_open(self) -> None:
        if self._closed:
            raise ImageReadError(
                f"the registry source for {self._reference} is closed",
                hint="open a new source",
            )

    def _request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        follow_redirects: bool = False,
        authenticate: bool = True,
        form: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries and auth; returns the first response that is not retried.

        The caller checks the status. 401s are answered by the authenticator (a token
        obtained during this call that is refused again ends in :class:`ImageReadError`).
        """
        self._check_open()
        attempt = 0
        fresh_auth = False
        while True:
            send_headers = dict(headers or {})
            try:
                if authenticate:
                    value = self._auth.authorization()
                    if value is not None:
                        send_headers["Authorization"] = value
            except AuthFailed as failure:
                raise self._auth_error(failure.reason) from None
            client = self._client_for(url)
            request = client.build_request(
                method, url, headers=send_headers, data=dict(form) if form else None
            )
            try:
                response = client.send(
                    request, stream=stream, follow_redirects=follow_redirects
                )
            except httpx.TransportError as exc:
                if attempt >= self._retries:
                    raise self._transport_error(what, exc, attempt + 1) from None
                delay = self._delay(attempt, None)
                logger.info(
                    "%s from %s/%s failed (%s); retry %d of %d in %.1fs",
                    what, self.registry, self.repository, _describe_exc(exc),
                    attempt + 1, self._retries, delay,
                )  # fmt: skip
                time.sleep(delay)
                attempt += 1
                continue
            status = response.status_code
            if status == 401 and authenticate:
                _drain(response)
                if fresh_auth:
                    raise self._auth_error(
                        "rejected" if self._auth.has_credentials else "no-credentials"
                    )
                try:
                    self._auth.handle_unauthorized(response, renew=True)
                except AuthFailed as failure:
                    raise self._auth_error(failure.reason) from None
                fresh_auth = True
                continue
            if status == 403 and authenticate and url.startswith(self._base):
                raise self._auth_error("denied", response)
            if status in _RETRY_STATUS and attempt < self._retries:
                _drain(response)
                delay = self._delay(attempt, response.headers.get("retry-after"))
                logger.info(
                    "%s from %s/%s: HTTP %d; retry %d of %d in %.1fs",
                    what, self.registry, self.repository, status,
                    attempt + 1, self._retries, delay,
                )  # fmt: skip
                time.sleep(delay)
                attempt += 1
                continue
            if status in _RETRY_STATUS:
                raise self._status_error(response, what, attempts=attempt + 1)
            return response

    def _token_request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        form: Mapping[str, str] | None,
    ) -> httpx.Response:
        return self._request(
            method,
            url,
            what="bearer token",
            headers=headers,
            stream=False,
            follow_redirects=True,
            authenticate=False,
            form=form,
        )

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            seconds = _parse_retry_after(retry_after)
            if seconds is not None:
                return min(max(seconds, 0.0), self._max_retry_after)
        base = min(BACKOFF_CAP, self._backoff * (2.0**attempt))
        return base * (0.5 + random.random() / 2)

    # ------------------------------------------------------------------ errors

    def _where(self) -> str:
        return f"registry {self.registry}, repository {self.repository}"

    def _auth_error(self, reason: str, response: httpx.Response | None = None) -> ImageReadError:
        message, hint = describe_auth_failure(reason, self.registry, self.repository, self._auth)
        if response is not None:
            code = _registry_error(response)
            if code:
                message += f" (HTTP {response.status_code} {code})"
        return ImageReadError(message, hint=hint)

    def _status_error(
        self, response: httpx.Response, what: str, *, attempts: int | None = None
    ) -> ImageReadError:
        status = response.status_code
        code = _registry_error(response)
        detail = f"HTTP {status}" + (f" {code}" if code else "")
        tries = f" after {attempts} attempts" if attempts and attempts > 1 else ""
        if status == 404:
            if what.startswith("manifest"):
                ident = what.split(" ", 1)[1]
                return ImageReadError(
                    f"not found: {self._where()} has no manifest {ident} ({detail})",
                    hint="check the repository name and the tag or digest, and that "
                    "`docker push` finished",
                )
            return ImageReadError(
                f"not found: {what} is missing from {self._where()} ({detail})",
                hint="the image is incomplete in the registry; push it again",
            )
        if status in _RETRY_STATUS:
            return ImageReadError(
                f"could not read {what} from {self._where()}: {detail}{tries}",
                hint="the registry is failing or rate-limiting; retry later",
            )
        return ImageReadError(
            f"could not read {what} from {self._where()}: {detail}",
            hint="check the reference and the registry",
        )

    def _transport_error(
        self, what: str, exc: httpx.TransportError, attempts: int
    ) -> ImageReadError:
        scheme = "http" if self._plain_http else "https"
        hint = "check the registry address, the network and the registry's health"
        if isinstance(exc, httpx.ConnectError) and "CERTIFICATE" in str(exc).upper():
            hint = (
                "the registry's TLS certificate is not trusted; fix it, or for a test registry "
                "name it with --insecure-registry / $BUILDGUARD_INSECURE_REGISTRIES"
            )
        return ImageReadError(
            f"could not read {what} from {self._where()} over {scheme}: "
            f"{_describe_exc(exc)} (after {attempts} attempts)",
            hint=hint,
        )


# --------------------------------------------------------------------------- blob stream


class _BlobStream(io.RawIOBase):
    """Raw bytes of one blob, resumed (Range) or re-read and skipped after a broken stream."""

    def __init__(self, source: RegistrySource, digest: str, size: int | None) -> None:
        super().__init__()
        self._source = source
        self._digest = digest
        self._size = size
        self._url = f"{source._base}/blobs/{digest}"
        self._what = f"blob {digest}"
        self._pos = 0  # bytes handed to the caller
        self._response: httpx.Response | None = None
        self._chunks: Iterator[bytes] | None = None
        self._pending = memoryview(b"")
        self._eof = False
        self._breaks_without_progress = 0
        self._breaks = 0
        self._progress_mark = 0

    def __repr__(self) -> str:
        return (
            f"<registry blob {self._digest} of {self._source.registry}/{self._source.repository}>"
        )

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("I/O operation on closed blob stream")
        view = memoryview(buffer).cast("B")
        while not self._pending:
            if self._eof:
                return 0
            self._next_chunk()
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._pos += n
        if self._size is not None and self._pos > self._size:
            self._close_response()
            raise DigestMismatch(
                f"blob {self._digest} from registry {self._source.registry}, repository "
                f"{self._source.repository} is longer than the {self._size} bytes its "
                "descriptor says",
                hint="the blob was altered in the registry or on the way; treat the image as "
                "tampered and push it again",
            )
        return n

    def _next_chunk(self) -> None:
        if self._chunks is None:
            self._open(self._pos)
            return
        try:
            chunk = next(self._chunks)
        except StopIteration:
            self._close_response()
            if self._size is not None and self._pos < self._size:
                self._broken(f"the body ended after {self._pos} of {self._size} bytes")
                return
            self._eof = True
            return
        except httpx.TransportError as exc:
            self._close_response()
            self._broken(_describe_exc(exc))
            return
        self._pending = memoryview(chunk)

    def _broken(self, why: str) -> None:
        """The stream broke at ``self._pos``: account for it, then reopen from there."""
        self._breaks += 1
        if self._pos > self._progress_mark:
            self._progress_mark = self._pos
            self._breaks_without_progress = 0
        self._breaks_without_progress += 1
        retries = self._source._retries
        if self._breaks_without_progress > retries or self._breaks > 4 * (retries + 1):
            raise ImageReadError(
                f"could not read {self._what} from registry {self._source.registry}, "
                f"repository {self._source.repository}: the stream broke at byte {self._pos} "
                f"({why}) and did not recover after {self._breaks} attempts to resume",
                hint="the network or the registry's storage is failing; retry later",
            )
        delay = self._source._delay(self._breaks_without_progress - 1, None)
        logger.info(
            "%s from %s/%s broke at byte %d (%s); resuming in %.1fs",
            self._what, self._source.registry, self._source.repository, self._pos, why, delay,
        )  # fmt: skip
        time.sleep(delay)
        self._chunks = None

    def _open(self, offset: int) -> None:
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        response = self._source._request(
            "GET",
            self._url,
            what=self._what,
            headers=headers,
            stream=True,
            follow_redirects=True,
        )
        status = response.status_code
        skip = 0
        if offset and status == 206:
            start = _content_range_start(response.headers.get("content-range"))
            if start is None or start > offset:
                # A range we did not ask for: start over without one.
                _drain(response)
                logger.info("%s: unusable Content-Range; re-reading from zero", self._what)
                self._response = None
                self._reopen_from_zero(offset)
                return
            skip = offset - start
        elif status == 200:
            skip = offset  # the server ignored Range: re-read and drop what we handed out
            if offset:
                logger.info(
                    "%s: registry ignored Range; re-reading and skipping %d bytes",
                    self._what,
                    offset,
                )
        else:
            raise self._source._status_error(response, self._what)
        self._response = response
        self._chunks = self._skipping(response.iter_raw(CHUNK_SIZE), skip)

    def _reopen_from_zero(self, offset: int) -> None:
        response = self._source._request(
            "GET",
            self._url,
            what=self._what,
            headers={"Accept-Encoding": "identity"},
            stream=True,
            follow_redirects=True,
        )
        if response.status_code != 200:
            raise self._source._status_error(response, self._what)
        self._response = response
        self._chunks = self._skipping(response.iter_raw(CHUNK_SIZE), offset)

    @staticmethod
    def _skipping(chunks: Iterator[bytes], skip: int) -> Iterator[bytes]:
        for chunk in chunks:
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            if skip:
                chunk = chunk[skip:]
                skip = 0
            yield chunk

    def _close_response(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None

    def close(self) -> None:
        self._close_response()
        self._chunks = None
        self._pending = memoryview(b"")
        super().close()


# --------------------------------------------------------------------------- helpers


def _media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    value = content_type.split(";", 1)[0].strip().lower()
    return value or None


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return float(when.timestamp()) - time.time()


def _content_range_start(value: str | None) -> int | None:
    # "bytes START-END/TOTAL"
    if not value or not value.startswith("bytes "):
        return None
    span = value[6:].split("/", 1)[0]
    start, _, _end = span.partition("-")
    return int(start) if start.isdigit() else None


def _drain(response: httpx.Response) -> None:
    """Release the connection of a response whose body we do not need."""
    response.close()


def _error_body(response: httpx.Response) -> bytes:
    """At most 64 KiB of an error body (read now if it was not), then release the response."""
    try:
        return response.content[:MAX_ERROR_BODY]
    except httpx.ResponseNotRead:
        pass
    body = bytearray()
    try:
        if not response.is_stream_consumed and not response.is_closed:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_ERROR_BODY:
                    break
    except (httpx.HTTPError, httpx.StreamError):
        pass
    finally:
        response.close()
    return bytes(body[:MAX_ERROR_BODY])


def _registry_error(response: httpx.Response) -> str | None:
    """``CODE: message`` from a distribution JSON error body, if there is one."""
    try:
        data = json.loads(_error_body(response))
    except ValueError:
        return None
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    parts = []
    for err in errors[:3]:
        if isinstance(err, dict):
            code = " ".join(str(err.get("code", "")).split())[:60]
            message = " ".join(str(err.get("message", "")).split())[:200]
            parts.append(f"{code}: {message}" if message else code)
    return "; ".join(p for p in parts if p) or None


def _describe_exc(exc: httpx.TransportError) -> str:
    text = " ".join(str(exc).split())[:200]
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
