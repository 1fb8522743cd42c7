"""An :class:`~buildguard._image.source.ImageSource` over the OCI distribution API, and the
one write buildguard makes to a registry (a tag).

Only the distribution API lives here; retries, authentication, typed errors and the
keychain are the layers of :mod:`buildguard._image.transport`, the resumable blob reader is
:mod:`buildguard._image.blobstream`. What this module guarantees:

* A tag is resolved to a digest once, by the first manifest GET (``Docker-Content-Digest``,
  else the sha256 of the body); every manifest is checked against the digest that names it
  (:class:`~buildguard.errors.DigestMismatch` otherwise) and cached by digest; manifests
  above 4 MiB are refused while they are decoded, whatever the Content-Encoding or framing
  (:mod:`buildguard._internal.bodyread`).
* Blobs stream (one chunk in memory, nothing on disk), follow redirects to storage (at most
  10; our ``Authorization`` never goes to another host) and resume after a break.
* :meth:`RegistrySource.put_manifest` PUTs the exact bytes of a manifest under a new tag,
  with its media type and a push-scoped token, and checks the digest the registry reports.
* Plain HTTP only for loopback hosts and those named in ``insecure_registries`` /
  ``$BUILDGUARD_INSECURE_REGISTRIES``; TLS is verified everywhere else.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from typing import IO

import httpx

from buildguard._image.blobstream import CHUNK_SIZE, BlobStream
from buildguard._image.manifest import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    decode_manifest_or_index,
)
from buildguard._image.reference import (
    Reference,
    is_valid_sha256_digest,
    is_valid_tag,
    parse_reference,
)
from buildguard._image.source import RawManifest
from buildguard._image.transport.authflow import RegistryAuth
from buildguard._image.transport.errors import (
    RegistryError,
    Repo,
    Subject,
    status_error,
)
from buildguard._image.transport.hosts import (
    INSECURE_REGISTRIES_ENV,
    insecure_registries_from_env,
    uses_plain_http,
)
from buildguard._image.transport.keychain import Provider, default_keychain
from buildguard._image.transport.retry import (
    RetryPolicy,
)
from buildguard._image.transport.session import Session
from buildguard.errors import DigestMismatch, ImageReadError, UsageError

__all__ = [
    "INSECURE_REGISTRIES_ENV",
    "MANIFEST_ACCEPT",
    "RegistryError",
    "RegistrySource",
    "RetryPolicy",
    "insecure_registries_from_env",
    "put_manifest",
    "uses_plain_http",
]

logger = logging.getLogger(__name__)

MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""distribution refuses manifests above 4 MiB; so do we (a registry cannot make us buffer more)."""
DEFAULT_POLICY = RetryPolicy()
"""The retry policy of sources made without one (tests may replace it)."""

_DOCKER_HUB_API = {"docker.io": "registry-1.docker.io", "index.docker.io": "registry-1.docker.io"}


def _media_type(content_type: str | None) -> str | None:
    value = (content_type or "").split(";", 1)[0].strip().lower()
    return value or None


