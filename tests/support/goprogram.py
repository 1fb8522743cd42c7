"""The Go oracles' common parts: build a standard-library Go program offline, and keep one
running with a pipe each way (``tests/support/golister``, ``tests/support/gojson``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self


def build_go_program(source: Path, work: Path, error: type[Exception]) -> Path:
    """``go build`` the program in ``source`` into ``work`` (GOCACHE/GOPATH inside it, no
    module proxy) and return the binary's path; ``error`` is raised when that fails."""
    go = shutil.which("go") or "/usr/lib/go-1.19/bin/go"
    if not Path(go).exists():
        raise error("go is not installed: apt-get install golang-go (see scripts/setup)")
    work.mkdir(parents=True, exist_ok=True)
    binary = work / source.name
    env = dict(os.environ)
    env.update(
        GOCACHE=str(work / "gocache"),
        GOPATH=str(work / "gopath"),
        GOPROXY="off",
        GOFLAGS="",
        GO111MODULE="on",
        CGO_ENABLED="0",
    )
    done = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise error(f"go build of {source} failed:\n{done.stdout}{done.stderr}")
    return binary


class GoProcess:
    """One running Go oracle with pipes on stdin, stdout and stderr; a context manager."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary
        self.proc = subprocess.Popen(
            [str(binary)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.calls = 0

    def stderr_text(self) -> str:
        return self.proc.stderr.read().decode() if self.proc.stderr else ""

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
