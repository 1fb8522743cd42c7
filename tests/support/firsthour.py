"""A new user's first hour: the README's and docs/cloudbuild.md's commands, run as written.

The commands are read from the documents themselves, never copied here, so a doc that
stops working fails the test: the README's "Using it in a pipeline" block, the three steps
and the Dockerfile of docs/cloudbuild.md, and the push, verify-pushed and verify-live
steps of cloudbuild.example.yaml. The only substitutions are the ones the docs tell a user
to make: the app's output folder for `dist` (Create React App `build/`, Next.js `out/`),
the image name, and Cloud Build's own `$BUILD_ID`/`$_IMAGE` substitutions (Cloud Build
makes them before the step runs). A Cloud Build step runs as its own process with
`BUILD_ID`/`COMMIT_SHA` in its environment (`automapSubstitutions: true`); the README's
block runs in one shell, line by line.

Every step's exit code is checked, and every suggestion a buildguard command prints is
checked by ``hintcheck`` (the command and flags it names exist). The image is built by the
real dockerd `FROM nginx:stable-bookworm`, here a base laid out like the official nginx
image (``officialnginx``), pushed to a real registry on loopback; the deploy is a real nginx
on loopback serving the folder taken out of the pushed image with the app's `nginx.conf`.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from clitools import console_script
from docsteps import (
    App,
    docs_dockerfile,
    example_steps,
    for_app,
    readme_pipeline,
    substitute,
    three_steps,
)
from hintcheck import Problem, check_output, subcommand_of
from nginx import publish, run_nginx, world_readable_dir
from officialnginx import HTML_ROOT, build_official_nginx
from services import Dockerd, Registry

NGINX_BASE = "nginx:stable-bookworm"  # the docs' Dockerfile's FROM
MANIFEST = "buildguard-manifest.json"
BUNDLE_PATH = HTML_ROOT  # where the docs' Dockerfile copies the bundle


@dataclass
class Step:
    flow: str  # which document it follows
    name: str
    command: str  # as run, after the docs' substitutions
    returncode: int
    output: str  # stdout and stderr
    seconds: float
    expected: int = 0
    problems: list[Problem] = field(default_factory=list)

    def describe(self) -> str:
        lines = [
            f"[{self.flow}] {self.name}: exit {self.returncode} in {self.seconds:.1f}s",
            f"  $ {self.command}",
        ]
        lines += [f"  hint problem: {problem}" for problem in self.problems]
        lines += ["  | " + line for line in self.output.splitlines()[-40:]]
        return "\n".join(lines)


class FirstHourFailure(AssertionError):
    pass


@dataclass
class Services:
    dockerd: Dockerd
    registry: Registry


def make_nginx_base(dockerd: Dockerd, base: str, workdir: Path) -> str:
    """`nginx:stable-bookworm` in this daemon, laid out like the official image."""
    build_official_nginx(dockerd, base, workdir, tag=NGINX_BASE)
    listing = dockerd.docker("run", "--rm", "--network", "none", NGINX_BASE, "ls", BUNDLE_PATH)
    assert set(listing.stdout.split()) >= {"index.html", "50x.html"}, listing.stdout
    return NGINX_BASE


class FirstHour:
    """One app through every document, in a workspace of its own under ``work``."""

    def __init__(
        self, app: App, services: Services, work: Path, log: Callable[[str], None] = print
    ) -> None:
        self.app = app
        self.services = services
        self.log = log
        self.workspace = work / f"workspace-{app.name}"
        self.steps: list[Step] = []
        self.build_id = ""
        self.commit = ""

    # -- environment

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The user's shell: buildguard and docker on PATH, the CI's variables only."""
        env = {
            k: v
            for k, v in os.environ.items()
            if "BUILDGUARD" not in k and k not in ("BUILD_ID", "COMMIT_SHA")
        }
        env.update(self.services.dockerd.env)
        bindir = str(Path(console_script()).parent)
        docker_dir = str(Path(self.services.dockerd.cli).parent)
        env["PATH"] = os.pathsep.join([bindir, docker_dir, env.get("PATH", "/usr/bin:/bin")])
        env["DOCKER_BUILDKIT"] = "0"  # BuildKit is absent here (docs/testing.md)
        if "BUILDGUARD_CACHE" in os.environ:  # each test's own layer cache
            env["BUILDGUARD_CACHE"] = os.environ["BUILDGUARD_CACHE"]
        env.update(extra or {})
        return env

    def ci_env(self) -> dict[str, str]:
        return {"BUILD_ID": self.build_id, "COMMIT_SHA": self.commit}

    # -- steps

    def run(
        self,
        flow: str,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        expect: int = 0,
        context: str | None = None,
        timeout: float = 900,
    ) -> Step:
        started = time.monotonic()
        done = subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        step = Step(
            flow,
            name,
            " ".join(argv),
            done.returncode,
            done.stdout + done.stderr,
            time.monotonic() - started,
            expect,
        )
        sub = context or subcommand_of(step.command.replace('"', " ").split())
        if "buildguard" in step.command:
            step.problems = check_output(done.stdout, sub) + check_output(done.stderr, sub)
        self.steps.append(step)
        self.log(f"  [{flow}] {name}: exit {step.returncode} ({step.seconds:.1f}s)")
        if step.returncode != expect:
            raise FirstHourFailure(
                f"{self.app.bundler} ({self.app.name}): step {name!r} of {flow} "
                f"should exit {expect}\n{step.describe()}"
            )
        return step

    def require(self, holds: bool, step: Step, what: str) -> None:
        """A fact a step's output must show (DESIGN), failed like an exit code."""
        if not holds:
            raise FirstHourFailure(
                f"{self.app.bundler} ({self.app.name}): step {step.name!r} of {step.flow} "
                f"should show {what}\n{step.describe()}"
            )

    # -- the flows

    def prepare(self) -> Path:
        """A fresh checkout of the example app: its files, a git repository, no
        node_modules and no build output."""
        app_dir = self.workspace / self.app.name
        shutil.copytree(
            self.app.source,
            app_dir,
            ignore=shutil.ignore_patterns(
                "node_modules", "dist", "build", "out", ".next", ".buildguard"
            ),
        )
        git = ["git", "-c", "user.name=first hour", "-c", "user.email=first@hour.invalid"]
        for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "app"]):
            subprocess.run([*git, *argv], cwd=app_dir, check=True, capture_output=True)
        self.commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=app_dir, check=True, capture_output=True, text=True
        ).stdout.strip()
        return app_dir

    def cloudbuild_flow(self, app_dir: Path) -> str:
        """docs/cloudbuild.md's three steps and Dockerfile, then the example pipeline's
        push, verify of the pushed digest, deploy (a local nginx) and verify-live."""
        flow = "docs/cloudbuild.md"
        self.build_id = f"fh-{self.app.name}-{secrets.token_hex(4)}"
        image = f"{self.services.registry.host}/first-hour/{self.app.name}"
        values = {"_IMAGE": image, "BUILD_ID": self.build_id, "COMMIT_SHA": self.commit}
        (app_dir / "Dockerfile").write_text(for_app(docs_dockerfile(), self.app))
        for index, step in enumerate(three_steps()):
            args = [for_app(substitute(str(a), values), self.app) for a in step["args"]]
            name = step["name"]
            if "entrypoint" in step:
                argv = [step["entrypoint"], *args]
            elif "/buildguard:" in name or "/buildguard-node:" in name:
                argv = ["buildguard", *args]
            elif name == "gcr.io/cloud-builders/docker":
                argv = ["docker", *args]
            else:
                raise AssertionError(f"step {index} of the docs runs {name!r}: unknown here")
            self.run(
                flow,
                f"step {index + 1}: {' '.join(argv)[:60]}",
                argv,
                cwd=app_dir,
                env=self.env(self.ci_env()),
            )
        return self.example_tail(app_dir, image)

    def example_tail(self, app_dir: Path, image: str) -> str:
        """cloudbuild.example.yaml's push, verify-pushed and verify-live scripts, as
        written, with /workspace being this workspace."""
        flow = "cloudbuild.example.yaml"
        steps = example_steps()
        env = self.env(
            {**self.ci_env(), "_IMAGE": image, "_BUNDLE_PATH": BUNDLE_PATH, "_APP_DIR": "."}
        )

        def script(step_id: str) -> list[str]:
            text = steps[step_id]["script"].replace("/workspace/", f"{self.workspace}/")
            return ["bash", "-c", text]

        self.run(flow, "push", script("push"), cwd=app_dir, env=env)
        self.run(flow, "verify-pushed", script("verify-pushed"), cwd=app_dir, env=env)
        reference = (self.workspace / "image.ref").read_text().strip()
        assert reference.startswith(f"{image}@sha256:"), reference
        site = self.deploy(reference, app_dir)
        try:
            with run_nginx(self.server_block(app_dir, site)) as nginx:
                (self.workspace / "service.url").write_text(nginx.url + "/\n")
                self.run(flow, "verify-live", script("verify-live"), cwd=self.workspace, env=env)
        finally:
            shutil.rmtree(site.parent, ignore_errors=True)
        return reference

    def deploy(self, reference: str, app_dir: Path) -> Path:
        """What `gcloud run deploy` would serve: the bundle folder of the pushed image."""
        docker = self.services.dockerd
        docker.docker("pull", reference)
        created = docker.docker("create", reference, "sh").stdout.strip()
        taken = self.workspace / "from-image"
        try:
            docker.docker("cp", f"{created}:{BUNDLE_PATH}", str(taken))
        finally:
            docker.docker("rm", created)
        return publish(taken, world_readable_dir("bg-first-hour-") / "html")

    def server_block(self, app_dir: Path, site: Path) -> str:
        """The app's nginx.conf server block, on loopback, serving ``site``."""
        conf = (app_dir / "nginx.conf").read_text()
        body = conf[conf.index("{") + 1 : conf.rindex("}")]
        lines = [
            line for line in body.splitlines() if not re.match(r"\s*(listen|server_name)\s", line)
        ]
        return "\n".join(lines).replace(f"root {BUNDLE_PATH};", f"root {site};")

    def readme_flow(self, app_dir: Path) -> None:
        """The README's "Using it in a pipeline" lines in one shell, as a CI job runs them,
        with the CI's BUILD_ID and COMMIT_SHA and IMAGE set."""
        flow = "README.md"
        self.build_id = f"fh-readme-{self.app.name}-{secrets.token_hex(4)}"
        image = f"{self.services.registry.host}/first-hour/{self.app.name}:{self.build_id}"
        env = self.env({**self.ci_env(), "IMAGE": image})
        (app_dir / "Dockerfile").write_text(for_app(docs_dockerfile(), self.app))
        lines = [for_app(line, self.app) for line in readme_pipeline()]
        # one shell for the block (the env file is sourced into it); each line's exit code
        # and output are told apart by markers
        script = ["exec 2>&1"]
        for index, line in enumerate(lines):
            script += [
                f"printf '\\n@@bg-step {index}\\n'",
                f'eval "$BG_LINE_{index}"',
                "rc=$?",
                f"printf '\\n@@bg-rc {index} %s\\n' \"$rc\"",
                '[ "$rc" = 0 ] || exit "$rc"',
            ]
            env[f"BG_LINE_{index}"] = line
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=app_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        elapsed = time.monotonic() - started
        parts = re.split(r"\n@@bg-step (\d+)\n", "\n" + done.stdout)
        outputs = {int(parts[i]): parts[i + 1] for i in range(1, len(parts) - 1, 2)}
        for index, line in enumerate(lines):
            output = outputs.get(index, "")
            rc_match = re.search(rf"\n@@bg-rc {index} (\d+)\n", output)
            output = re.sub(r"\n@@bg-rc \d+ \d+\n", "\n", output)
            step = Step(flow, f"line {index + 1}", line, -1, output, elapsed)
            if rc_match:
                step.returncode = int(rc_match.group(1))
                sub = subcommand_of(line.replace('"', " ").split())
                if "buildguard" in line:
                    step.problems = check_output(output, sub)
            self.steps.append(step)
            self.log(f"  [{flow}] line {index + 1}: exit {step.returncode}")
            if step.returncode != 0:
                raise FirstHourFailure(
                    f"{self.app.bundler} ({self.app.name}): README line {index + 1} "
                    f"should exit 0\n{step.describe()}"
                )

    def mistakes(self, app_dir: Path) -> None:
        """What a new user gets wrong in the first hour, right after the README's build (its
        bundle is sealed): each exits as the contract says, and every hint it prints names
        a command and flags that exist."""
        flow = "first-hour mistakes"
        env = self.env(self.ci_env())
        out = self.app.output
        name = f"{self.app.name}:{self.build_id}"
        dockerfile = app_dir / "Dockerfile"
        good = dockerfile.read_text()
        # the Dockerfile everyone writes first: the base's 50x.html stays beside the bundle
        dockerfile.write_text(re.sub(r"^RUN rm -rf .*\n", "", good, flags=re.M))
        assert dockerfile.read_text() != good, "the docs' Dockerfile has no `RUN rm -rf`"
        self.run(
            flow,
            "docker build without the RUN rm",
            ["docker", "build", "-t", name, "."],
            cwd=app_dir,
            env=env,
        )
        dockerfile.write_text(good)
        step = self.run(
            flow,
            "verify: the base's 50x.html is left",
            ["buildguard", "verify", f"docker-daemon:{name}", "--path", BUNDLE_PATH],
            cwd=app_dir,
            env=env,
            expect=1,
        )
        self.require("FILE_EXTRA" in step.output and "50x.html" in step.output, step, "50x.html")
        # DESIGN: the finding names the fix, `RUN rm -rf DIR/*` or `--allow-extra GLOB`
        self.require(bool(re.search(r"hint: .*rm -rf", step.output)), step, "a hint: rm -rf")
        # the hint's second fix, as it says: this extra file is meant to be served
        verify_daemon = ["buildguard", "verify", f"docker-daemon:{name}", "--path", BUNDLE_PATH]
        self.run(
            flow,
            "verify --allow-extra 50x.html, as the hint says",
            [*verify_daemon, "--allow-extra", "50x.html"],
            cwd=app_dir,
            env=env,
        )
        # the image named as `docker build -t` named it, without `docker-daemon:`; DESIGN:
        # a bare NAME:TAG that no registry serves suggests docker-daemon:NAME:TAG
        step = self.run(
            flow,
            "verify NAME:TAG",
            ["buildguard", "verify", name, "--path", BUNDLE_PATH],
            cwd=app_dir,
            env=env,
            expect=2,
        )
        self.require(f"docker-daemon:{name}" in step.output, step, f"docker-daemon:{name}")
        # `run` without a build id in the environment
        no_ci = self.env()
        self.run(
            flow,
            "run without BUILD_ID",
            ["buildguard", "run", "--dist", out, "--", "npm", "run", "build"],
            cwd=app_dir,
            env=no_ci,
            expect=2,
        )
        if out != "dist":  # the docs' `dist`, not this bundler's folder
            self.run(
                flow, "seal dist", ["buildguard", "seal", "dist"], cwd=app_dir, env=env, expect=1
            )
        # the build without the env file: no canary
        self.run(flow, "record", ["buildguard", "record", "--clean", out], cwd=app_dir, env=env)
        self.run(
            flow,
            "npm run build without the env file",
            ["npm", "run", "build"],
            cwd=app_dir,
            env=env,
        )
        step = self.run(
            flow,
            "seal: canary missing",
            ["buildguard", "seal", out],
            cwd=app_dir,
            env=env,
            expect=1,
        )
        self.require("canary missing" in step.output, step, "canary missing")
        self.require(not (app_dir / out / MANIFEST).exists(), step, f"no {out}/{MANIFEST}")

    def run_all(self, flows: Sequence[str] = ("cloudbuild", "readme", "mistakes")) -> list[Step]:
        self.log(f"{self.app.bundler}: examples/{self.app.name} -> {self.app.output}/")
        app_dir = self.prepare()
        try:
            if "cloudbuild" in flows:
                self.cloudbuild_flow(app_dir)
            if "readme" in flows:
                self.readme_flow(app_dir)
            if "mistakes" in flows:
                self.mistakes(app_dir)
        finally:  # a few hundred MB per app; pytest keeps its last temp folders
            shutil.rmtree(app_dir / "node_modules", ignore_errors=True)
        for hint in self.hints():
            self.log(f"  printed {hint}")
        problems = [step for step in self.steps if step.problems]
        if problems:
            raise FirstHourFailure(
                f"{self.app.bundler} ({self.app.name}): hints name commands or flags that "
                "do not exist\n" + "\n".join(step.describe() for step in problems)
            )
        return self.steps

    def hints(self) -> list[str]:
        """Every hint line printed on the way."""
        return [
            line.strip()
            for step in self.steps
            for line in step.output.splitlines()
            if line.strip().startswith("hint:")
        ]
