"""A Dockerfile as stages, each with its context copies and its ``RUN`` commands.

Parsed by BuildKit's own parser (the ``dockerfile`` package binds
``github.com/moby/buildkit/frontend/dockerfile/parser``), so line continuations, the
``escape`` directive, JSON forms and heredocs are read exactly as ``docker build`` reads
them. ``COPY --from=X`` and ``ADD`` of a URL or Git repository do not read the build
context; every other ``COPY``/``ADD`` source does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dockerfile as buildkit

from buildguard._lint.errors import ParseFailure
from buildguard._lint.shellcmd import Command, commands
from buildguard._lint.workspace import WorkspaceFile


@dataclass(frozen=True)
class ContextCopy:
    """A ``COPY``/``ADD`` that reads the build context."""

    line: int
    instruction: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Stage:
    index: int
    name: str | None
    base: str
    line: int
    copies: tuple[ContextCopy, ...]
    runs: tuple[Command, ...]
    """the commands of its ``RUN`` instructions (folders relative to the image's ``/``)"""


@dataclass(frozen=True)
class Dockerfile:
    file: WorkspaceFile
    stages: tuple[Stage, ...]


def _flag(flags: tuple[str, ...], name: str) -> str | None:
    for flag in flags:
        if flag.startswith(f"--{name}="):
            return flag.split("=", 1)[1]
    return None


def _remote(source: str) -> bool:
    return "://" in source or source.startswith("git@")


@dataclass
class _Building:
    index: int
    name: str | None
    base: str
    line: int
    workdir: str = "."
    copies: list[ContextCopy] = field(default_factory=list)
    runs: list[Command] = field(default_factory=list)

    def stage(self) -> Stage:
        return Stage(
            self.index, self.name, self.base, self.line, tuple(self.copies), tuple(self.runs)
        )


def _workdir(current: str, target: str) -> str:
    if target.startswith("/"):
        return target.strip("/") or "."
    return f"{current}/{target}"


def parse_dockerfile(file: WorkspaceFile) -> Dockerfile:
    """The stages of a Dockerfile; ParseFailure when BuildKit's parser refuses it."""
    try:
        parsed = buildkit.parse_string(file.text)
    except buildkit.GoParseError as error:
        raise ParseFailure(file.path, 1, f"not a Dockerfile BuildKit reads: {error}") from None
    except UnicodeDecodeError:
        # the binding hands back a flag cut inside a multi-byte character (found by fuzzing)
        raise ParseFailure(
            file.path, 1, "an instruction flag with non-ASCII text the parser cannot return"
        ) from None
    stages: list[Stage] = []
    current: _Building | None = None
    for instruction in parsed:
        name = str(instruction.cmd).upper()
        line = int(instruction.start_line)
        values = tuple(str(v) for v in instruction.value)
        if name == "FROM":
            if current is not None:
                stages.append(current.stage())
            alias = values[2] if len(values) >= 3 and values[1].upper() == "AS" else None
            base = values[0] if values else ""
            current = _Building(len(stages), alias, base, line)
        elif current is None:
            continue  # ARG before the first FROM
        elif name == "WORKDIR" and values:
            current.workdir = _workdir(current.workdir, values[0])
        elif name == "RUN":
            script = "\n".join([" ".join(values), *(str(h.content) for h in instruction.heredocs)])
            current.runs.extend(commands(script, current.workdir))
        elif name in ("COPY", "ADD") and not instruction.heredocs:
            if _flag(tuple(instruction.flags), "from") is not None:
                continue
            sources = tuple(s for s in values[:-1] if not (name == "ADD" and _remote(s)))
            if sources:
                current.copies.append(ContextCopy(line, name, sources))
    if current is not None:
        stages.append(current.stage())
    return Dockerfile(file=file, stages=tuple(stages))
