"""Run a cloudbuild.yaml on a local dockerd, each step a container, the way Cloud Build does.

Per build: `/workspace` (a host folder, bind-mounted and shared by every step),
`HOME=/builder/home` on a named volume shared by every step (docker credentials live in
`/builder/home/.docker/config.json`, written before step 0 as Cloud Build writes its own),
`BUILDER_OUTPUT=/builder/outputs`, the daemon's socket at `/var/run/docker.sock`, and a
`cloudbuild` docker network for the containers steps start. Steps run one after the other
in file order (`waitFor` may only name earlier steps, so file order satisfies it); the first
failing step fails the build and no later step runs; `images:` are pushed only after every
step passed, and their digests are the build's results.

Two differences from Cloud Build, both forced by this machine: steps run in the host's
network namespace (the registries and stand-ins listen on 127.0.0.1 only, which a container
on a bridge cannot reach; the `cloudbuild` network still exists for `docker run --network
cloudbuild`), and an image that is not on the daemon is an error, never pulled (nothing can be
pulled here: `localimages.py` builds local equivalents under the public names).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import tarfile
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudbuild_config as cfg
import docker.errors
import requests.exceptions

STEP_TIMEOUT = 900.0
HOME = "/builder/home"
OUTPUTS = "/builder/outputs"
SCRIPTS = "/builder/scripts"
WORKSPACE = "/workspace"
DOCKER_SOCKET = "/var/run/docker.sock"
NETWORK = "cloudbuild"
PUSH_IMAGE = "gcr.io/cloud-builders/docker"
_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


@dataclass
class StepResult:
    step: cfg.Step
    exit_code: int | None = None
    """None: the step did not run (an earlier step failed)."""
    log: str = ""
    seconds: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        if self.exit_code is None:
            return False
        return (
            self.exit_code == 0
            or self.step.allow_failure
            or self.exit_code in self.step.allow_exit_codes
        )


@dataclass(frozen=True)
class PushedImage:
    name: str
    digest: str


@dataclass
class BuildResult:
    build_id: str
    status: str = "SUCCESS"
    steps: list[StepResult] = field(default_factory=list)
    images: list[PushedImage] = field(default_factory=list)
    failure: str = ""
    push_log: str = ""

    def step(self, step_id: str) -> StepResult:
        for result in self.steps:
            if result.step.id == step_id:
                return result
        raise KeyError(step_id)

    @property
    def failed_step(self) -> str | None:
        for result in self.steps:
            if result.exit_code is not None and not result.ok:
                return result.step.id or str(result.step.index)
        return None

    @property
    def log(self) -> str:
        parts = [
            f"--- {r.step.label} ({r.step.name}) exit {r.exit_code}\n{r.log}{r.error}"
            for r in self.steps
            if r.exit_code is not None or r.error
        ]
        if self.push_log:
            parts.append(f"--- PUSH\n{self.push_log}")
        return "\n".join(parts) + f"\n--- {self.status} {self.failure}"


class RunnerError(RuntimeError):
    """The runner itself could not do its job (not a failing step)."""


class CloudBuildRunner:
    """Runs builds on one dockerd (``client`` is docker-py's, ``socket`` the host path)."""

    def __init__(
        self,
        client: Any,
        socket: str,
        *,
        project_id: str = "buildguard-test",
        location: str = "europe-west1",
        project_number: str = "123456789012",
    ) -> None:
        self.client = client
        self.socket = socket.removeprefix("unix://")
        self.project_id = project_id
        self.location = location
        self.project_number = project_number
        if not client.networks.list(names=[NETWORK]):
            client.networks.create(NETWORK, driver="bridge")

    def run(
        self,
        config: Mapping[str, Any] | Path,
        workspace: Path,
        *,
        substitutions: Mapping[str, str] | None = None,
        build_id: str | None = None,
        docker_config: Mapping[str, Any] | None = None,
    ) -> BuildResult:
        """Run one build; ``substitutions`` as `gcloud builds submit --substitutions` gives them
        (user keys and trigger built-ins such as COMMIT_SHA)."""
        if isinstance(config, Path):
            config = cfg.load(config)
        build_id = build_id or str(uuid.uuid4())
        given = dict(substitutions or {})
        builtins = cfg.builtin_values(
            project_id=self.project_id,
            build_id=build_id,
            location=self.location,
            project_number=self.project_number,
            given=given,
        )
        build = cfg.resolve(
            config,
            builtins=builtins,
            substitutions={k: v for k, v in given.items() if k not in cfg.BUILTIN_SUBSTITUTIONS},
        )
        result = BuildResult(build_id=build_id, steps=[StepResult(s) for s in build.steps])
        home = self.client.volumes.create(f"cloudbuild-home-{build_id}")
        private = Path(tempfile.mkdtemp(prefix="cloudbuild-"))
        try:
            self._write_home(home.name, docker_config or {})
            for step_result in result.steps:
                self._run_step(build, step_result, workspace, home.name, private)
                print(
                    f"--- {step_result.step.label}: {step_result.step.name} "
                    f"exit {step_result.exit_code} in {step_result.seconds:.1f}s\n"
                    f"{step_result.log}{step_result.error}",
                    flush=True,
                )
                if not step_result.ok:
                    result.status = "FAILURE"
                    result.failure = (
                        step_result.error
                        or f"{step_result.step.label} exited {step_result.exit_code}"
                    )
                    return result
            self._push_images(build, result, home.name)
            return result
        finally:
            with contextlib.suppress(docker.errors.APIError):
                home.remove(force=True)
            shutil.rmtree(private, ignore_errors=True)

    # ------------------------------------------------------------------ internals

    def _has_image(self, name: str) -> bool:
        try:
            self.client.images.get(name)
        except docker.errors.ImageNotFound:
            return False
        return True

    def _write_home(self, volume: str, docker_config: Mapping[str, Any]) -> None:
        """Put ``.docker/config.json`` into the home volume, as Cloud Build does for its
        registries, through a container that is created but never started."""
        data = json.dumps(docker_config).encode()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            folder = tarfile.TarInfo(".docker")
            folder.type, folder.mode = tarfile.DIRTYPE, 0o700
            tar.addfile(folder)
            info = tarfile.TarInfo(".docker/config.json")
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
        holder = self.client.containers.create(
            PUSH_IMAGE,
            command=["true"],
            volumes={volume: {"bind": HOME, "mode": "rw"}},
            network_mode="none",
        )
        try:
            holder.put_archive(HOME, buf.getvalue())
        finally:
            holder.remove(force=True)

    def _run_step(
        self, build: cfg.Build, result: StepResult, workspace: Path, home: str, private: Path
    ) -> None:
        step = result.step
        if not self._has_image(step.name):
            result.exit_code = -1
            result.error = (
                f"image {step.name!r} is not on the local daemon and nothing can "
                "be pulled here: build it (see docs/testing.md, localimages.py)"
            )
            return
        outputs = private / f"outputs-{step.index}"
        outputs.mkdir()
        mounts: dict[str, dict[str, str]] = {
            str(workspace): {"bind": WORKSPACE, "mode": "rw"},
            home: {"bind": HOME, "mode": "rw"},
            self.socket: {"bind": DOCKER_SOCKET, "mode": "rw"},
            str(outputs): {"bind": OUTPUTS, "mode": "rw"},
        }
        entrypoint: list[str] | None = [step.entrypoint] if step.entrypoint else None
        command: list[str] | None = list(step.args) or None
        if step.script is not None:
            scripts = private / f"script-{step.index}"
            scripts.mkdir()
            text = step.script if step.script.startswith("#!") else "#!/bin/sh\n" + step.script
            (scripts / "script").write_text(text)
            (scripts / "script").chmod(0o755)
            mounts[str(scripts)] = {"bind": SCRIPTS, "mode": "ro"}
            entrypoint, command = [f"{SCRIPTS}/script"], None
        workdir = step.dir if step.dir.startswith("/") else f"{WORKSPACE}/{step.dir}".rstrip("/")
        env = cfg.step_env(build, step, base=(f"HOME={HOME}", f"BUILDER_OUTPUT={OUTPUTS}"))
        container = self.client.containers.create(
            step.name,
            command=command,
            entrypoint=entrypoint,
            environment=env,
            working_dir=workdir,
            network_mode="host",
            volumes=mounts,
            labels={"buildguard-test.cloudbuild": build.substitutions["BUILD_ID"]},
        )
        started = time.monotonic()
        try:
            container.start()
            try:
                status = container.wait(timeout=step.timeout or STEP_TIMEOUT)
                result.exit_code = int(status["StatusCode"])
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                container.kill()
                result.exit_code = -1
                result.error = f"{step.label} timed out"
            result.log = container.logs(stdout=True, stderr=True).decode(errors="replace")
        finally:
            result.seconds = time.monotonic() - started
            container.remove(force=True)

    def _push_images(self, build: cfg.Build, result: BuildResult, home: str) -> None:
        """After every step passed, push ``images:`` as Cloud Build does (the home volume's
        credentials, the docker builder's CLI); their digests are the build's results."""
        for name in build.images:
            if not self._has_image(name):
                result.status = "FAILURE"
                result.failure = (
                    f"failed to find one or more images after execution of build steps: [{name}]"
                )
                return
            container = self.client.containers.create(
                PUSH_IMAGE,
                command=["push", name],
                environment=[f"HOME={HOME}"],
                network_mode="host",
                volumes={
                    home: {"bind": HOME, "mode": "rw"},
                    self.socket: {"bind": DOCKER_SOCKET, "mode": "rw"},
                },
            )
            try:
                container.start()
                code = int(container.wait(timeout=STEP_TIMEOUT)["StatusCode"])
                log = container.logs(stdout=True, stderr=True).decode(errors="replace")
            finally:
                container.remove(force=True)
            result.push_log += log
            found = _DIGEST.findall(log)
            if code != 0 or not found:
                result.status = "FAILURE"
                result.failure = f"pushing {name} failed (exit {code})"
                return
            result.images.append(PushedImage(name=name, digest=found[-1]))
