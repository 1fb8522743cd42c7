"""What a lint parser raises for a file it cannot read; the linter makes it a BG-PARSE
warning. Not a :class:`buildguard.errors.BuildguardError`: it never leaves the linter."""

from __future__ import annotations


class ParseFailure(Exception):
    """``path`` (relative to the lint root) could not be parsed at ``line`` (1-based)."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = max(1, line)
        self.message = message
        super().__init__(f"{path}:{self.line}: {message}")
