"""The effects of the commands of the tools a pipeline runs, read from their arguments:
``docker``/``podman``/``buildah`` (``build``, ``buildx build``, ``bud``, ``push``), kaniko's
executor, ``gcloud`` (``builds submit --tag``, ``run deploy --image``), ``kubectl`` (``set
image``, ``apply -f``), ``gke-deploy run``, ``buildguard`` (``record``, ``seal``, ``verify``,
``run``). Nothing is run; a value only a variable fills is kept as written."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from buildguard._lint.effects import Deploy, Effect, Guard, ImageBuild, Push
from buildguard._lint.kubeobjects import images_in
from buildguard._lint.shellcmd import join_dir
from buildguard._lint.workspace import Workspace

ToolReader = Callable[[tuple[str, ...], str | None, Workspace], list[Effect]]

_DOCKER_VALUE_FLAGS = frozenset(
    [
        "-f",
        "--file",
        "-t",
        "--tag",
        "--target",
        "--build-arg",
        "--label",
        "--platform",
        "--network",
        "--cache-from",
        "--cache-to",
        "--secret",
        "--ssh",
        "--iidfile",
        "--progress",
        "-o",
        "--output",
        "--builder",
        "--add-host",
        "--ulimit",
        "--shm-size",
        "-m",
        "--memory",
        "--memory-swap",
        "--cpu-shares",
        "--cpu-period",
        "--cpu-quota",
        "--cpuset-cpus",
        "--cpuset-mems",
        "--isolation",
        "--metadata-file",
        "--build-context",
        "--allow",
        "--annotation",
        "--attest",
        "--cgroup-parent",
        "--security-opt",
        "--provenance",
        "--sbom",
    ]
)


def _flags(
    argv: Sequence[str], value_flags: frozenset[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """Options (``--x v``, ``--x=v``) and positional words of a command line."""
    options: dict[str, list[str]] = {}
    positional: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word.startswith("-") and word != "-":
            if "=" in word and word.startswith("--"):
                name, value = word.split("=", 1)
                options.setdefault(name, []).append(value)
            elif word in value_flags and i + 1 < len(argv):
                options.setdefault(word, []).append(argv[i + 1])
                i += 1
            else:
                options.setdefault(word, []).append("")
        else:
            positional.append(word)
        i += 1
    return options, positional


def _first(options: dict[str, list[str]], *names: str) -> str | None:
    for name in names:
        if options.get(name):
            return options[name][-1]
    return None


def _dockerfile_path(dir: str | None, context: str | None, given: str | None) -> str | None:
    if given is None:
        return join_dir(context, "Dockerfile") if context is not None else None
    if given == "-" or "$" in given:
        return None
    return join_dir(dir, given)


def _docker(argv: tuple[str, ...], dir: str | None, workspace: Workspace) -> list[Effect]:
    words = list(argv[1:])
    if words[:1] == ["buildx"] or words[:1] == ["image"] or words[:1] == ["builder"]:
        words = words[1:]
    if not words:
        return []
    verb, rest = words[0], words[1:]
    if (verb == "compose" and "build" in rest) or verb == "bake":
        # the compose file (or bake file) names the Dockerfiles: not read, so not guessed
        return [ImageBuild(None, None, (), pushes="--push" in rest)]
    if verb == "push":
        refs = [w for w in rest if not w.startswith("-")]
        return [Push(refs[0])] if refs else []
    if verb != "build":
        return []
    options, positional = _flags(rest, _DOCKER_VALUE_FLAGS)
    context_word = positional[0] if positional else None
    remote = context_word is None or context_word == "-" or "://" in context_word
    context = None if remote or context_word is None else join_dir(dir, context_word)
    outputs = options.get("-o", []) + options.get("--output", [])
    pushes = "--push" in options or any("type=registry" in o or "push=true" in o for o in outputs)
    return [
        ImageBuild(
            dockerfile=_dockerfile_path(dir, context, _first(options, "-f", "--file")),
            context=context,
            tags=tuple(options.get("-t", []) + options.get("--tag", [])),
            pushes=pushes,
        )
    ]


def _kaniko(argv: tuple[str, ...], dir: str | None, workspace: Workspace) -> list[Effect]:
    options, _ = _flags(
        argv[1:], frozenset({"-f", "-c", "-d", "--dockerfile", "--context", "--destination"})
    )
    context_word = _first(options, "--context", "-c") or "/workspace"
    if context_word.startswith("dir://"):
        context_word = context_word[len("dir://") :]
    context = join_dir(dir, context_word) if "://" not in context_word else None
    given = _first(options, "--dockerfile", "-f") or "Dockerfile"
    dockerfile = _dockerfile_path(dir, context, given)
    if dockerfile is not None and not workspace.exists(dockerfile) and context is not None:
        dockerfile = join_dir(context, given)  # kaniko also looks in the context
    destinations = tuple(options.get("--destination", []) + options.get("-d", []))
    return [ImageBuild(dockerfile, context, destinations, pushes="--no-push" not in options)]


def _gcloud(argv: tuple[str, ...], dir: str | None, workspace: Workspace) -> list[Effect]:
    words = [w for w in argv[1:] if w not in ("alpha", "beta")]
    options, positional = _flags(
        words, frozenset({"--tag", "--image", "--config", "--region", "--project", "--platform"})
    )
    if positional[:2] == ["builds", "submit"] and _first(options, "--tag"):
        source = positional[2] if len(positional) > 2 else "."
        context = join_dir(dir, source)
        tag = _first(options, "--tag") or ""
        return [ImageBuild(_dockerfile_path(dir, context, None), context, (tag,), pushes=True)]
    if positional[:1] == ["run"] and _first(options, "--image"):
        return [Deploy((_first(options, "--image") or "",), " ".join(argv))]
    return []


def _kubectl(argv: tuple[str, ...], dir: str | None, workspace: Workspace) -> list[Effect]:
    options, positional = _flags(
        argv[1:],
        frozenset(
            {"-f", "--filename", "-n", "--namespace", "-k", "--kustomize", "-l", "--context"}
        ),
    )
    if positional[:2] == ["set", "image"]:
        images = tuple(p.split("=", 1)[1] for p in positional[2:] if "=" in p)
        return [Deploy(images, " ".join(argv))] if images else []
    if positional[:1] == ["apply"]:
        refs: list[str] = []
        for name in options.get("-f", []) + options.get("--filename", []):
            path = join_dir(dir, name)
            if path is not None:
                refs.extend(ref for ref, _, _ in images_in(workspace, path))
        return [Deploy(tuple(refs), " ".join(argv))] if refs else []
    return []


def _gke_deploy(argv: tuple[str, ...], dir: str | None, workspace: Workspace) -> list[Effect]:
    options, positional = _flags(
        argv[1:],
        frozenset(
            {
                "-i",
                "--image",
                "-f",
                "--filename",
                "-c",
                "--cluster",
                "-l",
                "--location",
                "-o",
                "--output",
                "-a",
                "--app",
                "-v",
                "--version",
                "-n",
                "--namespace",
                "-p",
                "--project",
            }
        ),
    )
    refs = tuple(options.get("-i", []) + options.get("--image", []))
    return [Deploy(refs, " ".join(argv))] if positional[:1] == ["run"] and refs else []


def _buildguard(argv: tuple[str, ...], dir: str | None, workspace: Workspace) -> list[Effect]:
    options, positional = _flags(
        argv[1:],
        frozenset(
            {
                "--record",
                "--out",
                "--dist",
                "--source",
                "--build-id",
                "--commit",
                "--path",
                "--platform",
                "--report",
                "--junit",
                "--mark-verified",
                "--expect-build-id",
                "--expect-commit",
                "--from-build",
                "--project",
                "--region",
                "--clean",
                "--exclude",
                "--env-file",
                "--attest",
                "--attest-out",
                "--insecure-registry",
                "--allow-extra",
                "--cache",
            }
        ),
    )
    verb = positional[0] if positional else None
    if verb == "record":
        return [Guard("record", None)]
    if verb == "seal" and len(positional) > 1:
        return [Guard("seal", join_dir(dir, positional[1]))]
    if verb == "verify" and "--from-build" not in options and len(positional) > 1:
        return [Guard("verify", positional[1])]
    if verb == "run":
        dist = _first(options, "--dist")
        return [Guard("run", join_dir(dir, dist) if dist else None)]
    return []


def _containers(argv: tuple[str, ...], dir: str | None, workspace: Workspace) -> list[Effect]:
    if len(argv) < 2:
        return []
    if argv[1] == "bud":  # buildah's own spelling of build
        argv = (argv[0], "build", *argv[2:])
    return _docker(argv, dir, workspace)


def _compose(argv: tuple[str, ...], dir: str | None, workspace: Workspace) -> list[Effect]:
    """``docker-compose build``: as ``docker compose build``."""
    return _docker(("docker", "compose", *argv[1:]), dir, workspace)


TOOLS: dict[str, ToolReader] = {
    "docker-compose": _compose,
    "docker": _containers,
    "podman": _containers,
    "buildah": _containers,
    "kaniko": _kaniko,
    "executor": _kaniko,
    "gcloud": _gcloud,
    "kubectl": _kubectl,
    "gke-deploy": _gke_deploy,
    "buildguard": _buildguard,
}
"""What each tool's command line does, by the tool's name."""
