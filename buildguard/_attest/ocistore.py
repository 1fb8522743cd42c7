"""The registry calls of the attachment: a tag that may not exist, a small blob read whole,
a blob upload. A :class:`RegistrySource` underneath (its manifest PUT of given bytes too), so
the same keychain, token scopes (push for writes), retries and typed errors apply as to every
other read."""

from __future__ import annotations

from buildguard._image.registry import RegistrySource
from buildguard._image.source import RawManifest
from buildguard._image.transport.errors import RegistryError, Subject, status_error
from buildguard._image.verified import sha256_digest, verify_bytes

MAX_ATTESTATION_BYTES = 4 * 1024 * 1024
"""A layer (an envelope) or manifest larger than this is not read."""


class AttestationRegistry(RegistrySource):
    """One repository, for reading and writing ``sha256-HEX.att``."""

    def __enter__(self) -> AttestationRegistry:
        return self

    def manifest_or_none(self, tag: str) -> RawManifest | None:
        """The manifest ``tag`` names now, read afresh (``None`` when the tag does not exist:
        the registry answers 404, which is never retried)."""
        self._check_open()
        try:
            return self._fetch_manifest(tag, expected=None)
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise

    def read_blob(self, digest: str, size: int) -> bytes:
        """A small blob, whole, checked against its digest."""
        if size > MAX_ATTESTATION_BYTES:
            raise RegistryError(
                f"blob {digest} of {self.repo} is {size} bytes, above the "
                f"{MAX_ATTESTATION_BYTES}-byte limit of an attestation",
                repo=self.repo,
                subject=Subject("blob", digest),
                hint="this is not an attestation buildguard wrote",
            )
        with self.open_blob(digest, size) as stream:
            data = stream.read(MAX_ATTESTATION_BYTES + 1)
        verify_bytes(data, digest, size, f"attestation layer of {self.repo}:")
        return data

    def put_blob(self, data: bytes) -> str:
        """Upload ``data`` (monolithic: POST, then PUT with the digest) unless it is there."""
        digest = sha256_digest(data)
        subject = Subject("blob", digest)
        budget = self._session.new_budget()
        head = self._session.send("HEAD", f"{self._base}/blobs/{digest}", subject, budget)
        head.close()
        if head.status_code == 200:
            return digest
        started = self._session.send(
            "POST", f"{self._base}/blobs/uploads/", subject, budget, content=b""
        )
        if started.status_code != 202 or "location" not in started.headers:
            raise status_error(started, self.repo, subject, attempts=budget.attempts, verb="write")
        started.close()
        location = started.url.join(started.headers["location"])
        url = location.copy_merge_params({"digest": digest})
        done = self._session.send(
            "PUT",
            str(url),
            subject,
            budget,
            headers={"Content-Type": "application/octet-stream"},
            content=data,
        )
        if done.status_code != 201:
            raise status_error(done, self.repo, subject, attempts=budget.attempts, verb="write")
        done.close()
        return digest


__all__ = ["MAX_ATTESTATION_BYTES", "AttestationRegistry"]
