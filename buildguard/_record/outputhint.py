"""The output folder that is not there: which folders beside it hold built files.

Bundlers disagree on where they write (Vite ``dist/``, Create React App ``build/``, a Next
static export ``out/``), so a ``seal dist`` after a CRA build finds nothing. Rather than
"the build produced nothing", the refusal names the folder the build did write. Only the
usual output names are looked at (never ``public/`` or ``src/``, which hold an
``index.html`` or ``.js`` files as sources), and a folder counts when it holds an
``index.html`` or a ``.js``/``.mjs``/``.css``/``.html`` file within a few levels (CRA puts
its scripts in ``build/static/js``, Next in ``out/_next/static/chunks``).
"""

from __future__ import annotations

import os
from pathlib import Path

from buildguard._internal.walk import as_text
from buildguard.errors import SealRefused

OUTPUT_NAMES = ("dist", "build", "out", "www", "_site")
BUILT_EXTENSIONS = (".js", ".mjs", ".css", ".html")
_MAX_DEPTH = 4
_MAX_ENTRIES = 2000


def _holds_built_files(folder: Path) -> bool:
    """An ``index.html`` at the top, or a built file within ``_MAX_DEPTH`` levels (at most
    ``_MAX_ENTRIES`` entries looked at; symlinks are not followed)."""
    if (folder / "index.html").is_file():
        return True
    stack = [(folder, 0)]
    seen = 0
    while stack:
        directory, depth = stack.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    seen += 1
                    if seen > _MAX_ENTRIES:
                        return False
                    if entry.is_file(follow_symlinks=False):
                        if entry.name.endswith(BUILT_EXTENSIONS):
                            return True
                    elif entry.is_dir(follow_symlinks=False) and depth + 1 < _MAX_DEPTH:
                        stack.append((Path(entry.path), depth + 1))
        except OSError:
            continue
    return False


def built_folders_beside(dist: Path) -> list[Path]:
    """The usual output folders next to ``dist`` (as the user wrote its path) that exist and
    hold built files."""
    parent = dist.parent
    found = []
    for name in OUTPUT_NAMES:
        candidate = parent / name
        if candidate == dist or candidate.is_symlink() or not candidate.is_dir():
            continue
        if _holds_built_files(candidate):
            found.append(candidate)
    return found


def no_output(dist: Path, state: str, suggest: str) -> SealRefused:
    """The refusal for an output folder that is ``state`` ("does not exist", "is empty").
    ``suggest`` is the command that seals another folder, with ``{dist}`` for it (seal's
    ``buildguard seal {dist}``, run's ``--dist {dist}``)."""
    others = built_folders_beside(dist)
    if not others:
        return SealRefused(
            f"output folder {as_text(dist)} {state}: the build produced nothing",
            hint="check that the build ran and wrote to this folder",
        )
    names = ", ".join(f"{as_text(o)}/" for o in others)
    holds = "holds" if len(others) == 1 else "hold"
    commands = " or ".join(f"`{suggest.format(dist=as_text(o))}`" for o in others)
    return SealRefused(
        f"output folder {as_text(dist)} {state}; {names} {holds} built files",
        hint=f"seal the folder your bundler writes: {commands}",
    )
