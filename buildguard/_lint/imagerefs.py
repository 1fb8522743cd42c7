"""Image references as pipelines write them: repository, tag, digest; mutable or not.

A reference whose tag (or whole name) a variable fills (``$SHORT_SHA``, ``${{ ... }}``,
``{{ .Values.tag }}``) is not judged: lint does not guess what a template fills in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageRef:
    repository: str
    tag: str | None
    digest: str | None

    @property
    def templated(self) -> bool:
        """Whether a command or template fills the part that says which image it is: the
        tag when there is one, else the name's last part (which may hold a tag)."""
        whole = f"{self.repository}:{self.tag or ''}"
        if "$(" in whole or "`" in whole:
            return True
        part = self.tag if self.tag is not None else self.repository.rsplit("/", 1)[-1]
        return "$" in part or "{{" in part

    @property
    def mutable(self) -> bool:
        """By ``:latest`` or no tag at all, and no digest (the contract's mutable tag)."""
        return self.digest is None and self.tag in (None, "latest") and not self.templated

    @property
    def normal(self) -> str:
        """``repo:tag`` with ``latest`` for no tag (``repo@digest`` when pinned)."""
        if self.digest is not None:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag or 'latest'}"


def parse_ref(text: str) -> ImageRef:
    name, _, digest = text.strip().partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = name.rsplit(":", 1)
        return ImageRef(repository, tag, digest or None)
    return ImageRef(name, None, digest or None)
