"""One repository of one registry over HTTP: the layers stacked, failures made typed.

:meth:`Session.send` returns a response of any status, or raises a
:class:`~buildguard._image.transport.errors.RegistryError` when no answer came within the
request's budget (a transport failure) or the redirects looped. :meth:`Session.get_whole`
reads a small body (a manifest) whole, fetching it again from the same budget when the body
breaks. Statuses are the caller's: it knows what it asked for.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from buildguard._image.transport.authflow import RegistryAuth
from buildguard._image.transport.client import MAX_REDIRECTS, make_client
from buildguard._image.transport.errors import (
    RegistryError,
    Repo,
    Subject,
    redirect_error,
    status_error,
    transport_error,
)
from buildguard._image.transport.retry import (
    BUDGET_EXTENSION,
    RetryBudget,
    RetryPolicy,
    attempts_of,
)
from buildguard.errors import ImageReadError

READ_METHODS = frozenset({"GET", "HEAD"})


class Session:
    """HTTP to ``base`` (``scheme://host/v2/REPO``) for ``repo``, with ``auth`` and ``policy``."""

    def __init__(
        self, repo: Repo, base: str, *, plain_http: bool, auth: RegistryAuth, policy: RetryPolicy
    ) -> None:
        self.repo = repo
        self.base = base
        self.plain_http = plain_http
        self.auth = auth
        self.policy = policy
        self._client: httpx.Client | None = None
        self.closed = False

    def new_budget(self) -> RetryBudget:
        return RetryBudget(self.policy)

    def client(self) -> httpx.Client:
        """The HTTP client (one for every URL; made when first needed)."""
        if self._client is None:
            self._client = make_client(self.repo.registry, self.auth, self.policy)
        return self._client

    def close(self) -> None:
        self.closed = True
        if self._client is not None:
            self._client.close()

    def send(
        self,
        method: str,
        url: str,
        subject: Subject,
        budget: RetryBudget,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """One request through the layers (streamed); see the module docstring."""
        if self.closed:
            raise ImageReadError(f"the registry source for {self.repo} is closed",
                                 hint="open a new source")  # fmt: skip
        client = self.client()
        request = client.build_request(method, url, headers=headers, content=content)
        request.extensions[BUDGET_EXTENSION] = budget
        try:
            return client.send(request, stream=True, follow_redirects=follow_redirects)
        except httpx.TooManyRedirects:
            raise redirect_error(self.repo, subject, MAX_REDIRECTS) from None
        except httpx.TransportError as exc:
            raise transport_error(
                exc, self.repo, subject, attempts=attempts_of(exc, budget),
                plain_http=self.plain_http, verb="read" if method in READ_METHODS else "write",
            ) from None  # fmt: skip

    def get_blob(self, digest: str, headers: dict[str, str], budget: RetryBudget) -> httpx.Response:
        """A blob GET, redirects to storage followed."""
        return self.send("GET", f"{self.base}/blobs/{digest}", Subject("blob", digest), budget,
                         headers=headers, follow_redirects=True)  # fmt: skip

    def get_whole(
        self, url: str, subject: Subject, *, headers: Mapping[str, str], limit: int
    ) -> tuple[httpx.Response, bytes]:
        """GET a body of at most ``limit`` bytes whole; 200 only (else RegistryError)."""
        budget = self.new_budget()
        while True:
            response = self.send("GET", url, subject, budget, headers=headers)
            try:
                if response.status_code != 200:
                    raise status_error(response, self.repo, subject, attempts=budget.attempts)
                body = bytearray()
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > limit:
                    raise self._too_large(subject, int(length), limit)
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise self._too_large(subject, len(body), limit)
                return response, bytes(body)
            except httpx.TransportError as exc:
                if not budget.spend(f"reading {subject} from {self.repo} broke"):
                    raise transport_error(exc, self.repo, subject, attempts=budget.attempts,
                                          plain_http=self.plain_http) from None  # fmt: skip
            finally:
                response.close()

    def _too_large(self, subject: Subject, size: int, limit: int) -> RegistryError:
        return RegistryError(
            f"{subject} from {self.repo} is {size} bytes or more, above the {limit}-byte "
            "limit for manifests",
            repo=self.repo, subject=subject,
            hint="this is not a manifest buildguard can read; check the reference",
        )  # fmt: skip
