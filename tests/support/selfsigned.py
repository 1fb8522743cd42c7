"""A self-signed certificate for 127.0.0.1, made with openssl, for the TLS tests."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_cert(directory: Path) -> tuple[Path, Path]:
    """``(key.pem, cert.pem)`` in ``directory``, valid one day, readable by nginx's workers."""
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o644)
    return key, cert
