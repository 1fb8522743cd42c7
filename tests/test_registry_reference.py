"""Reference parsing, plain-HTTP selection, challenge parsing, secrets kept out of reprs.

Pure tests: no services.
"""

from __future__ import annotations

import pytest

from buildguard._image.reference import Reference, parse_reference
from buildguard._image.registry import RegistrySource, uses_plain_http
from buildguard._image.transport.challenge import parse_www_authenticate
from buildguard._image.transport.hosts import is_google_registry
from buildguard._image.transport.keychain import Credentials
from buildguard.errors import UsageError

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5000/app", Reference("127.0.0.1:5000", "app", "latest", None)),
        ("localhost/app:v1", Reference("localhost", "app", "v1", None)),
        (
            "localhost:5000/a/b/c:1.2.3-rc_1",
            Reference("localhost:5000", "a/b/c", "1.2.3-rc_1", None),
        ),
        (
            "europe-docker.pkg.dev/proj/repo/app@" + DIGEST,
            Reference("europe-docker.pkg.dev", "proj/repo/app", None, DIGEST),
        ),
        (
            "gcr.io/proj/app:v2@" + DIGEST,
            Reference("gcr.io", "proj/app", "v2", DIGEST),
        ),
        (
            "Registry.Example.COM:443/x__y.z-w/q",
            Reference("registry.example.com:443", "x__y.z-w/q", "latest", None),
        ),
        ("[::1]:5000/app:t", Reference("[::1]:5000", "app", "t", None)),
        ("docker.io/library/nginx:1.25", Reference("docker.io", "library/nginx", "1.25", None)),
    ],
)
def test_parse_good_references(text: str, expected: Reference) -> None:
    ref = parse_reference(text)
    assert ref == expected
    assert ref.identifier == (expected.digest or expected.tag)


def test_str_round_trips() -> None:
    assert str(parse_reference("localhost:5000/a/b:t")) == "localhost:5000/a/b:t"
    assert str(parse_reference("h.io/a@" + DIGEST)) == "h.io/a@" + DIGEST


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("nginx", "no registry host"),
        ("library/nginx:1", "is not a registry host"),
        ("https://gcr.io/p/app", "URL scheme"),
        ("gcr.io/P/App", "not a valid repository"),
        ("gcr.io/p//app", "not a valid repository"),
        ("gcr.io/p/app-", "not a valid repository"),
        ("gcr.io/p/app:", "not a valid tag"),
        ("gcr.io/p/app:-x", "not a valid tag"),
        ("gcr.io/p/app:" + "t" * 129, "not a valid tag"),
        ("gcr.io/p/app@sha256:abc", "not a digest"),
        ("gcr.io/p/app@sha512:" + "a" * 128, "unsupported digest"),
        ("gcr.io/p/app@sha256:" + "AB" * 32, "unsupported digest"),
        ("gcr.io/", "repository name is empty"),
        ("-bad.io/app", "not a valid registry host"),
        ("gcr.io/" + "a" * 260, "longer than 255"),
    ],
)
def test_bad_references_are_usage_errors(text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_reference(text)
    assert fragment in str(info.value)
    assert info.value.exit_code == 2
    assert "HOST[:PORT]/REPO" in str(info.value)  # the hint says what to write


def test_registry_source_rejects_bad_reference_before_any_network() -> None:
    with pytest.raises(UsageError):
        RegistrySource("not-a-reference")


def test_plain_http_only_for_loopback_and_named_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUILDGUARD_INSECURE_REGISTRIES", raising=False)
    assert uses_plain_http("localhost:5000")
    assert uses_plain_http("127.0.0.1:5000")
    assert uses_plain_http("127.9.8.7")
    assert uses_plain_http("[::1]:5000")
    assert not uses_plain_http("gcr.io")
    assert not uses_plain_http("128.0.0.1:5000")
    assert not uses_plain_http("registry.internal:5000")
    assert uses_plain_http("registry.internal:5000", ["registry.internal"])
    assert uses_plain_http("registry.internal:5000", ["registry.internal:5000"])
    assert not uses_plain_http("registry.internal:5000", ["registry.internal:6000"])
    monkeypatch.setenv("BUILDGUARD_INSECURE_REGISTRIES", " a.example:1 , registry.internal ")
    assert uses_plain_http("registry.internal:5000")
    assert uses_plain_http("a.example:1")
    assert not uses_plain_http("a.example:2")
    source = RegistrySource("registry.internal:5000/app:v1")
    try:
        assert source.plain_http
    finally:
        source.close()
    source = RegistrySource("secure.example/app:v1")
    try:
        assert not source.plain_http
        assert source._base == "https://secure.example/v2/app"
    finally:
        source.close()


def test_google_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BUILDGUARD_GOOGLE_REGISTRIES", raising=False)
    assert is_google_registry("gcr.io")
    assert is_google_registry("eu.gcr.io")
    assert is_google_registry("europe-west1-docker.pkg.dev")
    assert not is_google_registry("pkg.dev.example.com")
    assert not is_google_registry("127.0.0.1:5000")
    monkeypatch.setenv("BUILDGUARD_GOOGLE_REGISTRIES", "127.0.0.1:5000,private.example")
    assert is_google_registry("127.0.0.1:5000")
    assert not is_google_registry("127.0.0.1:5001")
    assert is_google_registry("private.example:443")


def test_parse_www_authenticate() -> None:
    (bearer,) = parse_www_authenticate(
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:a/b:pull,push"'
    )
    assert bearer.scheme == "bearer"
    assert bearer.params == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a/b:pull,push",
    }
    (no_service,) = parse_www_authenticate('Bearer realm="https://auth.example/token"')
    assert no_service.params == {"realm": "https://auth.example/token"}
    (basic,) = parse_www_authenticate('Basic realm="Registry Realm"')
    assert basic.scheme == "basic"
    both = parse_www_authenticate('Basic realm="x", Bearer realm="https://a/t",service=s')
    assert [c.scheme for c in both] == ["basic", "bearer"]
    assert both[1].params == {"realm": "https://a/t", "service": "s"}
    (escaped,) = parse_www_authenticate(r'Bearer realm="https://a/t?x=\"q\""')
    assert escaped.params["realm"] == 'https://a/t?x="q"'


def test_credentials_never_show_secrets() -> None:
    creds = Credentials(source="docker config", username="me", password="s3cr3t-pw")
    token = Credentials(source="docker config", identity_token="refresh-s3cr3t")
    for text in (repr(creds), str(creds), repr(token), str(token), repr([creds, token])):
        assert "s3cr3t" not in text
    assert "me" in repr(creds)
