"""Which folder a build command writes, read from the project's own files.

A command is a bundle build when it is a package manager running a script (``npm run
build``, ``yarn build``, ``pnpm build``, ``bun run build``) or a bundler's own command
(``vite build``, ``ng build``, ``next build``/``next export``, ``react-scripts build``...).
The folder comes from the project where it says (``vite.config.*`` ``build.outDir``,
``angular.json`` ``outputPath``, ``next.config.*`` ``output: 'export'``, a script's
``--outDir``); where it cannot be read, a build counts as writing every usual output folder
of its folder (DESIGN: an unknown producer produces everything, so lint never fails a
pipeline for a folder it could not see being built).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from buildguard._lint.shellcmd import Command, argv_commands, commands
from buildguard._lint.workspace import Workspace, normalise

USUAL_OUTPUTS = ("dist", "build", "out", ".next", ".output", ".svelte-kit")
"""Folders a frontend build writes, by the defaults of the common bundlers."""

ANYWHERE = "*"
"""The output of a build whose folder only a variable names: it may be any folder."""

_PACKAGE_MANAGERS = ("npm", "yarn", "pnpm", "bun")
_NOT_SCRIPTS = frozenset(
    {
        "install",
        "i",
        "ci",
        "add",
        "remove",
        "upgrade",
        "audit",
        "test",
        "t",
        "exec",
        "dlx",
        "x",
        "why",
        "outdated",
        "publish",
        "pack",
        "link",
        "init",
        "create",
        "config",
        "cache",
        "dedupe",
        "prune",
        "rebuild",
        "list",
        "ls",
        "version",
        "info",
        "view",
        "login",
        "whoami",
        "workspace",
        "workspaces",
        "set",
        "import",
        "fetch",
        "start",
        "serve",
        "dev",
        "lint",
    }
)
_NOT_BUILDS = frozenset(
    {
        "test",
        "lint",
        "start",
        "serve",
        "dev",
        "format",
        "fmt",
        "e2e",
        "typecheck",
        "check",
        "preview",
        "watch",
        "clean",
        "coverage",
        "storybook",
    }
)
"""Script names that are not a build, also when there is no package.json to say."""
_BY_TOOL: dict[str, tuple[str, ...]] = {
    "react-scripts": ("build",),
    "vue-cli-service": ("dist",),
    "astro": ("dist",),
    "gatsby": ("public",),
    "parcel": ("dist",),
    "ember": ("dist",),
    "svelte-kit": ("build", ".svelte-kit"),
    "nuxt": (".output", "dist"),
    "nuxi": (".output", "dist"),
}
_ORCHESTRATORS = frozenset({"nx", "turbo", "lerna", "rush", "make", "just", "task", "gradle"})
_BUILD_WORD = re.compile(r"^(build|dist|bundle|all)([:-].*)?$")
_OUT_DIR = re.compile(r"""\boutDir\s*:\s*['"`]([^'"`$]+)['"`]""")
_NEXT_EXPORT = re.compile(r"""\boutput\s*:\s*['"`]export['"`]""")
MAX_DEPTH = 5


def _option(argv: Sequence[str], *names: str) -> str | None:
    for i, word in enumerate(argv):
        for name in names:
            if word == name and i + 1 < len(argv):
                return argv[i + 1]
            if word.startswith(f"{name}="):
                return word.split("=", 1)[1]
    return None


def _under(dir: str, path: str) -> str:
    return normalise(f"{dir}/{path}") or path


def _read_json(workspace: Workspace, path: str) -> object:
    file = workspace.get(path)
    if file is None:
        return None
    try:
        return json.loads(file.text)
    except ValueError:
        return None


def _first_config(workspace: Workspace, dir: str, stem: str) -> str | None:
    for ext in ("ts", "js", "mjs", "cjs", "mts", "cts"):
        file = workspace.get(f"{dir}/{stem}.config.{ext}")
        if file is not None:
            return file.text
    return None


def _vite(argv: Sequence[str], dir: str, workspace: Workspace) -> tuple[str, ...]:
    given = _option(argv, "--outDir", "--out-dir")
    if given and "$" not in given:
        return (_under(dir, given),)
    text = _first_config(workspace, dir, "vite")
    if text is not None:
        match = _OUT_DIR.search(text)
        if match:
            return (_under(dir, match.group(1)),)
        if "outDir" in text:  # computed: not guessed
            return tuple(_under(dir, o) for o in USUAL_OUTPUTS)
        if "sveltekit" in text:
            return (_under(dir, ".svelte-kit"), _under(dir, "build"))
    return (_under(dir, "dist"),)


def _angular(argv: Sequence[str], dir: str, workspace: Workspace) -> tuple[str, ...]:
    given = _option(argv, "--output-path", "--outputPath")
    if given and "$" not in given:
        return (_under(dir, given),)
    config = _read_json(workspace, f"{dir}/angular.json")
    found: list[str] = []
    projects = config.get("projects") if isinstance(config, dict) else None
    for project in projects.values() if isinstance(projects, dict) else ():
        try:
            options = project["architect"]["build"]["options"]
        except (KeyError, TypeError):
            continue
        output = options.get("outputPath") if isinstance(options, dict) else None
        if isinstance(output, dict):
            output = output.get("base")
        if isinstance(output, str) and "$" not in output:
            found.append(_under(dir, output))
    return tuple(found) or (_under(dir, "dist"),)


def _next(argv: Sequence[str], dir: str, workspace: Workspace) -> tuple[str, ...]:
    if len(argv) > 1 and argv[1] == "export":
        given = _option(argv, "-o", "--outdir")
        return (_under(dir, given if given and "$" not in given else "out"),)
    text = _first_config(workspace, dir, "next") or ""
    if _NEXT_EXPORT.search(text):
        return (_under(dir, ".next"), _under(dir, "out"))
    return (_under(dir, ".next"),)


def _after_options(words: tuple[str, ...]) -> tuple[str, ...]:
    """The command after a runner's own options (``npx --yes vite build --outDir x``)."""
    for i, word in enumerate(words):
        if not word.startswith("-"):
            return words[i:]
    return ()


def _strip_runner(argv: tuple[str, ...]) -> tuple[str, ...]:
    """``npx vite build`` → ``vite build`` (also ``pnpm exec``, ``yarn dlx``, ``bunx``)."""
    if argv and argv[0] in ("npx", "pnpx", "bunx"):
        return _after_options(argv[1:])
    if (
        len(argv) > 1
        and argv[0] in ("pnpm", "yarn", "bun", "npm")
        and argv[1] in ("exec", "dlx", "x")
    ):
        return _after_options(argv[2:])
    if argv and "/node_modules/.bin/" in f"/{argv[0]}":
        return (argv[0].rsplit("/", 1)[-1], *argv[1:])
    return argv


def _script(argv: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(script name, folder option) of a package manager command, or (None, None)."""
    tool = argv[0]
    folder = _option(argv, "--prefix", "--cwd", "-C", "--dir")
    words = []
    skip = False
    for word in argv[1:]:
        if skip:
            skip = False
            continue
        if word in ("--prefix", "--cwd", "-C", "--dir", "--filter", "-F", "--workspace", "-w"):
            skip = True
            continue
        if word == "--":
            break
        if not word.startswith("-"):
            words.append(word)
    if not words:
        return None, folder
    if words[0] in ("run", "run-script", "rum", "urn"):
        return (words[1] if len(words) > 1 else None), folder
    if tool == "npm" or words[0] in _NOT_SCRIPTS:
        return None, folder
    return words[0], folder


def build_outputs(
    command: Command, workspace: Workspace, *, depth: int = 0
) -> tuple[str, ...] | None:
    """The folders (relative to the root) ``command`` builds; None when it builds none.
    A build run from a folder lint cannot know builds :data:`ANYWHERE`."""
    argv = _strip_runner(command.argv)
    if not argv:
        return None
    if command.dir is None:
        somewhere = build_outputs(Command(command.argv, "."), workspace, depth=depth)
        return (ANYWHERE,) if somewhere else None
    dir = command.dir
    tool = argv[0].rsplit("/", 1)[-1]
    if tool in _PACKAGE_MANAGERS:
        return _package_script(argv, dir, workspace, depth)
    if tool == "vite" and len(argv) > 1 and argv[1] == "build":
        return _vite(argv, dir, workspace)
    if tool == "ng" and len(argv) > 1 and argv[1] in ("build", "b"):
        return _angular(argv, dir, workspace)
    if tool == "next" and len(argv) > 1 and argv[1] in ("build", "export"):
        return _next(argv, dir, workspace)
    if tool in _BY_TOOL and len(argv) > 1 and argv[1] in ("build", "generate"):
        given = _option(argv, "--dest", "--dist-dir", "--out-dir", "--outDir")
        if given and "$" not in given:
            return (_under(dir, given),)
        return tuple(_under(dir, o) for o in _BY_TOOL[tool])
    if tool == "buildguard" and len(argv) > 1 and argv[1] == "run":
        return _guarded_run(argv, dir, workspace, depth)
    if tool in ("webpack", "rollup", "esbuild"):
        return tuple(_under(dir, o) for o in USUAL_OUTPUTS)
    if tool in _ORCHESTRATORS and any(_BUILD_WORD.match(w) for w in argv[1:]):
        return (ANYWHERE,)  # nx, turbo, lerna, make...: builds in folders their configs name
    return _shell_file(argv, dir, workspace, depth)


def _shell_file(
    argv: tuple[str, ...], dir: str, workspace: Workspace, depth: int
) -> tuple[str, ...] | None:
    """``./build.sh`` or ``bash scripts/build.sh``: what the script in the workspace builds."""
    words = argv[1:] if argv[0].rsplit("/", 1)[-1] in ("sh", "bash") else argv
    if not words or not words[0].endswith(".sh") or depth >= MAX_DEPTH:
        return None
    script = workspace.get(f"{dir}/{words[0]}")
    if script is None:
        return None
    found: list[str] = []
    for inner in commands(script.text, dir):
        found.extend(build_outputs(inner, workspace, depth=depth + 1) or ())
    return tuple(dict.fromkeys(found)) or None


def _guarded_run(
    argv: tuple[str, ...], dir: str, workspace: Workspace, depth: int
) -> tuple[str, ...]:
    """``buildguard run [--dist D] -- CMD``: what CMD builds, and D."""
    found: list[str] = []
    given = _option(argv[: argv.index("--")] if "--" in argv else argv, "--dist")
    if given and "$" not in given:
        found.append(_under(dir, given))
    inner = argv[argv.index("--") + 1 :] if "--" in argv else ()
    if depth < MAX_DEPTH:
        for command in argv_commands(tuple(inner), dir):
            found.extend(build_outputs(command, workspace, depth=depth + 1) or ())
    return tuple(dict.fromkeys(found)) or tuple(_under(dir, o) for o in USUAL_OUTPUTS)


def _package_script(
    argv: tuple[str, ...], dir: str, workspace: Workspace, depth: int
) -> tuple[str, ...] | None:
    name, folder = _script(argv)
    if name is None:
        return None
    if folder is not None:
        if "$" in folder:
            return tuple(_under(dir, o) for o in USUAL_OUTPUTS)
        dir = normalise(f"{dir}/{folder}") or dir
    package = _read_json(workspace, f"{dir}/package.json")
    scripts = package.get("scripts") if isinstance(package, dict) else None
    text = scripts.get(name) if isinstance(scripts, dict) else None
    looks_like_build = name.split(":")[0] in ("build", "generate", "export", "bundle")
    if not isinstance(package, dict) and name.split(":")[0] not in _NOT_BUILDS:
        looks_like_build = True  # no package.json to read: `npm run prod` may well build
    if not isinstance(text, str) or depth >= MAX_DEPTH:
        return tuple(_under(dir, o) for o in USUAL_OUTPUTS) if looks_like_build else None
    found: list[str] = []
    for inner in commands(text, dir):
        outputs = build_outputs(inner, workspace, depth=depth + 1)
        if outputs:
            found.extend(outputs)
    if found:
        return tuple(dict.fromkeys(found))
    return tuple(_under(dir, o) for o in USUAL_OUTPUTS) if looks_like_build else None
