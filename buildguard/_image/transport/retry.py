"""The retrying layer: an ``httpx.BaseTransport`` that sends a request again after a
temporary failure, within one :class:`RetryBudget` per request.

What is retried: no answer at all (connection refused or reset, a connect or read timeout,
a broken HTTP exchange; never a TLS verification failure) and the statuses 408, 429, 500,
502, 503, 504. The wait is exponential from ``backoff`` (doubling, at most ``backoff_cap``)
with jitter (x0.5 to 1.0), or the server's ``Retry-After`` (seconds or an HTTP date) capped
by ``max_retry_after``. When the budget is spent the last response is returned (the caller
turns its status into a :class:`~buildguard._image.transport.errors.RegistryError`) or the
last exception is raised.

Each attempt must answer (headers) within the policy's ``request_deadline``, whatever the
read timeout; a budget also ends when the source's overall deadline would pass during the
wait (the sockets themselves are bounded by it: :mod:`buildguard._internal.netdeadline`).

A caller that reads a body after the response arrived (a manifest, a blob stream that
resumes) passes its own budget in the request's extensions (:data:`BUDGET_EXTENSION`) and
spends failures of the body from it too: a request and the re-reads of its body share one
budget. Each attempt is logged (method, host, path, status, attempt), never a header.
"""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from buildguard._image.transport.errors import TEMPORARY_STATUS, describe_exception
from buildguard._internal.deadline import (
    DEADLINE_DEFAULT,
    DEADLINE_ENV,
    HTTP_DEADLINE_DEFAULT,
    HTTP_DEADLINE_ENV,
    Deadline,
    seconds_from_env,
    within,
)

logger = logging.getLogger(__name__)

BUDGET_EXTENSION = "buildguard.retry_budget"

RETRYABLE_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.PoolTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)
"""Failures with no usable answer: sending again may work."""

TOTAL_FAILURES_FACTOR = 4
"""A budget whose failures are interleaved with progress still ends after
``TOTAL_FAILURES_FACTOR * (retries + 1)`` failures in all."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. The defaults suit a real registry; tests pass small values."""

    retries: int = 4
    """Failures in a row tolerated per request (so ``retries + 1`` attempts)."""
    backoff: float = 0.5
    backoff_cap: float = 8.0
    max_retry_after: float = 30.0
    connect_timeout: float = 30.0
    read_timeout: float = 30.0
    """Seconds without a byte before a read gives up (then it is retried)."""
    request_deadline: float = HTTP_DEADLINE_DEFAULT
    """Seconds one attempt may take to answer (headers), and a small body to arrive
    (a manifest, a token, an error): a server sending a byte a second is cut."""
    overall_deadline: float = DEADLINE_DEFAULT
    """Seconds one registry source may talk to the registry, blobs included."""

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError("retries must be >= 0")
        if self.request_deadline <= 0 or self.overall_deadline <= 0:
            raise ValueError("deadlines must be > 0")

    def override(
        self,
        *,
        timeout: float | None = None,
        retries: int | None = None,
        backoff: float | None = None,
        max_retry_after: float | None = None,
        request_deadline: float | None = None,
        overall_deadline: float | None = None,
    ) -> RetryPolicy:
        """This policy with the fields given (``timeout`` sets connect and read) changed."""
        changes: dict[str, Any] = {
            "connect_timeout": timeout,
            "read_timeout": timeout,
            "retries": retries,
            "backoff": backoff,
            "max_retry_after": max_retry_after,
            "request_deadline": request_deadline,
            "overall_deadline": overall_deadline,
        }
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def from_env(self, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """This policy with the deadlines ``$BUILDGUARD_HTTP_DEADLINE`` and
        ``$BUILDGUARD_DEADLINE`` set (UsageError when one is not a positive number)."""
        env = os.environ if environ is None else environ
        request = seconds_from_env(HTTP_DEADLINE_ENV, 0.0, env) or None
        overall = seconds_from_env(DEADLINE_ENV, 0.0, env) or None
        return self.override(request_deadline=request, overall_deadline=overall)

    def request_bound(self) -> Deadline:
        """A new deadline for one attempt (its answer), or one small body."""
        return Deadline.after(
            self.request_deadline,
            f"the {self.request_deadline:g} s deadline of one request (${HTTP_DEADLINE_ENV})",
        )

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.read_timeout,
            pool=self.connect_timeout,
        )

    def delay(self, failures: int, retry_after: str | None = None) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (from 1)."""
        if retry_after is not None:
            seconds = parse_retry_after(retry_after)
            if seconds is not None:
                return min(max(seconds, 0.0), self.max_retry_after)
        base = min(self.backoff_cap, self.backoff * (2.0 ** (failures - 1)))
        return base * (0.5 + random.random() / 2)


def parse_retry_after(value: str) -> float | None:
    """``Retry-After`` in seconds from now (RFC 9110: delay-seconds or an HTTP date)."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return float(when.timestamp()) - time.time()


