"""Log lines on stderr for ``-v`` / ``-vv`` / ``$BUILDGUARD_LOG_LEVEL``; never a secret.

The library logs through ``logging.getLogger("buildguard.…")`` and never configures
logging itself; this module is the only place that attaches a handler. Secrets are kept out
at the source (the library logs methods, hosts, paths and statuses, never header values);
the :class:`RedactingFilter` is a second line of defence for anything that slips through
(:func:`buildguard._internal.redact.scrub_log`): the credentials given on the command line,
``Bearer``/``Basic`` credentials, ``Authorization`` header values, URL user-info and query
strings of signed URLs.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from buildguard._internal.redact import scrub_log

LOG_LEVEL_ENV = "BUILDGUARD_LOG_LEVEL"
_LEVELS = {"warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
_NOISY = ("httpx", "httpcore", "urllib3", "docker", "google", "hpack")


def redact(text: str) -> str:
    return scrub_log(text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        return True


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"buildguard: {record.levelname.lower()}: {record.getMessage()}"


def level_for(verbosity: int, environ: Mapping[str, str] | None = None) -> int | None:
    """The level asked for by ``-v`` count, else by the environment; ``None`` for none.

    An unknown ``$BUILDGUARD_LOG_LEVEL`` is ignored with a warning rather than refused: a
    typo in a logging knob must not fail a build.
    """
    if verbosity >= 2:
        return logging.DEBUG
    if verbosity == 1:
        return logging.INFO
    env = os.environ if environ is None else environ
    value = env.get(LOG_LEVEL_ENV, "").strip().lower()
    if not value:
        return None
    if value not in _LEVELS:
        print(
            f"buildguard: warning: ignoring ${LOG_LEVEL_ENV}={value!r} "
            f"(use one of {', '.join(_LEVELS)})",
            file=sys.stderr,
        )
        return None
    return _LEVELS[value]


def configure(verbosity: int, environ: Mapping[str, str] | None = None) -> int | None:
    """Attach one stderr handler to the ``buildguard`` logger; return the level asked for
    (``None``: none, and only warnings are shown)."""
    level = level_for(verbosity, environ)
    logger = logging.getLogger("buildguard")
    for handler in list(logger.handlers):
        if getattr(handler, "_buildguard", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._buildguard = True  # type: ignore[attr-defined]
    handler.setFormatter(_Formatter())
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if level is None else level)  # warnings always show
    logger.propagate = False
    for name in _NOISY:  # third-party loggers print URLs with signed query strings
        logging.getLogger(name).setLevel(logging.WARNING)
    return level
