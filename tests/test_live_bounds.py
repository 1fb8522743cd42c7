"""verify-live against a hostile website on loopback (tests/support/hostileserver.py): every command
ends within its stated bound, in bounded memory, with a clear finding or error.

Each test runs the console script under GNU time and asserts its exit code, its peak RSS
(under 300 MB) and its wall time against a generous limit derived from the bound configured
for it (``$BUILDGUARD_HTTP_DEADLINE``, ``$BUILDGUARD_DEADLINE``, ``--wait``): never a
benchmark, only "it ended, and by the bound that was meant to end it".
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from clitools import console_script
from hostilebodies import CODINGS, bomb, nothing_forever
from hostileserver import HostileServer, Reply
from test_live_errors import entry, manifest_for, max_rss_kib

RSS_LIMIT_KIB = 300 * 1024
SLACK = 30.0
"""Seconds allowed beyond a configured bound: interpreter start-up on a shared machine."""
APP_JS = b"console.log('bounded');\n"
PAGE = b'<!doctype html><script type="module" src="/assets/app.js"></script>\n'
HTML = [("Content-Type", "text/html")]


@dataclass
class Run:
    code: int
    rss_mib: float
    seconds: float
    err: str
    out: str = ""


def verify_live(
    url: str,
    manifest: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    json_out: Path | None = None,
) -> Run:
    import os

    args = [console_script(), "verify-live", url, "--manifest", str(manifest), *extra]
    if json_out is not None:
        args += ["--report", str(json_out)]
    saved = dict(os.environ)
    os.environ.update({"BUILD_ID": "", **(env or {})})
    try:
        started = time.monotonic()
        code, rss, err = max_rss_kib(args)
        seconds = time.monotonic() - started
    finally:
        os.environ.clear()
        os.environ.update(saved)
    run = Run(code, rss / 1024, seconds, err)
    print(f"exit {code}, peak RSS {run.rss_mib:.0f} MiB, {seconds:.1f} s")
    assert rss < RSS_LIMIT_KIB, f"peak RSS {run.rss_mib:.0f} MiB"
    assert "Traceback" not in err, err
    return run


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "buildguard-manifest.json"
    path.write_text(
        manifest_for([entry("index.html", PAGE), entry("assets/app.js", APP_JS)]).model_dump_json()
    )
    return path


def serve(routes: dict[str, Reply]) -> HostileServer:
    base = {
        "/": Reply(headers=HTML, body=PAGE),
        "/assets/app.js": Reply(headers=[("Content-Type", "text/javascript")], body=APP_JS),
    }
    return HostileServer({**base, **routes})


def test_the_honest_site_passes(manifest: Path) -> None:
    """The baseline the hostile variants below are measured against."""
    with serve({}) as site:
        run = verify_live(site.url + "/", manifest)
    assert run.code == 0, run.err


# --------------------------------------------------------------------------- memory


@pytest.mark.parametrize("framing", ["length", "chunked"])
@pytest.mark.parametrize("coding", CODINGS)
def test_a_compression_bomb_is_cut_while_it_is_decoded(
    manifest: Path, coding: str, framing: str
) -> None:
    header, body = bomb(coding)
    headers = [*HTML, ("Content-Encoding", header)]
    with serve({"/": Reply(headers=headers, body=body, chunked=framing == "chunked")}) as site:
        run = verify_live(site.url + "/", manifest, "--json")
    assert run.code == 1, run.err
    assert run.seconds < SLACK


# --------------------------------------------------------------------------- time


@pytest.mark.parametrize("coding", CODINGS)
def test_a_body_that_decodes_to_nothing_forever_is_cut_by_its_encoded_size(
    manifest: Path, coding: str, tmp_path: Path
) -> None:
    """Empty gzip members, empty deflate stored blocks, empty brotli metadata blocks, zstd
    skippable frames, sent chunked without end: the encoded bound ends the read (the
    command's deadline is set far beyond what the read takes, so it is not what ends it)."""

    def endless() -> Iterator[bytes]:
        return nothing_forever(coding)

    headers = [*HTML, ("Content-Encoding", coding)]
    report = tmp_path / "report.json"
    with serve({"/": Reply(headers=headers, body=endless, chunked=True)}) as site:
        run = verify_live(
            site.url + "/", manifest, env={"BUILDGUARD_DEADLINE": "300"}, json_out=report
        )
    assert run.code == 1, run.err
    assert run.seconds < 300
    findings = json.loads(report.read_text())["findings"]
    message = next(f["message"] for f in findings if f["code"] == "LIVE_CHANGED")
    assert "could not be decoded (the encoded body passed" in message
    assert "while decoding to only 0" in message


@pytest.mark.parametrize("where", ["headers", "body"])
def test_an_answer_sent_a_byte_a_second_is_cut_by_the_request_deadline(
    manifest: Path, where: str
) -> None:
    slow = Reply(
        headers=HTML,
        body=PAGE,
        piece=1,
        **({"header_delay": 1.0} if where == "headers" else {"delay": 1.0}),
    )  # type: ignore[arg-type]
    with serve({"/": slow}) as site:
        run = verify_live(site.url + "/", manifest, env={"BUILDGUARD_HTTP_DEADLINE": "3"})
    assert run.code == 3, run.err
    assert "the 3 s deadline of one request ($BUILDGUARD_HTTP_DEADLINE) passed" in run.err
    assert run.seconds < 3 + SLACK


def test_wait_is_a_hard_bound_on_the_whole_command(manifest: Path) -> None:
    """An asset sent a byte a second, for ever, with a request deadline longer than --wait:
    --wait ends the command, inside the attempt."""

    def trickle() -> Iterator[bytes]:
        while True:
            yield b"/"

    slow = Reply(
        headers=[("Content-Type", "text/javascript")], body=trickle, chunked=True, delay=1.0
    )
    with serve({"/assets/app.js": slow}) as site:
        run = verify_live(
            site.url + "/", manifest, "--wait", "4s", env={"BUILDGUARD_HTTP_DEADLINE": "600"}
        )
    assert run.code == 3, run.err
    assert "the 4 s bound of --wait on the whole command passed" in run.err
    assert run.seconds < 4 + SLACK


def test_the_command_deadline_bounds_a_run_without_wait(manifest: Path) -> None:
    def trickle() -> Iterator[bytes]:
        while True:
            yield b"/"

    slow = Reply(
        headers=[("Content-Type", "text/javascript")], body=trickle, chunked=True, delay=0.5
    )
    with serve({"/assets/app.js": slow}) as site:
        run = verify_live(
            site.url + "/",
            manifest,
            env={"BUILDGUARD_HTTP_DEADLINE": "600", "BUILDGUARD_DEADLINE": "4"},
        )
    assert run.code == 3, run.err
    assert "the 4 s deadline of verify-live ($BUILDGUARD_DEADLINE) passed" in run.err
    assert run.seconds < 4 + SLACK


# --------------------------------------------------------------------------- work


def test_many_references_to_one_asset_make_one_request(manifest: Path) -> None:
    page = b"<!doctype html>" + b'<script type="module" src="/assets/app.js"></script>\n' * 100_000
    manifest.write_text(
        manifest_for([entry("index.html", page), entry("assets/app.js", APP_JS)]).model_dump_json()
    )
    with serve({"/": Reply(headers=HTML, body=page)}) as site:
        run = verify_live(site.url + "/", manifest)
        hits = dict(site.hits)
    assert run.code == 0, run.err
    assert hits["/assets/app.js"] == 1, hits
    assert run.seconds < SLACK


@pytest.mark.parametrize("cap", [None, 50])
def test_distinct_asset_urls_are_capped_and_the_rest_named_as_skipped(
    manifest: Path, cap: int | None
) -> None:
    refs = b"".join(
        b'<script type="module" src="/assets/app.js?v=%d"></script>\n' % i for i in range(100_000)
    )
    page = b"<!doctype html>" + refs
    manifest.write_text(
        manifest_for([entry("index.html", page), entry("assets/app.js", APP_JS)]).model_dump_json()
    )
    env = {} if cap is None else {"BUILDGUARD_LIVE_MAX_REQUESTS": str(cap)}
    with serve({"/": Reply(headers=HTML, body=page)}) as site:
        run = verify_live(site.url + "/", manifest, env=env)
        hits = dict(site.hits)
    allowed = 1000 if cap is None else cap  # the default: twice the files, at least 1000
    assert run.code == 3, run.err
    assert (
        f"more distinct asset URLs than one attempt may fetch ({allowed}): {allowed} "
        f"were fetched, at least {100_000 - allowed} more were skipped" in run.err
    )
    assert "BUILDGUARD_LIVE_MAX_REQUESTS" in run.err
    assert hits["/assets/app.js"] == allowed, hits
    assert run.seconds < SLACK * 2


def test_wait_cut_inside_an_attempt_reports_the_last_finished_one(
    manifest: Path, tmp_path: Path
) -> None:
    """The first attempt finds a changed asset; the next ones hang on it: --wait ends the
    command, with the first attempt's findings (exit 1), not an unreadable site."""
    served = {"n": 0}

    def changed_then_trickle() -> Iterator[bytes]:
        served["n"] += 1
        if served["n"] == 1:
            yield b"console.log('another build');\n"
            return
        while True:
            yield b"/"

    slow = Reply(
        headers=[("Content-Type", "text/javascript")],
        body=changed_then_trickle,
        chunked=True,
        delay=1.0,
    )
    report = tmp_path / "report.json"
    with serve({"/assets/app.js": slow}) as site:
        run = verify_live(
            site.url + "/",
            manifest,
            "--wait",
            "6s",
            json_out=report,
            env={"BUILDGUARD_HTTP_DEADLINE": "600"},
        )
    assert run.code == 1, run.err
    assert run.seconds < 6 + SLACK
    assert served["n"] >= 2
    codes = [f["code"] for f in json.loads(report.read_text())["findings"]]
    assert codes == ["LIVE_CHANGED"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BUILDGUARD_HTTP_DEADLINE", "soon"),
        ("BUILDGUARD_DEADLINE", "-1"),
        ("BUILDGUARD_LIVE_MAX_REQUESTS", "0"),
    ],
)
def test_a_bad_bound_is_a_usage_error(manifest: Path, name: str, value: str) -> None:
    with serve({}) as site:
        run = verify_live(site.url + "/", manifest, env={name: value})
    assert run.code == 2, run.err
    assert f"${name} must be a positive" in run.err


def test_wait_zero_is_one_attempt(manifest: Path) -> None:
    """``--wait 0`` keeps its meaning (one attempt) now that the bound of a command without
    a positive --wait is $BUILDGUARD_DEADLINE."""
    changed = Reply(headers=[("Content-Type", "text/javascript")], body=b"changed();\n")
    with serve({"/assets/app.js": changed}) as site:
        run = verify_live(site.url + "/", manifest, "--wait", "0")
        hits = dict(site.hits)
    assert run.code == 1, run.err
    assert hits["/"] == 1, hits