class RegistrySource:
    """Raw manifests and streaming blobs of one image in a registry.

    ``reference`` is ``HOST[:PORT]/REPO[:TAG|@sha256:HEX]`` (:class:`UsageError` if not).
    ``policy`` sets retries, backoff and the connect/read timeouts (default
    :data:`DEFAULT_POLICY`, its deadlines from ``$BUILDGUARD_HTTP_DEADLINE`` and
    ``$BUILDGUARD_DEADLINE`` when set); ``timeout``, ``retries``, ``backoff`` and
    ``max_retry_after`` override single fields of it. ``keychain`` replaces the credential
    lookup (docker config, Google ADC, anonymous).
    """

    def __init__(
        self,
        reference: str,
        *,
        insecure_registries: Sequence[str] = (),
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        max_retry_after: float | None = None,
        keychain: Provider = default_keychain,
    ) -> None:
        self._reference = reference
        self._ref: Reference = parse_reference(reference)
        policy = (
            (policy or DEFAULT_POLICY)
            .from_env()
            .override(
                timeout=timeout, retries=retries, backoff=backoff, max_retry_after=max_retry_after
            )
        )
        self.repo = Repo(self._ref.registry, self._ref.repository)
        self._insecure = tuple(insecure_registries)
        self._plain_http = uses_plain_http(self._ref.registry, self._insecure)
        api_host = _DOCKER_HUB_API.get(self._ref.registry, self._ref.registry)
        self._base = f"{'http' if self._plain_http else 'https'}://{api_host}/v2/{self.repository}"
        self._auth = RegistryAuth(
            self.repo,
            api_host,
            keychain=keychain,
            allow_plain_http=lambda host: uses_plain_http(host, self._insecure),
        )
        self._session = Session(
            self.repo, self._base, plain_http=self._plain_http, auth=self._auth, policy=policy
        )
        self._manifests: dict[str, RawManifest] = {}
        self._top: RawManifest | None = None
        self._streams: list[BlobStream] = []
        self._closed = False

    # ------------------------------------------------------------------ ImageSource

    @property
    def reference(self) -> str:
        return self._reference

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
        self._require_sha256(digest, "manifest", "the image's index")
        cached = self._manifests.get(digest)
        if cached is None:
            cached = self._fetch_manifest(digest, expected=digest)
            self._manifests[digest] = cached
        return cached

    def open_blob(self, digest: str, size: int | None) -> IO[bytes]:
        """A streaming reader of the blob's raw bytes (not verified here; the caller does)."""
        self._require_sha256(digest, "blob", "the image's manifest")
        self._check_open()
        stream = BlobStream(self._session, digest, size)
        self._streams = [s for s in self._streams if not s.closed]
        self._streams.append(stream)
        return io.BufferedReader(stream, buffer_size=CHUNK_SIZE)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for stream in self._streams:
            stream.close()
        self._streams.clear()
        self._session.close()

    # ------------------------------------------------------------------ the write path

    def put_manifest_bytes(self, tag: str, data: bytes, media_type: str) -> str | None:
        """PUT ``data`` as the manifest ``tag`` names; returns the digest the registry
        reports (``Docker-Content-Digest``; the spec says SHOULD, so it may be ``None``)."""
        subject = Subject("tag", tag)
        budget = self._session.new_budget()
        response = self._session.send(
            "PUT",
            f"{self._base}/manifests/{tag}",
            subject,
            budget,
            headers={"Content-Type": media_type},
            content=data,
        )
        if response.status_code not in (200, 201):
            raise status_error(response, self.repo, subject, attempts=budget.attempts, verb="write")
        response.close()
        reported: str | None = response.headers.get("docker-content-digest")
        return reported

    def put_manifest(self, digest: str, tag: str) -> str:
        """Tag the manifest ``digest`` as ``tag``: its exact bytes PUT with its media type.

        Returns the digest the registry reports, after checking it is ``digest``.
        """
        if not is_valid_tag(tag):
            raise UsageError(
                f"{tag!r} is not a valid tag",
                hint="a tag is up to 128 letters, digits, '_', '.' and '-', not starting "
                "with '.' or '-'",
            )
        raw = self.manifest(digest)
        media_type = raw.media_type or _declared_media_type(raw.data)
        subject = Subject("tag", tag)
        if media_type is None:
            raise RegistryError(
                f"could not write {subject} to {self.repo}: manifest {digest} has no media "
                "type (neither the registry nor the document says)",
                repo=self.repo,
                subject=subject,
                hint="push the image again with a current tool",
            )
        reported = self.put_manifest_bytes(tag, raw.data, media_type)
        if reported is None:  # the spec says SHOULD: ask what the tag names now
            reported = self._fetch_manifest(tag, expected=None).digest
        if reported != digest:
            raise RegistryError(
                f"could not write {subject} to {self.repo}: the registry says it now names "
                f"{reported}, not {digest}",
                repo=self.repo,
                subject=subject,
                hint="the registry rewrote the manifest; check that nothing else writes this tag",
            )
        logger.info("tagged %s/%s:%s as %s", self.registry, self.repository, tag, digest)
        return reported

    # ------------------------------------------------------------------ HTTP

    def _client_for(self, url: str) -> httpx.Client:
        """The HTTP client (one serves every URL)."""
        del url
        return self._session.client()

    def _check_open(self) -> None:
        if self._closed:
            raise ImageReadError(
                f"the registry source for {self._reference} is closed", hint="open a new source"
            )

    def _require_sha256(self, digest: str, kind: str, named_by: str) -> None:
        if not is_valid_sha256_digest(digest):
            raise ImageReadError(
                f"cannot read {kind} {digest!r} from {self.repo}: only sha256 digests can be "
                "verified",
                hint=f"{named_by} names a digest buildguard cannot check",
            )

    def _fetch_manifest(self, identifier: str, *, expected: str | None) -> RawManifest:
        subject = Subject("manifest", identifier)
        response, data = self._session.get_whole(
            f"{self._base}/manifests/{identifier}",
            subject,
            limit=MAX_MANIFEST_BYTES,
            headers={"Accept": MANIFEST_ACCEPT, "Accept-Encoding": "identity"},
        )
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if expected is None:
            # Tag resolution: the registry's digest if it gives a sha256 one, else the body's.
            header_digest = response.headers.get("docker-content-digest")
            valid = header_digest is not None and is_valid_sha256_digest(header_digest)
            expected = header_digest if valid and header_digest else actual
        if actual != expected:
            raise DigestMismatch(
                f"{subject} from {self.repo} does not match its digest {expected}: the bytes "
                f"received hash to {actual}",
                hint="the manifest was altered in the registry or on the way; retry, and if it "
                "persists treat the image as tampered and push it again",
            )
        logger.debug("%s of %s/%s is %s", subject, self.registry, self.repository, expected)
        return RawManifest(
            data=data, media_type=_media_type(response.headers.get("content-type")), digest=expected
        )


def _declared_media_type(data: bytes) -> str | None:
    """The ``mediaType`` Go's decoder reads from the document (``None`` if it gives none);
    a document Go could read otherwise is refused here, before its kind is guessed."""
    value: str | None = decode_manifest_or_index(data, "the manifest").get("mediaType")
    return value or None


def put_manifest(
    reference: str,
    tag: str,
    *,
    insecure_registries: Sequence[str] = (),
    keychain: Provider = default_keychain,
    policy: RetryPolicy | None = None,
) -> str:
    """Put ``tag`` on the manifest ``reference`` names (its digest, or what its tag names
    now), in the same repository; returns the digest the registry reports, checked."""
    with RegistrySource(
        reference, insecure_registries=insecure_registries, keychain=keychain, policy=policy
    ) as source:
        digest = source.top_manifest().digest
        assert digest is not None
        return source.put_manifest(digest, tag)
