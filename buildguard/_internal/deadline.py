"""Deadlines: an overall bound on a network operation, not only a read timeout.

httpx's read timeout restarts on every byte, so a server that sends a byte a second holds a
request forever. A :class:`Deadline` is a point in time (monotonic) with the words that say
what it bounds. Two kinds are enforced on every socket operation by
:mod:`buildguard._internal.netdeadline`:

* the overall deadline of a client (a command, a registry source), shared by every thread;
* the deadlines the current thread entered with :func:`within` (one request and its body).

The nearest one caps each connect, read and write; once it has passed, the operation fails
at once with a timeout that names it. The sizes of the bounds come from the environment
(:func:`seconds_from_env`), documented in docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from buildguard.errors import UsageError

HTTP_DEADLINE_ENV = "BUILDGUARD_HTTP_DEADLINE"
HTTP_DEADLINE_DEFAULT = 120.0
"""Seconds one request may take, headers and (small) body, whatever the read timeout."""
DEADLINE_ENV = "BUILDGUARD_DEADLINE"
DEADLINE_DEFAULT = 1800.0
"""Seconds a registry source, or a verify-live without ``--wait``, may talk to the network."""


@dataclass(frozen=True)
class Deadline:
    at: float
    """``time.monotonic()`` when it passes."""
    what: str
    """What it bounds, for messages: ``the 120 s deadline of one request ($…)``."""

    @classmethod
    def after(cls, seconds: float, what: str) -> Deadline:
        return cls(time.monotonic() + seconds, what)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.remaining() <= 0

    def message(self) -> str:
        return f"{self.what} passed"


_local = threading.local()


def _stack() -> list[Deadline]:
    stack: list[Deadline] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


@contextlib.contextmanager
def within(deadline: Deadline | None) -> Iterator[None]:
    """Socket operations of this thread inside the block are bounded by ``deadline`` too."""
    if deadline is None:
        yield
        return
    stack = _stack()
    stack.append(deadline)
    try:
        yield
    finally:
        stack.remove(deadline)


def nearest(*others: Deadline | None) -> Deadline | None:
    """The earliest of this thread's deadlines and ``others``."""
    found = [d for d in (*_stack(), *others) if d is not None]
    return min(found, key=lambda d: d.at) if found else None


def request_deadline(environ: Mapping[str, str] | None = None) -> Deadline:
    """A new deadline for one request (``$BUILDGUARD_HTTP_DEADLINE``, default 120 s)."""
    seconds = seconds_from_env(HTTP_DEADLINE_ENV, HTTP_DEADLINE_DEFAULT, environ)
    return Deadline.after(
        seconds, f"the {seconds:g} s deadline of one request (${HTTP_DEADLINE_ENV})"
    )


def overall_deadline(what: str, environ: Mapping[str, str] | None = None) -> Deadline:
    """A new deadline for ``what`` (``$BUILDGUARD_DEADLINE``, default 1800 s)."""
    seconds = seconds_from_env(DEADLINE_ENV, DEADLINE_DEFAULT, environ)
    return Deadline.after(seconds, f"the {seconds:g} s deadline of {what} (${DEADLINE_ENV})")


def seconds_from_env(name: str, default: float, environ: Mapping[str, str] | None = None) -> float:
    """A positive number of seconds from ``$name``, else ``default`` (UsageError if bad)."""
    text = (os.environ if environ is None else environ).get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UsageError(
            f"${name} must be a positive number of seconds, not {text[:40]!r}",
            hint=f"unset it for the default ({default:g} s)",
        )
    return value
