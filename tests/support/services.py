"""Real services for the end-to-end tests: a rootful dockerd and distribution registries.

Everything here starts a real process in its own temp dir and stops it by the pid saved at
start (never by name). See docs/testing.md and /work/shared/TESTING.md for the recipe.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

DOCKERD_START_TIMEOUT = 90.0
REGISTRY_START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0

BASE_IMAGE_TAG = "buildguard-test/busybox:1"
BUSYBOX_APPLETS = (
    "sh",
    "rm",
    "cp",
    "mkdir",
    "ln",
    "ls",
    "cat",
    "echo",
    "touch",
    "mv",
    "chmod",
)

# Variables that would point the docker CLI / docker-py somewhere other than our daemon.
_DOCKER_ENV_DROP = ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_BUILDKIT")


class ServiceError(RuntimeError):
    """A real service could not be started (missing binary, startup failure, timeout)."""


def require_binary(name: str, package: str) -> str:
    """Return the absolute path of ``name`` or raise a clear error naming the apt package."""
    path = shutil.which(name)
    if path is None:
        for prefix in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
            candidate = Path(prefix) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                path = str(candidate)
                break
    if path is None:
        raise ServiceError(
            f"required binary {name!r} not found on PATH; install it with "
            f"`apt-get install -y {package}` (see .ci/run and docs/testing.md)"
        )
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """Stop one process we started, by its pid: SIGTERM, wait, then SIGKILL its group.

    The processes are started with ``start_new_session=True`` so the group id equals the pid
    we saved; the SIGKILL fallback only reaches that group (e.g. dockerd's own containerd).
    """
    pid = proc.pid
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Children that outlived their parent (same group) get a last SIGKILL.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()).rstrip("/") + "/"
    found: list[str] = []
    with open("/proc/self/mounts") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2:
                target = parts[1].replace("\\040", " ")
                if target == prefix.rstrip("/") or target.startswith(prefix):
                    found.append(target)
    return found


def remove_tree(root: Path) -> None:
    """Remove a service dir, but first detach any mount left under it (never follow mounts)."""
    if not root.exists():
        return
    for target in sorted(_mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], stdin=subprocess.DEVNULL, check=False)
    if _mounts_under(root):
        return  # do not delete through a mount; leave the dir for inspection
    shutil.rmtree(root, ignore_errors=True)


def _http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            status: int = resp.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


# --------------------------------------------------------------------------- dockerd


@dataclass
class Dockerd:
    """A running dockerd with its socket in ``dir``."""

    host: str  # "unix:///tmp/bg-dockerd-xxxx/docker.sock"
    env: dict[str, str]  # os.environ copy with DOCKER_HOST (and an empty DOCKER_CONFIG)
    client: Any  # docker.DockerClient(base_url=host, version="auto")
    cli: str  # path of the docker CLI binary that works against this daemon
    pid: int
    dir: Path
    log: Path
    api_version: str
    proc: subprocess.Popen[bytes] = field(repr=False)

    def docker(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        check: bool = True,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this daemon; raises with stdout/stderr on failure."""
        run_env = dict(self.env)
        if env:
            run_env.update(env)
        res = subprocess.run(
            [self.cli, *args],
            env=run_env,
            input=input.decode() if input is not None else None,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and res.returncode != 0:
            raise ServiceError(
                f"`docker {' '.join(args)}` failed with exit code {res.returncode}\n"
                f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}"
            )
        return res

    def build(
        self,
        context: Path,
        tag: str,
        *extra: str,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``DOCKER_BUILDKIT=0 docker build --network host -t TAG [extra] CONTEXT``."""
        build_env = {"DOCKER_BUILDKIT": "0", **(env or {})}
        return self.docker(
            "build", "--network", "host", "-t", tag, *extra, str(context), env=build_env
        )


def _docker_cli_candidates() -> list[str]:
    seen: list[str] = []
    for cand in (shutil.which("docker"), "/usr/bin/docker", "/usr/local/bin/docker"):
        if cand and Path(cand).is_file() and cand not in seen:
            seen.append(cand)
    return seen


def _pick_docker_cli(env: Mapping[str, str]) -> tuple[str, list[str]]:
    """First docker CLI that talks to the daemon (API version negotiation may fail)."""
    errors: list[str] = []
    for cand in _docker_cli_candidates():
        res = subprocess.run(
            [cand, "version", "--format", "{{.Client.Version}} -> {{.Server.Version}}"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if res.returncode == 0:
            return cand, errors
        errors.append(f"{cand}: exit {res.returncode}: {res.stderr.strip() or res.stdout.strip()}")
    raise ServiceError(
        "no docker CLI works against the test dockerd (install docker.io):\n" + "\n".join(errors)
    )


@contextlib.contextmanager
def start_dockerd(
    timeout: float = DOCKERD_START_TIMEOUT,
    storage_driver: str = "vfs",
    data_tmpfs_size: str | None = None,
) -> Iterator[Dockerd]:
    """Start a rootful dockerd (vfs unless told, no bridge, no iptables) in a short /tmp dir.

    With ``data_tmpfs_size`` (e.g. ``"6g"``) its data root is a tmpfs of that size: no disk
    writes, and removing it at the end is an unmount instead of deleting every file.
    """
    dockerd_bin = require_binary("dockerd", "docker.io")
    if not _docker_cli_candidates():
        raise ServiceError("docker CLI not found; install it with `apt-get install -y docker.io`")
    # Unix socket paths are limited to ~107 bytes: keep the dir short, directly under /tmp.
    root = Path(tempfile.mkdtemp(prefix="bgd-", dir="/tmp"))
    log = root / "dockerd.log"
    sock = root / "docker.sock"
    host = f"unix://{sock}"
    config_dir = root / "config"
    config_dir.mkdir()
    if data_tmpfs_size is not None:
        (root / "root").mkdir()
        mounted = subprocess.run(
            [
                "mount",
                "-t",
                "tmpfs",
                "-o",
                f"size={data_tmpfs_size},mode=0710",
                "tmpfs",
                str(root / "root"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if mounted.returncode != 0:
            remove_tree(root)
            raise ServiceError(f"cannot mount a tmpfs for dockerd: {mounted.stderr.strip()}")
    cmd = [
        dockerd_bin,
        "--storage-driver",
        storage_driver,
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--data-root",
        str(root / "root"),
        "--exec-root",
        str(root / "exec"),
        "--pidfile",
        str(root / "pid"),
        "--host",
        host,
    ]
    env = {k: v for k, v in os.environ.items() if k not in _DOCKER_ENV_DROP}
    env["DOCKER_HOST"] = host
    env["DOCKER_CONFIG"] = str(config_dir)
    with open(log, "wb") as log_fh:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    (root / "launcher.pid").write_text(f"{proc.pid}\n")
    client: Any = None
    started_ok = False
    try:
        deadline = time.monotonic() + timeout
        api_version = ""
        last_error = ""
        while True:
            if proc.poll() is not None:
                raise ServiceError(
                    f"dockerd exited with code {proc.returncode} during startup; "
                    f"log {log}:\n{log_tail(log)}"
                )
            if sock.exists():
                try:
                    probe = docker.DockerClient(base_url=host, version="auto", timeout=5)
                    try:
                        api_version = str(probe.version()["ApiVersion"])
                    finally:
                        probe.close()
                    break
                except Exception as exc:  # daemon not ready yet
                    last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"dockerd did not answer on {host} within {timeout:.0f}s "
                    f"(last error: {last_error or 'socket missing'}); log {log}:\n{log_tail(log)}"
                )
            time.sleep(0.25)
        cli, _ = _pick_docker_cli(env)
        client = docker.DockerClient(base_url=host, version="auto", timeout=600)
        started_ok = True
        yield Dockerd(
            host=host,
            env=env,
            client=client,
            cli=cli,
            pid=proc.pid,
            dir=root,
            log=log,
            api_version=api_version,
            proc=proc,
        )
    finally:
        if client is not None:
            # A user network's bridge interface outlives its daemon (the data root that knew
            # it is removed below): left alone, each run leaks one until docker's default
            # address pools are used up ("could not find an available, non-overlapping IPv4
            # address pool"). Containers are gone by now, so every user network is unused.
            with contextlib.suppress(Exception):
                client.networks.prune()
            with contextlib.suppress(Exception):
                client.close()
        stop_process(proc)
        if started_ok:
            remove_tree(root)
        else:  # keep the log of a failed start; drop the (small) daemon state
            for sub in ("root", "exec"):
                remove_tree(root / sub)


def make_busybox_rootfs(rootfs: Path, applets: Sequence[str] = BUSYBOX_APPLETS) -> Path:
    """A minimal rootfs: static /bin/busybox plus applet symlinks, /tmp and /etc."""
    busybox = Path("/bin/busybox")
    if not busybox.is_file():
        raise ServiceError(
            "/bin/busybox not found; install it with `apt-get install -y busybox-static`"
        )
    (rootfs / "bin").mkdir(parents=True)
    for d in ("tmp", "etc", "root"):
        (rootfs / d).mkdir()
    (rootfs / "tmp").chmod(0o1777)
    shutil.copy2(busybox, rootfs / "bin" / "busybox")
    for applet in applets:
        (rootfs / "bin" / applet).symlink_to("busybox")
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (rootfs / "etc" / "group").write_text("root:x:0:\n")
    return rootfs


def import_rootfs(dockerd: Dockerd, rootfs: Path, tag: str) -> str:
    """``tar -C rootfs -c . | docker import - TAG``; returns the image id."""
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert tar.stdout is not None
    imp = subprocess.run(
        [dockerd.cli, "import", "-", tag],
        env=dockerd.env,
        stdin=tar.stdout,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    tar.stdout.close()
    tar_err = tar.stderr.read().decode(errors="replace") if tar.stderr else ""
    if tar.stderr:
        tar.stderr.close()
    tar_rc = tar.wait()
    if tar_rc != 0 or imp.returncode != 0:
        raise ServiceError(
            f"importing {rootfs} as {tag} failed: tar exit {tar_rc} ({tar_err.strip()}), "
            f"docker import exit {imp.returncode} ({imp.stderr.strip()})"
        )
    return imp.stdout.strip()


def make_base_image(dockerd: Dockerd, workdir: Path, tag: str = BASE_IMAGE_TAG) -> str:
    """Import the busybox base image and check that a ``RUN`` build on top of it works."""
    rootfs = make_busybox_rootfs(workdir / "rootfs")
    import_rootfs(dockerd, rootfs, tag)
    check_ctx = workdir / "check"
    check_ctx.mkdir()
    (check_ctx / "Dockerfile").write_text(
        f"FROM {tag}\nRUN echo buildguard-ok > /built && cat /built && ls /bin\n"
    )
    check_tag = "buildguard-test/busybox-check:1"
    dockerd.build(check_ctx, check_tag)
    out = dockerd.docker("run", "--rm", "--network", "none", check_tag, "cat", "/built")
    if out.stdout.strip() != "buildguard-ok":
        raise ServiceError(f"RUN check image gave unexpected output: {out.stdout!r}")
    dockerd.docker("rmi", check_tag)
    return tag


# --------------------------------------------------------------------------- registry


@dataclass
class Registry:
    """A running ``docker-registry serve`` (distribution 2.8) on 127.0.0.1."""

    host: str  # "127.0.0.1:PORT"
    url: str  # "http://127.0.0.1:PORT"
    pid: int
    port: int
    dir: Path
    config_path: Path
    log: Path
    config: dict[str, Any]
    proc: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        stop_process(self.proc)


@dataclass
class AuthRegistry(Registry):
    """A registry with ``auth.htpasswd`` (bcrypt); credentials in ``username``/``password``."""

    username: str = ""
    password: str = ""

    def auth_header(self) -> str:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return f"Basic {token}"

    def write_docker_config(self, directory: Path) -> Path:
        """Write ``DIR/config.json`` with this registry's auth; use DIR as DOCKER_CONFIG."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "config.json"
        data: dict[str, Any] = {}
        if path.exists():
            data = json.loads(path.read_text())
        auth = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        data.setdefault("auths", {})[self.host] = {"auth": auth}
        path.write_text(json.dumps(data, indent=2) + "\n")
        path.chmod(0o600)
        return path


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Recursively merge ``extra`` into a copy of ``base`` (``None`` values delete keys)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def registry_config(root: Path, port: int, extra_config: Mapping[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "text"},
        "storage": {
            "filesystem": {"rootdirectory": str(root / "data")},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
    }
    return deep_merge(base, extra_config)


def _registry_ready(url: str) -> bool:
    # 200 for an open registry, 401 when auth is configured: both mean it is serving.
    return _http_status(f"{url}/v2/") in (200, 401)


def start_registry(
    tmpdir: Path,
    extra_config: Mapping[str, Any] | None = None,
    timeout: float = REGISTRY_START_TIMEOUT,
    attempts: int = 3,
) -> Registry:
    """Start ``docker-registry serve`` on a free 127.0.0.1 port with storage under ``tmpdir``.

    ``extra_config`` is deep-merged into the base config (filesystem storage, deletes
    enabled), e.g. ``{"auth": {"htpasswd": {...}}}`` or ``{"auth": {"token": {...}}}``.
    The config is written as JSON, which is valid YAML. Call ``.stop()`` when done.
    """
    registry_bin = require_binary("docker-registry", "docker-registry")
    tmpdir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="registry-", dir=tmpdir))
    last_failure = ""
    for attempt in range(attempts):
        port = free_port()
        config = registry_config(root, port, extra_config or {})
        config_path = root / "config.yml"
        config_path.write_text(json.dumps(config, indent=2) + "\n")
        log = root / f"registry-{attempt}.log"
        with open(log, "wb") as log_fh:
            proc = subprocess.Popen(
                [registry_bin, "serve", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=root,
            )
        (root / "pid").write_text(f"{proc.pid}\n")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if _registry_ready(url):
                return Registry(
                    host=f"127.0.0.1:{port}",
                    url=url,
                    pid=proc.pid,
                    port=port,
                    dir=root,
                    config_path=config_path,
                    log=log,
                    config=config,
                    proc=proc,
                )
            time.sleep(0.1)
        stop_process(proc)
        last_failure = (
            f"docker-registry on port {port} "
            + ("exited" if proc.returncode is not None else f"did not answer in {timeout:.0f}s")
            + f"; log {log}:\n{log_tail(log)}"
        )
        if "address already in use" not in log_tail(log):
            break  # a port race is the only failure worth retrying
    raise ServiceError(f"registry failed to start: {last_failure}")


def start_auth_registry(
    tmpdir: Path,
    username: str = "buildguard",
    password: str | None = None,
    extra_config: Mapping[str, Any] | None = None,
) -> AuthRegistry:
    """A registry with htpasswd (bcrypt, made by ``htpasswd -Bbn``) basic auth."""
    htpasswd_bin = require_binary("htpasswd", "apache2-utils")
    password = password or secrets.token_urlsafe(18)
    tmpdir.mkdir(parents=True, exist_ok=True)
    htpasswd_file = Path(tempfile.mkdtemp(prefix="htpasswd-", dir=tmpdir)) / "htpasswd"
    res = subprocess.run(
        [htpasswd_bin, "-Bbn", username, password],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise ServiceError(f"htpasswd failed: {res.stderr.strip()}")
    htpasswd_file.write_text(res.stdout.strip() + "\n")
    auth = {"auth": {"htpasswd": {"realm": "buildguard-test", "path": str(htpasswd_file)}}}
    reg = start_registry(tmpdir, deep_merge(auth, extra_config or {}))
    fields = {name: getattr(reg, name) for name in Registry.__dataclass_fields__}
    return AuthRegistry(**fields, username=username, password=password)