class RetryBudget:
    """The attempts one request (and the re-reads of its body) may make, before
    ``deadline`` (no wait ends past it)."""

    def __init__(self, policy: RetryPolicy, deadline: Deadline | None = None) -> None:
        self.policy = policy
        self.deadline = deadline
        self.attempts = 0
        """Requests sent so far."""
        self._in_a_row = 0
        self._total = 0

    def next_delay(self, why: str, retry_after: str | None = None) -> float | None:
        """Count one failure; the seconds to wait before the next attempt, or ``None``
        when the budget is spent."""
        self._in_a_row += 1
        self._total += 1
        limit = self.policy.retries
        if self._in_a_row > limit or self._total > TOTAL_FAILURES_FACTOR * (limit + 1):
            return None
        delay = self.policy.delay(self._in_a_row, retry_after)
        if self.deadline is not None and self.deadline.remaining() <= delay:
            logger.info("%s; no retry: %s", why, self.deadline.message())
            return None
        logger.info("%s; retry %d of %d in %.2fs", why, self._in_a_row, limit, delay)
        return delay

    def spend(self, why: str, retry_after: str | None = None) -> bool:
        """Count one failure; wait and return True when another attempt is allowed."""
        delay = self.next_delay(why, retry_after)
        if delay is None:
            return False
        time.sleep(delay)
        return True

    def progress(self) -> None:
        """The body moved forward since the last failure: failures in a row start again."""
        self._in_a_row = 0


def budget_of(
    request: httpx.Request, policy: RetryPolicy, deadline: Deadline | None = None
) -> RetryBudget:
    """The budget the caller attached to ``request``, else a new one (stored on it, so a
    redirect or an authentication retry of the same request shares it)."""
    budget = request.extensions.get(BUDGET_EXTENSION)
    if not isinstance(budget, RetryBudget):
        budget = RetryBudget(policy, deadline)
        request.extensions[BUDGET_EXTENSION] = budget
    return budget


def attempts_of(exc: httpx.TransportError, budget: RetryBudget) -> int:
    """Attempts of the request that raised ``exc`` (a token request has a budget of its
    own), else those of ``budget``."""
    try:
        own = exc.request.extensions.get(BUDGET_EXTENSION)
    except RuntimeError:  # raised without a request
        return budget.attempts
    return own.attempts if isinstance(own, RetryBudget) else budget.attempts


def describe_request(request: httpx.Request) -> str:
    """``GET host/path`` with no query (signed storage URLs carry secrets there)."""
    return f"{request.method} {request.url.netloc.decode('ascii')}{request.url.path}"


def _tls_verification_failed(exc: Exception) -> bool:
    return isinstance(exc, httpx.ConnectError) and "CERTIFICATE" in str(exc).upper()


class RetryingTransport(httpx.BaseTransport):
    """Wraps another transport; see the module docstring."""

    def __init__(
        self, inner: httpx.BaseTransport, policy: RetryPolicy, deadline: Deadline | None = None
    ) -> None:
        self._inner = inner
        self.policy = policy
        self.deadline = deadline

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        budget = budget_of(request, self.policy, self.deadline)
        while True:
            budget.attempts += 1
            try:
                with within(self.policy.request_bound()):
                    response = self._inner.handle_request(request)
            except RETRYABLE_ERRORS as exc:
                what = f"{describe_request(request)}: {describe_exception(exc)}"
                logger.info("%s (attempt %d)", what, budget.attempts)
                if _tls_verification_failed(exc) or not budget.spend(what):
                    raise
                continue
            status = response.status_code
            logger.info(
                "%s: HTTP %d (attempt %d)", describe_request(request), status, budget.attempts
            )
            if status in TEMPORARY_STATUS:
                why = f"{describe_request(request)}: HTTP {status}"
                delay = budget.next_delay(why, response.headers.get("retry-after"))
                if delay is not None:
                    response.close()
                    time.sleep(delay)
                    continue
            return response

    def close(self) -> None:
        self._inner.close()
