"""The fault matrix of the registry client, through the real CLI (in-process, so the retry
policy can be made small) and a real fault-injecting proxy in front of real registries.

Each row asserts the exit code, a (generous) time bound, and that the message names the
registry, the repository and the status. The rows on encodings, framing and deadlines run
the console script as a process to measure its peak RSS (under 300 MB). Output at -v/-vv
is also checked: each request is logged (method, host, path, status, attempt) and no
secret, nor its base64, ever appears.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from clitools import console_script
from faultproxy import Fault, FaultProxy
from hostilebodies import CODINGS, bomb, nothing_forever
from registryhelpers import Pushed, push_random_image
from services import AuthRegistry, Registry
from test_live_errors import max_rss_kib
from tokenserver import TokenServer, token_registry

import buildguard._image.registry as registry_module
from buildguard._cli import main
from buildguard._cli.logs import configure
from buildguard._image.transport.retry import RetryPolicy
from buildguard._internal.bodyread import encoded_limit_for

pytestmark = pytest.mark.docker

REPO = "bg/matrix"
LAYER = 600 * 1024
BOUND = 20.0  # seconds; the real budget below is well under a second per row
POLICY = RetryPolicy(
    retries=3, backoff=0.01, max_retry_after=2.0, connect_timeout=2.0, read_timeout=0.5
)
USER = "matrix-user"


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float


@pytest.fixture(autouse=True)
def small_policy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(registry_module, "DEFAULT_POLICY", POLICY)
    monkeypatch.delenv("BUILDGUARD_GOOGLE_REGISTRIES", raising=False)
    monkeypatch.delenv("BUILDGUARD_LOG_LEVEL", raising=False)
    yield
    configure(0)  # drop the CLI's log handler (it points at this test's captured stderr)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    capsys.readouterr()
    started = time.monotonic()
    code = main(list(args))
    seconds = time.monotonic() - started
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err, seconds)


def docker_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, user: str, password: str
) -> str:
    directory = tmp_path / "docker-config"
    directory.mkdir(exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    return auth


@pytest.fixture(scope="module")
def image(auth_registry: AuthRegistry) -> Pushed:
    return push_random_image(
        auth_registry.url,
        REPO,
        "v1",
        layers=2,
        layer_size=LAYER,
        headers={"Authorization": auth_registry.auth_header()},
    )


@pytest.fixture
def proxy(
    auth_registry: AuthRegistry, image: Pushed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FaultProxy]:
    with FaultProxy(auth_registry.url) as running:
        docker_config(
            tmp_path, monkeypatch, running.host, auth_registry.username, auth_registry.password
        )
        yield running


def names_the_failure(text: str, proxy: FaultProxy, status: str) -> None:
    assert f"registry {proxy.host}, repository {REPO}" in text, text
    assert status in text, text


def inspect(capsys: pytest.CaptureFixture[str], proxy: FaultProxy, *extra: str) -> Run:
    return cli(capsys, "inspect", f"{proxy.host}/{REPO}:v1", *extra)


# --------------------------------------------------------------------------- statuses


def test_5xx_then_success(proxy: FaultProxy, capsys: pytest.CaptureFixture[str]) -> None:
    proxy.add(Fault("status", path="/manifests/", status=500, times=1))
    proxy.add(Fault("status", path="/blobs/", status=503, times=2))
    run = inspect(capsys, proxy, "-v")
    assert run.code == 0, run.err
    assert run.seconds < BOUND
    assert f"GET {proxy.host}/v2/{REPO}/manifests/v1: HTTP 500 (attempt 1)" in run.err
    assert f"GET {proxy.host}/v2/{REPO}/manifests/v1: HTTP 200 (attempt 3)" in run.err  # 401 2nd
    assert re.search(
        rf"GET {re.escape(proxy.host)}/v2/{REPO}/blobs/sha256:\w+: HTTP 503 "
        r"\(attempt 1\)",
        run.err,
    )


def test_persistent_5xx(proxy: FaultProxy, capsys: pytest.CaptureFixture[str]) -> None:
    proxy.add(Fault("status", path="/blobs/", status=503, times=None))
    run = inspect(capsys, proxy)
    assert run.code == 3
    assert run.seconds < BOUND
    names_the_failure(run.err, proxy, "HTTP 503 UNAVAILABLE")
    assert "after 4 attempts" in run.err and "Traceback" not in run.err


def test_429_with_retry_after_waits_as_told(
    proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy.add(Fault("status", path="/manifests/v1", status=429, headers={"Retry-After": "1"}))
    run = inspect(capsys, proxy)
    assert run.code == 0, run.err
    assert 1.0 <= run.seconds < BOUND  # the backoff alone would be 10 ms


def test_429_without_retry_after_backs_off_then_gives_up(
    proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy.add(
        Fault(
            "status",
            path="/manifests/v1",
            status=429,
            times=2,
            body=b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
        )
    )
    run = inspect(capsys, proxy)
    assert run.code == 0, run.err
    assert run.seconds < BOUND
    proxy.clear()
    proxy.add(
        Fault(
            "status",
            path="/manifests/v1",
            status=429,
            times=None,
            body=b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
        )
    )
    run = inspect(capsys, proxy)
    assert run.code == 3 and run.seconds < BOUND
    names_the_failure(run.err, proxy, "HTTP 429 TOOMANYREQUESTS: slow down after 4 attempts")


# --------------------------------------------------------------------------- bodies


def test_reset_mid_blob_resumes_with_range(
    proxy: FaultProxy, image: Pushed, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = image.layer_digests[0]
    proxy.add(Fault("reset", path=f"/blobs/{digest}", offset=300 * 1024, times=1))
    run = inspect(capsys, proxy, "-v")
    assert run.code == 0, run.err
    assert run.seconds < BOUND
    gets = [g for g in proxy.requests(f"/blobs/{digest}") if g[2] != 401]
    assert [g[2] for g in gets] == [200, 206]
    assert gets[1][3]["range"].startswith("bytes=")
    assert f"blob {digest} from registry {proxy.host}, repository {REPO} broke at byte" in run.err


def test_body_shorter_than_content_length_is_resumed(
    proxy: FaultProxy, image: Pushed, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = image.layer_digests[1]
    proxy.add(Fault("truncate", path=f"/blobs/{digest}", offset=300 * 1024, times=2))
    run = inspect(capsys, proxy)
    assert run.code == 0, run.err
    assert run.seconds < BOUND
    assert [g[2] for g in proxy.requests(f"/blobs/{digest}") if g[2] != 401] == [200, 206, 206]


def test_body_longer_than_the_descriptor_is_exit_3(
    proxy: FaultProxy, image: Pushed, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = image.layer_digests[0]
    proxy.add(Fault("extend", path=f"/blobs/{digest}", body=b"\0" * 4096, times=None))
    run = inspect(capsys, proxy)
    assert run.code == 3
    assert run.seconds < BOUND
    names_the_failure(run.err, proxy, f"blob {digest}")
    assert f"is longer than the {len(image.layers[0])} bytes its descriptor says" in run.err


def test_stalled_answer_times_out_then_retries(
    proxy: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy.add(Fault("stall", path="/manifests/v1", delay=3.0, times=1))
    run = inspect(capsys, proxy, "-v")
    assert run.code == 0, run.err
    assert run.seconds < 3.0  # did not wait for the stalled answer
    assert f"GET {proxy.host}/v2/{REPO}/manifests/v1: ReadTimeout" in run.err
    proxy.clear()
    proxy.add(Fault("stall", path="/manifests/v1", delay=3.0, times=None))
    run = inspect(capsys, proxy)
    assert run.code == 3 and run.seconds < BOUND
    names_the_failure(run.err, proxy, "ReadTimeout")
    assert "after 4 attempts" in run.err


# --------------------------------------------------------------------------- redirects


def test_redirect_to_a_second_host_gets_no_credentials(
    proxy: FaultProxy,
    auth_registry: AuthRegistry,
    image: Pushed,
    capsys: pytest.CaptureFixture[str],
) -> None:
    storage_auth = {"Authorization": auth_registry.auth_header()}  # what a signed URL grants
    with FaultProxy(auth_registry.url, bind="127.0.0.2", upstream_headers=storage_auth) as store:
        proxy.add(
            Fault(
                "redirect", path="/blobs/", status=307, times=None, location=f"{store.url}{{path}}"
            )
        )
        run = inspect(capsys, proxy, "-vv")
        served = store.requests("/blobs/")
    assert run.code == 0, run.err
    assert run.seconds < BOUND
    assert len(served) == 1 + len(image.layers)  # config and layers came from the 2nd host
    assert all("authorization" not in headers for _, _, _, headers in served)
    assert all(status == 200 for _, _, status, _ in served)
    redirected = [h for _, _, s, h in proxy.requests("/blobs/") if s == 307]
    assert redirected and all(h["authorization"].startswith("Basic ") for h in redirected)
    assert auth_registry.password not in run.out + run.err


def test_redirect_loop_is_exit_3_naming_registry_and_blob(
    proxy: FaultProxy, image: Pushed, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = image.layer_digests[0]
    proxy.add(
        Fault(
            "redirect",
            path=f"/blobs/{digest}",
            status=302,
            times=None,
            location=f"{proxy.url}{{path}}",
        )
    )
    run = inspect(capsys, proxy)
    assert run.code == 3
    assert run.seconds < BOUND
    names_the_failure(run.err, proxy, f"blob {digest}")
    assert "redirected more than 10 times (a redirect loop)" in run.err
    assert "Traceback" not in run.err


# --------------------------------------------------------------------------- tokens


@pytest.fixture(scope="module")
def password() -> str:
    return "pw-" + secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def tokened(
    tmp_path_factory: pytest.TempPathFactory, password: str
) -> Iterator[tuple[TokenServer, Registry, Pushed]]:
    with token_registry(tmp_path_factory.mktemp("matrix-token"), {USER: password}) as (t, r):
        push = t.make_token(
            "pusher", [{"type": "repository", "name": REPO, "actions": ["pull", "push"]}]
        )
        pushed = push_random_image(r.url, REPO, "v1", headers={"Authorization": f"Bearer {push}"})
        yield t, r, pushed


def test_token_endpoint_that_fails(
    tokened: tuple[TokenServer, Registry, Pushed],
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tokens, reg, _ = tokened
    with FaultProxy(reg.url) as front, FaultProxy(tokens.url) as token_front:
        docker_config(tmp_path, monkeypatch, front.host, USER, password)
        token_front.add(Fault("status", status=503, times=None))
        front.add(
            Fault(
                "header",
                header="WWW-Authenticate",
                times=None,
                rewrite=lambda v: v.replace(tokens.url, token_front.url),
            )
        )
        run = inspect(capsys, front)
        assert len(token_front.requests()) == 4  # one budget: 1 + 3 retries
    assert run.code == 3
    assert run.seconds < BOUND
    names_the_failure(run.err, front, "HTTP 503 UNAVAILABLE")
    assert f"could not get a bearer token for registry {front.host}" in run.err
    assert f"from its token server {token_front.host}" in run.err


def test_401_after_a_token_was_granted(
    tokened: tuple[TokenServer, Registry, Pushed],
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tokens, reg, _ = tokened
    tokens.requests.clear()
    with FaultProxy(reg.url) as front:
        docker_config(tmp_path, monkeypatch, front.host, USER, password)
        front.add(Fault("unauthorized", path="/blobs/", times=None))
        run = inspect(capsys, front)
    assert run.code == 3
    assert run.seconds < BOUND
    names_the_failure(run.err, front, "HTTP 401 UNAUTHORIZED")
    assert run.err.startswith(f"buildguard: error: authentication failed: registry {front.host}")
    assert len(tokens.requests) == 2  # the first token and one refresh: no loop


# --------------------------------------------------------------------------- secrets


def test_no_secret_at_debug_level(
    tokened: tuple[TokenServer, Registry, Pushed],
    password: str,
    proxy: FaultProxy,
    auth_registry: AuthRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every output at -vv, of a basic-auth and a token-auth read (with a retry and a
    resume each), holds no password, token or Authorization value, nor their base64."""
    tokens, reg, _ = tokened
    proxy.add(Fault("status", path="/manifests/", status=503, times=1))
    proxy.add(Fault("reset", path="/blobs/", offset=300 * 1024, times=1))
    basic = inspect(capsys, proxy, "-vv", "--json")
    assert basic.code == 0, basic.err
    basic_auth = base64.b64encode(
        f"{auth_registry.username}:{auth_registry.password}".encode()
    ).decode()
    with FaultProxy(reg.url) as front:
        token_auth = docker_config(tmp_path, monkeypatch, front.host, USER, password)
        front.add(Fault("unauthorized", path="/blobs/", times=1))  # a refresh mid-read
        token = cli(capsys, "-vv", "inspect", f"{front.host}/{REPO}:v1")
    assert token.code == 0, token.err
    assert "got a pull token" in token.err and "HTTP 401" in token.err
    output = basic.out + basic.err + token.out + token.err
    issued = list(tokens.issued_tokens)
    assert issued
    for secret in (auth_registry.password, password, *issued):
        assert secret not in output
        assert base64.b64encode(secret.encode()).decode() not in output
    for value in (basic_auth, token_auth):
        assert value not in output


