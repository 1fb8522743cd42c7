"""``verify_live``: does the site users are served match this build's sealed bundle?

The library returns a :class:`LiveReport`; a failed check is ``ok == False``, never an
exception. Bad input raises :class:`UsageError` (exit 2); a site that cannot be read (no
connection, timeouts, TLS, a redirect loop) raises :class:`SiteReadError` (exit 3). With
``wait``, attempts repeat with backoff until one passes or the time is up; the report is the
last attempt's (the last finished one when the time ran out during an attempt). The time is a
hard bound: every socket operation ends by it.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence

from buildguard._image.options import ReadOptions
from buildguard._internal.deadline import (
    DEADLINE_DEFAULT,
    DEADLINE_ENV,
    HTTP_DEADLINE_DEFAULT,
    HTTP_DEADLINE_ENV,
    Deadline,
    seconds_from_env,
    within,
)
from buildguard._live.apicalls import check_api_prefixes
from buildguard._live.bundle import BundleIndex
from buildguard._live.check import LiveCheck, max_requests_from_env
from buildguard._live.expected import ExpectedBundle, from_dist, from_image, from_manifest_file
from buildguard._live.fetch import Fetcher
from buildguard._live.findings import Attempt
from buildguard._live.options import check_header
from buildguard._live.siteoptions import SiteOptions, WaitStatus
from buildguard._live.urls import check_site_url, check_under_base, normalise_base
from buildguard._models.livereport import LiveExpected, LiveFinding, LiveReport, LiveStats
from buildguard.errors import SiteReadError, UsageError

logger = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 15.0
MAX_SAMPLES = 1000


def _expected(
    manifest: str | os.PathLike[str] | None,
    image: str | None,
    options: ReadOptions,
    dist: str | os.PathLike[str] | None,
) -> ExpectedBundle:
    given = [
        name
        for name, value in (("--manifest", manifest), ("--image", image), ("--dist", dist))
        if value is not None
    ]
    if len(given) != 1:
        raise UsageError(
            "give the expected bundle once: --manifest FILE, --image IMAGE [--path DIR] or "
            f"--dist DIR ({'none' if not given else ' and '.join(given)} given)",
            hint="e.g. --dist dist after `buildguard seal dist`",
        )
    if options.paths and image is None:
        raise UsageError("--path goes with --image (the bundle's folder in the image)")
    if len(options.paths) > 1:
        raise UsageError("verify-live checks one bundle: give --path once")
    if manifest is not None:
        return from_manifest_file(manifest)
    if dist is not None:
        return from_dist(dist)
    assert image is not None
    return from_image(image, options)


def _build_id_finding(
    expected: ExpectedBundle, expect_build_id: str | None, env: Mapping[str, str]
) -> LiveFinding | None:
    wanted = expect_build_id or env.get("BUILD_ID")
    found = expected.manifest.build_id
    if not wanted or wanted == found:
        return None
    return LiveFinding(
        code="BUILD_ID_MISMATCH",
        severity="error",
        message=f"the expected bundle ({expected.source}) was sealed by build {found}, "
        f"not {wanted}: the site is compared with another build's files",
        path="buildguard-manifest.json",
    )


def _summary(attempt: Attempt | None) -> Counter[str]:
    if attempt is None:
        return Counter({"SITE_UNREADABLE": 1})
    return Counter(f.code for f in attempt.findings if f.severity == "error")


def verify_live(
    url: str,
    *,
    manifest: str | os.PathLike[str] | None = None,
    image: str | None = None,
    dist: str | os.PathLike[str] | None = None,
    expect_build_id: str | None = None,
    options: ReadOptions | None = None,
    site_options: SiteOptions | None = None,
    environ: Mapping[str, str] | None = None,
) -> LiveReport:
    """Fetch ``url`` (the entry page) and the assets it references; compare them with the
    expected bundle (exactly one of ``manifest``, ``image`` or ``dist``).

    ``options`` say how ``image`` is read; its ``paths`` name at most one folder, the
    bundle's in the image (``--path``). ``site_options`` say how the site is checked (see
    :class:`SiteOptions`). The expected build id is ``expect_build_id``, else
    ``$BUILD_ID``, else the expected bundle's own.
    """
    options = options or ReadOptions()
    so = site_options or SiteOptions()
    base, allow_changed, samples, wait = so.base, so.allow_changed, so.samples, so.wait
    headers, insecure, progress = so.headers, so.insecure, so.progress
    env = os.environ if environ is None else environ
    clock = time.monotonic()
    site = check_site_url(url)
    base_path = normalise_base(base)
    check_under_base(url, base_path)
    if not 1 <= samples <= MAX_SAMPLES:
        raise UsageError(f"--samples must be between 1 and {MAX_SAMPLES}, not {samples}")
    if wait is not None and wait < 0:
        raise UsageError("--wait must not be negative")
    for name, value in headers:
        check_header(name, value)
    api_prefixes = tuple(so.api_prefixes)
    check_api_prefixes(api_prefixes)
    bound = _command_deadline(wait, env, clock)
    with within(bound):  # an --image is read within it too
        expected = _expected(manifest, image, options, dist)
    bundle = BundleIndex(expected.manifest, allow_changed)
    mismatch = _build_id_finding(expected, expect_build_id, env)
    request_seconds = seconds_from_env(HTTP_DEADLINE_ENV, HTTP_DEADLINE_DEFAULT, env)
    max_requests = max_requests_from_env(env)
    delay = FIRST_DELAY
    attempts = 0
    last: Attempt | None = None
    finished: Attempt | None = None
    with (
        within(bound),
        Fetcher(
            site, headers=headers, insecure=insecure, request_deadline=request_seconds
        ) as fetcher,
    ):
        while True:
            attempts += 1
            error: SiteReadError | None = None
            try:
                last = LiveCheck(
                    fetcher,
                    bundle,
                    url,
                    base_path,
                    samples,
                    max_requests=max_requests,
                    api_prefixes=api_prefixes,
                ).run()
                finished = last
            except SiteReadError as exc:
                error, last = exc, None
                if finished is not None and bound.passed():
                    # cut by the command's bound: the report is the last finished attempt's
                    logger.info("attempt %d stopped: %s", attempts, exc.message)
                    last = finished
                    break
            remaining = bound.remaining()
            if (last is not None and last.ok) or not wait or remaining <= 0 or mismatch:
                if last is None:
                    assert error is not None
                    raise error
                break
            pause = min(delay, remaining)
            if progress is not None:
                progress(WaitStatus(attempts, dict(_summary(last)), pause, remaining))
            logger.info(
                "attempt %d failed (%s); next in %.1f s",
                attempts,
                error.message if error else ", ".join(_summary(last)),
                pause,
            )
            time.sleep(pause)
            delay = min(delay * 2, MAX_DELAY)
        stats = LiveStats(
            attempts=attempts,
            requests=fetcher.requests,
            bytes_read=fetcher.bytes_read,
            files_compared=last.compared,
            seconds=round(time.monotonic() - clock, 3),
        )
    findings = ([mismatch] if mismatch else []) + _unique(last.findings)
    sealed = expected.manifest
    return LiveReport(
        ok=not any(f.severity == "error" for f in findings),
        url=url,
        base=base_path,
        expected=LiveExpected(
            source=expected.source,
            build_id=sealed.build_id,
            commit=sealed.commit,
            source_digest=sealed.source_digest,
            sealed_at=sealed.sealed_at,
            files=len(sealed.files),
        ),
        served=tuple(last.served),
        assets=tuple(last.assets),
        findings=tuple(findings),
        stats=stats,
    )


def _command_deadline(wait: float | None, env: Mapping[str, str], start: float) -> Deadline:
    """``--wait`` bounds the whole command; without it, ``$BUILDGUARD_DEADLINE`` does."""
    if wait:
        return Deadline(start + wait, f"the {wait:g} s bound of --wait on the whole command")
    seconds = seconds_from_env(DEADLINE_ENV, DEADLINE_DEFAULT, env)
    return Deadline(start + seconds, f"the {seconds:g} s deadline of verify-live (${DEADLINE_ENV})")


def _unique(findings: Sequence[LiveFinding]) -> list[LiveFinding]:
    return list(dict.fromkeys(findings))
