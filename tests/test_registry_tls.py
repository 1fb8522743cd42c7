"""A loopback registry skips loading the CA bundle, yet HTTPS it is sent to is verified."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selfsigned import make_cert

from buildguard._image.registry import RegistrySource


@pytest.fixture
def self_signed_https(tmp_path: Path) -> Iterator[str]:
    key, cert = make_cert(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/token"
    finally:
        server.shutdown()
        server.server_close()


def test_https_from_a_loopback_registry_is_still_verified(self_signed_https: str) -> None:
    source = RegistrySource("127.0.0.1:5999/some/repo:tag")
    try:
        client = source._client_for(self_signed_https)
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get(self_signed_https)
    finally:
        source.close()