# --------------------------------------------------------------------------- encodings, framing
#
# These rows run the console script under GNU time (a subprocess, default retry policy) so
# that its peak RSS is measured: every body is bounded while it is decoded, whatever the
# Content-Encoding or framing (tests/support/hostilebodies.py makes the bombs at test time).

RSS_LIMIT_KIB = 300 * 1024
SLACK = 30.0
"""Seconds beyond a configured bound: interpreter start-up on a shared machine."""
MANIFEST_LIMIT = 4 * 1024 * 1024
HUGE_TOKEN = 50 * 1024 * 1024


def measured(
    proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, env: dict[str, str] | None = None
) -> Run:
    """``buildguard inspect`` of the image through ``proxy``, as a process, measured."""
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    started = time.monotonic()
    code, rss, err = max_rss_kib([console_script(), "inspect", f"{proxy.host}/{REPO}:v1"])
    seconds = time.monotonic() - started
    print(f"exit {code}, peak RSS {rss / 1024:.0f} MiB, {seconds:.1f} s")
    assert rss < RSS_LIMIT_KIB, f"peak RSS {rss / 1024:.0f} MiB: {err}"
    assert "Traceback" not in err, err
    return Run(code, "", err, seconds)


def encoded(coding: str) -> dict[str, str]:
    return {
        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
        "Content-Encoding": coding,
    }


