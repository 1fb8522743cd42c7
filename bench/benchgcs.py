"""A real ``gcp-storage-emulator`` on 127.0.0.1 with one bucket, for the cache figures."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchapp import REPO

sys.path.insert(0, str(REPO / "tests" / "support"))

from services import free_port, stop_process

BUCKET = "bg-bench-cache"


@dataclass
class GcsEmulator:
    url: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop_process(self.proc)


def start_gcs_emulator(work: Path) -> GcsEmulator:
    """Start the emulator (in memory), wait for it, make :data:`BUCKET` with the real client."""
    port = free_port()
    exe = Path(sys.executable).parent / "gcp-storage-emulator"
    with open(work / "gcs.log", "wb") as log:
        proc = subprocess.Popen(
            [str(exe), "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    emulator = GcsEmulator(url, proc)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/storage/v1/b?project=p", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((work / "gcs.log").read_text()) from None
                time.sleep(0.2)
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        os.environ["STORAGE_EMULATOR_HOST"] = url  # as the library reads it
        try:
            anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
            storage.Client(project="p", credentials=anonymous).create_bucket(BUCKET)
        finally:
            del os.environ["STORAGE_EMULATOR_HOST"]
    except BaseException:
        emulator.stop()
        raise
    return emulator
