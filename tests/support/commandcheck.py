"""Whether a ``buildguard …`` command line written in a doc, a template or a hint is one the
real command line accepts: parsed by buildguard's own argparse parser (the sub-command, every
flag, each flag's arity), with shell variables standing for values."""

from __future__ import annotations

import contextlib
import io
import re
import shlex

from buildguard._cli import build_parser

COMMANDS = (
    "record",
    "seal",
    "run",
    "verify",
    "inspect",
    "verify-live",
    "lint",
    "verify-attestation",
)
"""The contract's sub-commands (DESIGN.md): text that names one after ``buildguard`` is a
command line, anything else prose."""

_VARIABLE = re.compile(r"\$\{?\w+\}?|\$\(\([^)]*\)\)")


def _words(text: str) -> list[str] | None:
    """``text`` split as a shell splits it, up to the first operator (``&&``, ``|``, ``;``,
    ``>``…); ``None`` when its quotes do not balance."""
    lexer = shlex.shlex(_VARIABLE.sub("VALUE", text), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = []
    try:
        for word in lexer:
            if word and set(word) <= set("&|;<>()"):
                break
            words.append(word)
    except ValueError:
        return None
    return words


def buildguard_commands(text: str) -> list[list[str]]:
    """Every ``buildguard SUB …`` command in ``text``, as words: to the end of its line, a
    shell operator or a Markdown code span's end; a quote left open by the surrounding text
    (a YAML or shell string that holds the command) is cut off."""
    found = []
    for match in re.finditer(r"(?:^|[\s;&|('\"`])buildguard(\s+[a-z][\w-]*.*)$", text, re.M):
        rest = match.group(1).split("`")[0]
        words = _words(rest)
        while words is None and rest:
            cut = max(rest.rfind("'"), rest.rfind('"'))
            rest = rest[:cut] if cut >= 0 else ""
            words = _words(rest)
        if words and words[0] in COMMANDS:
            found.append(["buildguard", *words])
    return found


def problem(command: str | list[str]) -> str | None:
    """``None`` when buildguard's parser takes ``command`` (a line or its words), else
    argparse's complaint."""
    words = (_words(command) or []) if isinstance(command, str) else command
    assert words and words[0] == "buildguard", command
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(words[1:])
    except SystemExit as exc:
        if exc.code not in (0, None):
            return errors.getvalue().strip() or f"exit {exc.code}"
    return None
