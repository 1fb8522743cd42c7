"""The registry calls of the attachment: a tag that may not exist, a blob upload, a
manifest PUT of given bytes. A :class:`RegistrySource` underneath, so the same keychain,
token scopes (push for writes), retries and typed errors apply as to every other read."""

from __future__ import annotations

import hashlib

from buildguard._image.registry import MANIFEST_ACCEPT, RegistrySource
from buildguard._image.source import RawManifest
from buildguard._image.transport.errors import RegistryError, Subject, status_error

MAX_ATTESTATION_BYTES = 4 * 1024 * 1024
"""A layer (an envelope) or manifest larger than this is not read."""


class AttestationRegistry(RegistrySource):
    """One repository, for reading and writing ``sha256-HEX.att``."""

    def __enter__(self) -> AttestationRegistry:
        return self

    def manifest_or_none(self, tag: str) -> RawManifest | None:
        """The manifest ``tag`` names now, read afresh (``None`` when the tag does not exist)."""
        self._check_open()
        subject = Subject("manifest", tag)
        budget = self._session.new_budget()
        response = self._session.send(
            "HEAD",
            f"{self._base}/manifests/{tag}",
            subject,
            budget,
            headers={"Accept": MANIFEST_ACCEPT},
        )
        response.close()
        if response.status_code == 404:
            return None
        return self._fetch_manifest(tag, expected=None)

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
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            from buildguard.errors import DigestMismatch

            raise DigestMismatch(
                f"blob {digest} of {self.repo} does not match its digest",
                hint="the attestation was altered in the registry; attach it again",
            )
        return data

    def put_blob(self, data: bytes) -> str:
        """Upload ``data`` (monolithic: POST, then PUT with the digest) unless it is there."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
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

    def put_manifest_bytes(self, tag: str, data: bytes, media_type: str) -> None:
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


__all__ = ["MAX_ATTESTATION_BYTES", "AttestationRegistry"]
