"""Does every suggestion buildguard prints name a command and flags that exist?

A hint that says "pass --build-id" to a command that takes no such flag sends a new user
the wrong way. This reads what buildguard printed (text or JSON), finds the suggestions in
it — `hint:` lines, `buildguard: error:`/`warning:` lines, and every span in backticks — and
checks each `buildguard SUBCOMMAND` and each `--flag` they name against the real command
line, read from `buildguard --help` and `buildguard SUBCOMMAND --help` of the installed
console script (so the check follows the parser, never a list kept by hand).

A flag belongs to the command named before it in the same phrase (`record --clean dist`,
`buildguard verify ... --path`), else to the command that printed it; a phrase led by
another program (`docker run --env-file`, `npm ci`) is that program's and is not checked.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from clitools import console_script

# programs whose flags a hint may quote; their phrases are not buildguard's
OTHER_PROGRAMS = frozenset(
    {
        "docker",
        "dockerd",
        "skopeo",
        "podman",
        "buildah",
        "umoci",
        "kaniko",
        "buildx",
        "npm",
        "npx",
        "node",
        "git",
        "gcloud",
        "gsutil",
        "kubectl",
        "nginx",
        "cosign",
        "crane",
        "pip",
        "curl",
        "sh",
        "bash",
        "set",
        "export",
        "vite",
        "next",
        "react-scripts",
    }
)
SUGGESTION_LINE = re.compile(r"^\s*(?:hint:|buildguard: (?:error|warning):)\s*(?P<text>.*)$")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
TOKEN = re.compile(r"`|[^\s`,;()]+|[,;()]")
FLAG = re.compile(r"^(--[a-z][a-z0-9-]*)(?:=.*)?$")
# argparse's errors quote the user's own arguments back: not suggestions
ECHOES_INPUT = ("unrecognized arguments:", "argument ")
SUBCOMMAND_LINE = re.compile(r"^ {4}([a-z][a-z-]*)\s")


@dataclass(frozen=True)
class Problem:
    text: str  # the suggestion as printed
    what: str  # what does not exist

    def __str__(self) -> str:
        return f"{self.what} (in: {self.text!r})"


@functools.cache
def _help(*args: str) -> str:
    done = subprocess.run(
        [console_script(), *args, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"buildguard {' '.join(args)} --help: {done.stderr}"
    return done.stdout


@functools.cache
def subcommands() -> frozenset[str]:
    """The subcommands `buildguard --help` lists."""
    names = {m.group(1) for line in _help().splitlines() if (m := SUBCOMMAND_LINE.match(line))}
    assert names, "`buildguard --help` lists no subcommand"
    return frozenset(names)


@functools.cache
def flags(subcommand: str) -> frozenset[str]:
    """The long options `buildguard SUBCOMMAND --help` shows."""
    return frozenset(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", _help(subcommand)))


def suggestions(output: str) -> list[str]:
    """The suggestions in a command's output: hint/error/warning lines, backticked spans
    anywhere, and the `hint` and `message` strings of a JSON document."""
    found: list[str] = []
    stripped = output.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError:
            document = None
        if document is not None:
            return [*_json_strings(document)]
    for line in output.splitlines():
        match = SUGGESTION_LINE.match(line)
        if match:
            found.append(match.group("text"))
        else:
            found.extend(f"`{span}`" for span in CODE_SPAN.findall(line))
    return found


def _json_strings(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("hint", "message") and isinstance(item, str):
                yield item
            else:
                yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def check_suggestion(text: str, context: str | None) -> list[Problem]:
    """The commands and flags ``text`` names that do not exist; ``context`` is the
    subcommand that printed it (flags named without a command are its own)."""
    problems: list[Problem] = []
    known = subcommands()
    owner = context  # whose flags these are; None: another program's
    in_span = False
    tokens = TOKEN.findall(text)
    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token == "`":  # a span starts and ends a phrase of its own
            in_span = not in_span
            owner = context
            continue
        if token in (",", ";", "(", ")"):
            if not in_span:
                owner = context
            continue
        end_of_phrase = not in_span and token.endswith((".", ":"))
        word = token.rstrip(".:") if end_of_phrase else token
        if word == "buildguard":
            nxt = following.rstrip(".,:")
            if nxt in known:
                owner = nxt
            elif in_span and nxt and nxt != "`" and not nxt.startswith("-"):
                problems.append(Problem(text, f"`buildguard {nxt}`: no such command"))
                owner = None
        elif word in known and owner is not None and FLAG.match(following):
            owner = word
        elif word in ("or", "and", "then") and not in_span:
            owner = context
        elif word in OTHER_PROGRAMS:
            owner = None
        elif (flag := FLAG.match(word)) and owner and flag.group(1) not in flags(owner):
            problems.append(Problem(text, f"`buildguard {owner}` has no option {flag.group(1)}"))
        if end_of_phrase:
            owner = context
    return problems


def check_output(output: str, context: str | None) -> list[Problem]:
    """Every problem in every suggestion of one command's output."""
    problems: list[Problem] = []
    for text in suggestions(output):
        if text.startswith(ECHOES_INPUT):
            continue
        problems.extend(check_suggestion(text, context))
    return problems


def subcommand_of(argv: Iterable[str]) -> str | None:
    """The buildguard subcommand an argument list runs (after `buildguard`), if any."""
    words = list(argv)
    for index, word in enumerate(words):
        if word.endswith("buildguard") and index + 1 < len(words):
            nxt = words[index + 1]
            return nxt if nxt in subcommands() else None
    return None