@pytest.mark.parametrize("framing", ["length", "chunked"])
@pytest.mark.parametrize("coding", CODINGS)
def test_a_manifest_bomb_is_cut_while_it_is_decoded(
    proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, coding: str, framing: str
) -> None:
    """1.6 KB of brotli (1 GiB decoded) used to peak at 2 GB before the 4 MiB limit."""
    header, body = bomb(coding)
    proxy.add(
        Fault(
            "replace",
            path="/manifests/v1",
            status=200,
            headers=encoded(header),
            body=body,
            chunked=framing == "chunked",
            times=None,
        )
    )
    run = measured(proxy, monkeypatch)
    assert run.code == 3
    assert run.seconds < SLACK
    names_the_failure(
        run.err,
        proxy,
        f"is {MANIFEST_LIMIT + 1} bytes or more, above the "
        f"{MANIFEST_LIMIT}-byte limit for manifests",
    )


@pytest.mark.parametrize("coding", CODINGS)
def test_a_manifest_that_decodes_to_nothing_forever_is_cut_by_its_encoded_size(
    proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, coding: str
) -> None:
    proxy.add(
        Fault(
            "replace",
            path="/manifests/v1",
            status=200,
            headers=encoded(coding),
            chunks=lambda: nothing_forever(coding),
            chunked=True,
            times=None,
        )
    )
    run = measured(proxy, monkeypatch, {"BUILDGUARD_DEADLINE": "300"})
    assert run.code == 3
    assert run.seconds < 300
    limit = encoded_limit_for(MANIFEST_LIMIT)
    names_the_failure(
        run.err, proxy, f"the encoded body passed {limit} bytes while decoding to only 0"
    )


