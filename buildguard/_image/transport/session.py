"""One repository of one registry over HTTP: the layers stacked, failures made typed.

:meth:`Session.send` returns a response of any status, or raises a
:class:`~buildguard._image.transport.errors.RegistryError` when no answer came within the
request's budget (a transport failure) or the redirects looped. :meth:`Session.get_whole`
reads a small body (a manifest) whole, within its size limit while it is decoded (whatever
the Content-Encoding) and the policy's request deadline, fetching it again from the same
budget when the body breaks. Every socket operation of the session ends by its overall
deadline (the policy's ``overall_deadline``, from its creation). Statuses are the
caller's: it knows what it asked for.
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
from buildguard._internal.bodyread import BodyTooLarge, EncodedTooLarge, read_bounded
from buildguard._internal.deadline import DEADLINE_ENV, Deadline, within
from buildguard._internal.decode import DecodeError, UnsupportedEncoding
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
        self.deadline = Deadline.after(
            policy.overall_deadline,
            f"the {policy.overall_deadline:g} s deadline of reading {repo} (${DEADLINE_ENV})",
        )
        """Every request and wait of this session ends by it."""
        self._client: httpx.Client | None = None
        self.closed = False

    def new_budget(self) -> RetryBudget:
        return RetryBudget(self.policy, self.deadline)

    def client(self) -> httpx.Client:
        """The HTTP client (one for every URL; made when first needed)."""
        if self._client is None:
            self._client = make_client(self.repo.registry, self.auth, self.policy, self.deadline)
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
            raise ImageReadError(
                f"the registry source for {self.repo} is closed", hint="open a new source"
            )
        client = self.client()
        request = client.build_request(method, url, headers=headers, content=content)
        request.extensions[BUDGET_EXTENSION] = budget
        try:
            return client.send(request, stream=True, follow_redirects=follow_redirects)
        except httpx.TooManyRedirects:
            raise redirect_error(self.repo, subject, MAX_REDIRECTS) from None
        except httpx.TransportError as exc:
            raise transport_error(
                exc,
                self.repo,
                subject,
                attempts=attempts_of(exc, budget),
                plain_http=self.plain_http,
                verb="read" if method in READ_METHODS else "write",
            ) from None

    def get_blob(self, digest: str, headers: dict[str, str], budget: RetryBudget) -> httpx.Response:
        """A blob GET, redirects to storage followed."""
        return self.send(
            "GET",
            f"{self.base}/blobs/{digest}",
            Subject("blob", digest),
            budget,
            headers=headers,
            follow_redirects=True,
        )

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
                with within(self.policy.request_bound()):
                    return response, read_bounded(response, limit)
            except BodyTooLarge as exc:
                raise self._too_large(subject, exc.size, limit) from None
            except (EncodedTooLarge, DecodeError) as exc:
                raise self._bad_body(subject, str(exc)) from None
            except UnsupportedEncoding as exc:
                raise self._bad_body(
                    subject,
                    f"it is sent with Content-Encoding {exc}, which buildguard did not "
                    "ask for and does not decode",
                ) from None
            except httpx.TransportError as exc:
                if not budget.spend(f"reading {subject} from {self.repo} broke"):
                    raise transport_error(
                        exc,
                        self.repo,
                        subject,
                        attempts=budget.attempts,
                        plain_http=self.plain_http,
                    ) from None
            finally:
                response.close()

    def _bad_body(self, subject: Subject, why: str) -> RegistryError:
        return RegistryError(
            f"cannot read {subject} from {self.repo}: {why}",
            repo=self.repo,
            subject=subject,
            hint="the registry (or a proxy in front of it) sends a body that is not a "
            "manifest; report it to the registry's operator",
        )

    def _too_large(self, subject: Subject, size: int, limit: int) -> RegistryError:
        return RegistryError(
            f"{subject} from {self.repo} is {size} bytes or more, above the {limit}-byte "
            "limit for manifests",
            repo=self.repo,
            subject=subject,
            hint="this is not a manifest buildguard can read; check the reference",
        )
