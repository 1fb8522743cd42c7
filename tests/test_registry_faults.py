"""Faults between RegistrySource and a real registry, injected by tests/support/faultproxy.py.

Transient faults (503s, 429 with Retry-After, resets, truncated bodies) succeed within the
retry budget; persistent ones end in ImageReadError naming registry, repository and what
failed; flipped bytes are caught (manifests here, blobs by the caller's digest check).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultproxy import Fault, FaultProxy
from registryhelpers import Pushed, push_random_image, read_all, sha256
from services import Registry

from buildguard._image.registry import RegistrySource
from buildguard.errors import DigestMismatch, ImageReadError

pytestmark = pytest.mark.docker

LAYER_SIZE = 600 * 1024  # several 256 KiB chunks, so resets land mid-stream


@pytest.fixture(scope="module")
def image(registry: Registry) -> Pushed:
    return push_random_image(registry.url, "bg/faults", "v1", layers=2, layer_size=LAYER_SIZE)


@pytest.fixture
def proxy(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FaultProxy]:
    config = tmp_path / "docker-config"
    config.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    with FaultProxy(registry.url) as running:
        yield running


def source(proxy: FaultProxy, ref: str = "bg/faults:v1", **kwargs: object) -> RegistrySource:
    options: dict[str, object] = {"retries": 3, "backoff": 0.01, "max_retry_after": 2.0}
    options.update(kwargs)
    return RegistrySource(f"{proxy.host}/{ref}", **options)  # type: ignore[arg-type]


def read_image(src: RegistrySource, image: Pushed) -> None:
    """Fetch everything and check it is byte-exact."""
    assert src.top_manifest().data == image.manifest
    assert read_all(src.open_blob(image.config_digest, len(image.config))) == image.config
    for digest, blob in zip(image.layer_digests, image.layers, strict=True):
        data = read_all(src.open_blob(digest, len(blob)))
        assert len(data) == len(blob)
        assert sha256(data) == digest


# --------------------------------------------------------------------------- flipped bytes


def test_flipped_manifest_by_tag_is_caught(proxy: FaultProxy, image: Pushed) -> None:
    proxy.add(Fault("flip", path="/manifests/v1", offset=40))
    with source(proxy) as src, pytest.raises(DigestMismatch) as info:
        src.top_manifest()
    text = str(info.value)
    assert text.startswith(
        f"manifest v1 from registry {proxy.host}, repository bg/faults does not match its digest "
        f"{image.digest}: the bytes received hash to sha256:"
    ), text
    assert info.value.exit_code == 3


def test_flipped_manifest_by_digest_is_caught(proxy: FaultProxy, image: Pushed) -> None:
    proxy.add(Fault("flip", path="/manifests/sha256:", offset=10))
    proxy.add(Fault("drop_header", path="/manifests/", header="Docker-Content-Digest", times=None))
    with source(proxy, f"bg/faults@{image.digest}") as src, pytest.raises(DigestMismatch):
        src.top_manifest()


def test_flipped_blob_bytes_reach_the_caller_who_detects_them(
    proxy: FaultProxy, image: Pushed
) -> None:
    layer, digest = image.layers[0], image.layer_digests[0]
    proxy.add(Fault("flip", path=f"/blobs/{digest}", offset=LAYER_SIZE // 2))
    proxy.add(Fault("flip", path=f"/blobs/{image.config_digest}", offset=3))
    with source(proxy) as src:
        data = read_all(src.open_blob(digest, len(layer)))
        assert len(data) == len(layer) and data != layer
        assert sha256(data) != digest  # what the layer reader's verifier sees
        config = read_all(src.open_blob(image.config_digest, len(image.config)))
        assert sha256(config) != image.config_digest


# --------------------------------------------------------------------------- transient


def test_503s_within_budget_succeed(proxy: FaultProxy, image: Pushed) -> None:
    proxy.add(Fault("status", path="/manifests/", status=503, times=3))
    proxy.add(Fault("status", path="/blobs/", status=502, times=2))
    proxy.add(Fault("status", path="/blobs/", status=500, times=1))
    with source(proxy) as src:
        read_image(src, image)
    assert [f.hits for f in proxy.faults] == [3, 2, 1]


def test_429_honours_retry_after(proxy: FaultProxy, image: Pushed) -> None:
    proxy.add(
        Fault(
            "status",
            path="/manifests/",
            status=429,
            times=1,
            headers={"Retry-After": "1"},
            body=b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}',
        )
    )
    with source(proxy) as src:
        started = time.monotonic()
        assert src.top_manifest().digest == image.digest
        assert time.monotonic() - started >= 0.9


def test_retry_after_is_capped(proxy: FaultProxy, image: Pushed) -> None:
    proxy.add(
        Fault("status", path="/manifests/", status=429, times=1, headers={"Retry-After": "3600"})
    )
    with source(proxy, max_retry_after=0.5) as src:
        started = time.monotonic()
        assert src.top_manifest().digest == image.digest
        assert time.monotonic() - started < 5


def test_reset_mid_blob_resumes_with_range(proxy: FaultProxy, image: Pushed) -> None:
    digest = image.layer_digests[0]
    proxy.add(Fault("reset", path=f"/blobs/{digest}", offset=300 * 1024, times=2))
    with source(proxy) as src:
        read_image(src, image)
    blob_gets = proxy.requests(f"/blobs/{digest}")
    assert len(blob_gets) == 3
    assert "range" not in blob_gets[0][3]
    # Each resume asks for the bytes after those already handed out (a multiple of a chunk,
    # at most what the proxy sent before the reset), and the registry answers 206.
    first = int(blob_gets[1][3]["range"].removeprefix("bytes=").rstrip("-"))
    second = int(blob_gets[2][3]["range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < first <= 300 * 1024
    assert first < second <= first + 300 * 1024
    assert blob_gets[1][2] == 206 and blob_gets[2][2] == 206


def test_reset_without_range_support_rereads_and_skips(proxy: FaultProxy, image: Pushed) -> None:
    digest = image.layer_digests[1]
    proxy.add(Fault("no_range", path=f"/blobs/{digest}", times=None))
    proxy.add(Fault("reset", path=f"/blobs/{digest}", offset=400 * 1024, times=1))
    # no_range is first in the list, so it matches every request; reset must be consulted on
    # the first one: order them so the reset wins there.
    proxy.faults.reverse()
    with source(proxy) as src:
        read_image(src, image)
    blob_gets = proxy.requests(f"/blobs/{digest}")
    assert len(blob_gets) == 2
    assert blob_gets[1][3].get("range", "").startswith("bytes=")
    assert blob_gets[1][2] == 200  # range ignored: re-read from zero, skipped, still exact


def test_truncated_blob_body_is_resumed(proxy: FaultProxy, image: Pushed) -> None:
    digest = image.layer_digests[0]
    proxy.add(Fault("truncate", path=f"/blobs/{digest}", offset=100_000, times=1))
    with source(proxy) as src:
        read_image(src, image)
    assert len(proxy.requests(f"/blobs/{digest}")) == 2


def test_truncated_manifest_is_fetched_again(proxy: FaultProxy, image: Pushed) -> None:
    proxy.add(Fault("truncate", path="/manifests/", offset=50, times=1))
    with source(proxy) as src:
        assert src.top_manifest().data == image.manifest


def test_reset_before_any_byte_restarts_transparently(proxy: FaultProxy, image: Pushed) -> None:
    digest = image.layer_digests[0]
    proxy.add(Fault("reset", path=f"/blobs/{digest}", offset=0, times=2))
    with source(proxy) as src:
        read_image(src, image)
    gets = proxy.requests(f"/blobs/{digest}")
    assert len(gets) == 3 and all("range" not in g[3] for g in gets)


# --------------------------------------------------------------------------- persistent


def test_persistent_503_ends_in_image_read_error(proxy: FaultProxy, image: Pushed) -> None:
    proxy.add(Fault("status", path="/manifests/", status=503, times=None))
    with source(proxy) as src, pytest.raises(ImageReadError) as info:
        src.top_manifest()
    assert str(info.value) == (
        f"could not read manifest v1 from registry {proxy.host}, repository bg/faults: "
        "HTTP 503 UNAVAILABLE: injected by faultproxy after 4 attempts\n"
        "  hint: the registry is failing or rate-limiting; retry later"
    )
    assert len(proxy.requests("/manifests/")) == 4


def test_persistent_429_ends_in_image_read_error(proxy: FaultProxy, image: Pushed) -> None:
    proxy.add(
        Fault(
            "status",
            path="/blobs/",
            status=429,
            times=None,
            headers={"Retry-After": "0"},
            body=b'{"errors":[{"code":"TOOMANYREQUESTS","message":"pull rate limit"}]}',
        )
    )
    with source(proxy) as src:
        src.top_manifest()
        with pytest.raises(ImageReadError) as info:
            read_all(src.open_blob(image.layer_digests[0], len(image.layers[0])))
    assert f"could not read blob {image.layer_digests[0]} from registry {proxy.host}" in str(
        info.value
    )
    assert "HTTP 429 TOOMANYREQUESTS: pull rate limit after 4 attempts" in str(info.value)


def test_persistent_reset_at_the_same_offset_without_range_fails(
    proxy: FaultProxy, image: Pushed
) -> None:
    digest = image.layer_digests[0]
    proxy.add(Fault("reset", path=f"/blobs/{digest}", offset=200 * 1024, times=None))
    proxy.add(Fault("no_range", path=f"/blobs/{digest}", times=None))
    with source(proxy) as src:
        src.top_manifest()
        stream = src.open_blob(digest, len(image.layers[0]))
        with pytest.raises(ImageReadError) as info:
            read_all(stream)
    text = str(info.value)
    assert text.startswith(
        f"could not read blob {digest} from registry {proxy.host}, repository bg/faults: "
        "the stream broke at byte "
    ), text
    assert "did not recover after" in text


def test_blob_longer_than_descriptor_is_a_mismatch(proxy: FaultProxy, image: Pushed) -> None:
    digest = image.layer_digests[0]
    with source(proxy) as src, pytest.raises(DigestMismatch, match="longer than the 1000 bytes"):
        read_all(src.open_blob(digest, 1000))


def test_read_timeout_is_retried_then_reported(registry: Registry, image: Pushed) -> None:
    """A server that accepts and never answers: read timeouts, retries, then a clear error."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        host = f"127.0.0.1:{silent.getsockname()[1]}"
        src = RegistrySource(f"{host}/bg/faults:v1", timeout=0.3, retries=1, backoff=0.01)
        with src, pytest.raises(ImageReadError) as info:
            src.top_manifest()
    assert "ReadTimeout" in str(info.value) and "after 2 attempts" in str(info.value)