def test_a_manifest_in_an_encoding_we_did_not_ask_for_and_cannot_decode(
    proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy.add(
        Fault(
            "replace",
            path="/manifests/v1",
            status=200,
            headers=encoded("compress"),
            body=b"\x1f\x9d" + b"\0" * 64,
            times=None,
        )
    )
    run = measured(proxy, monkeypatch)
    assert run.code == 3
    names_the_failure(
        run.err,
        proxy,
        "it is sent with Content-Encoding compress, which "
        "buildguard did not ask for and does not decode",
    )


@pytest.mark.parametrize("status", [404, 401])
def test_an_error_body_bomb_is_read_within_its_limit(
    proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    """A 404's body is read for its error codes; a 401's is read by the auth flow before it
    answers the challenge (httpx would read it whole): both within 64 KiB, decoded."""
    headers = {"Content-Type": "application/json", "Content-Encoding": "br"}
    if status == 404:
        proxy.add(
            Fault(
                "replace",
                path="/manifests/v1",
                status=404,
                headers=headers,
                body=bomb("br")[1],
                times=None,
            )
        )
    else:
        proxy.add(
            Fault(
                "unauthorized",
                path="/manifests/v1",
                headers={"Content-Encoding": "br"},
                error_body=bomb("br")[1],
                times=None,
            )
        )
    run = measured(proxy, monkeypatch)
    assert run.code == 3
    assert run.seconds < SLACK
    names_the_failure(run.err, proxy, f"HTTP {status}")


def test_a_redirect_body_bomb_is_not_read_whole(
    proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx reads the body of a redirect it follows, whole and decoded: ours is read first,
    within the error-body limit, and the blob still comes through."""
    proxy.add(
        Fault(
            "redirect",
            path="/blobs/",
            status=307,
            location=f"{proxy.url}{{path}}",
            headers={"Content-Encoding": "br"},
            error_body=bomb("br")[1],
            times=3,
        )
    )
    run = measured(proxy, monkeypatch)
    assert run.code == 0, run.err
    assert run.seconds < SLACK
    assert len([r for r in proxy.requests("/blobs/") if r[2] == 307]) == 3


# --------------------------------------------------------------------------- token bodies


def through_token_proxy(
    tokens: TokenServer,
    reg: Registry,
    fault: Fault,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    password: str,
) -> tuple[Run, FaultProxy]:
    with FaultProxy(reg.url) as front, FaultProxy(tokens.url) as token_front:
        docker_config(tmp_path, monkeypatch, front.host, USER, password)
        token_front.add(fault)
        front.add(
            Fault(
                "header",
                header="WWW-Authenticate",
                times=None,
                rewrite=lambda v: v.replace(tokens.url, token_front.url),
            )
        )
        run = measured(front, monkeypatch)
        names_the_failure(run.err, front, f"token answer not understood: {token_front.host} sent")
        return run, front


def token_chunks(size: int) -> Iterator[bytes]:
    yield b'{"token": "'
    piece = b"A" * (64 << 10)
    for _ in range(size // len(piece)):
        yield piece
    yield b'"}'


@pytest.mark.parametrize("how", ["gzip bomb", "chunked 50 MB"])
def test_a_huge_token_answer_is_cut_while_it_is_read(
    tokened: tuple[TokenServer, Registry, Pushed],
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    """A 1 GB gzip bomb peaked at 1 GB; a 50 MB token sent chunked was read whole (500 MB)
    and sent as a header: both end at 1 MiB, decoded, and nothing is sent."""
    tokens, reg, _ = tokened
    if how == "gzip bomb":
        header, body = bomb("gzip")
        fault = Fault(
            "replace",
            status=200,
            body=body,
            times=None,
            headers={"Content-Type": "application/json", "Content-Encoding": header},
        )
    else:
        fault = Fault(
            "replace",
            status=200,
            chunks=lambda: token_chunks(HUGE_TOKEN),
            chunked=True,
            headers={"Content-Type": "application/json"},
            times=None,
        )
    run, front = through_token_proxy(tokens, reg, fault, tmp_path, monkeypatch, password)
    assert run.code == 3
    assert run.seconds < SLACK
    assert "sent more than 1 MiB" in run.err
    assert all(
        not h.get("authorization", "").startswith("Bearer ") for _, _, _, h in front.requests()
    )


def test_a_token_too_long_for_a_header_is_never_sent(
    tokened: tuple[TokenServer, Registry, Pushed],
    password: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens, reg, _ = tokened
    body = json.dumps({"token": "A" * 100_000}).encode()
    fault = Fault(
        "replace", status=200, body=body, headers={"Content-Type": "application/json"}, times=None
    )
    run, front = through_token_proxy(tokens, reg, fault, tmp_path, monkeypatch, password)
    assert run.code == 3
    assert "sent a token of 100000 characters (at most 65536 are used)" in run.err
    assert all(
        not h.get("authorization", "").startswith("Bearer ") for _, _, _, h in front.requests()
    )


# --------------------------------------------------------------------------- deadlines


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_manifest_sent_a_byte_a_second_is_cut_by_the_deadlines(
    proxy: FaultProxy, image: Pushed, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """httpx's read timeout restarts on every byte; each attempt ends by the request
    deadline, and the whole source by its overall deadline."""
    slow = {"header_delay": 1.0} if where == "headers" else {"delay": 1.0, "piece": 1}
    proxy.add(
        Fault(
            "replace",
            path="/manifests/v1",
            status=200,
            body=image.manifest,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
            times=None,
            **slow,
        )
    )  # type: ignore[arg-type]
    run = measured(
        proxy, monkeypatch, {"BUILDGUARD_HTTP_DEADLINE": "2", "BUILDGUARD_DEADLINE": "8"}
    )
    assert run.code == 3
    assert run.seconds < 8 + SLACK
    names_the_failure(run.err, proxy, "manifest v1")
    assert re.search(
        r"ReadTimeout: the (2 s deadline of one request \(\$BUILDGUARD_HTTP_DEAD"
        r"LINE\)|8 s deadline of reading registry .*\(\$BUILDGUARD_DEADLINE\)) "
        r"passed",
        run.err,
    ), run.err


def test_a_blob_sent_slowly_for_ever_is_cut_by_the_overall_deadline(
    proxy: FaultProxy, image: Pushed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def trickle() -> Iterator[bytes]:
        while True:
            yield b"\0"

    digest = image.layer_digests[0]
    proxy.add(
        Fault(
            "replace",
            path=f"/blobs/{digest}",
            status=200,
            chunks=trickle,
            chunked=True,
            delay=0.5,
            times=None,
        )
    )
    run = measured(proxy, monkeypatch, {"BUILDGUARD_DEADLINE": "6"})
    assert run.code == 3
    assert run.seconds < 6 + SLACK
    names_the_failure(run.err, proxy, f"blob {digest}")
    assert (
        f"the 6 s deadline of reading registry {proxy.host}, repository {REPO} "
        "($BUILDGUARD_DEADLINE) passed" in run.err
    )


def test_a_bad_deadline_is_a_usage_error(
    proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUILDGUARD_DEADLINE", "-1")
    run = inspect(capsys, proxy)
    assert run.code == 2
    assert "$BUILDGUARD_DEADLINE must be a positive number of seconds, not '-1'" in run.err
    assert proxy.requests() == []
