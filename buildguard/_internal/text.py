"""Short text for messages."""

from __future__ import annotations


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line (runs of whitespace become one space), cut to ``limit`` characters
    with an ellipsis: for quoting a library's or a server's message inside ours."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
