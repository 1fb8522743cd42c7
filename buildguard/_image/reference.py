"""Registry image references: ``HOST[:PORT]/REPO[:TAG|@sha256:HEX]``.

Parsed by the grammar of distribution/reference (the one ``docker`` uses), with two
deliberate restrictions: the registry host is always explicit (it must contain a ``.`` or a
``:``, or be ``localhost``; there is no implicit Docker Hub), and the only digest algorithm
accepted is ``sha256`` (the one we can verify). A tag defaults to ``latest``. When both a tag
and a digest are given, the digest names the image and the tag is kept for messages only.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from buildguard._image.otherforms import bare_name_hint
from buildguard._internal.redact import hide_userinfo
from buildguard.errors import UsageError

# distribution/reference/regexp.go
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_REPOSITORY = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_ANY_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
SHA256_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
MAX_NAME_LENGTH = 255

DEFAULT_TAG = "latest"

_FORMS = "HOST[:PORT]/REPO[:TAG|@sha256:DIGEST], e.g. europe-docker.pkg.dev/proj/repo/app:v1"


@dataclass(frozen=True)
class Reference:
    """A parsed registry reference. ``digest`` wins over ``tag`` when both are set."""

    registry: str
    """``host[:port]`` as written (lower-cased host), e.g. ``127.0.0.1:5000``."""
    repository: str
    """Repository path inside the registry, e.g. ``team/app``."""
    tag: str | None
    """The tag (``latest`` when neither tag nor digest was written)."""
    digest: str | None
    """``sha256:<64 hex>`` when the reference is pinned by digest."""

    @property
    def identifier(self) -> str:
        """What to put after ``/manifests/``: the digest if pinned, else the tag."""
        if self.digest is not None:
            return self.digest
        assert self.tag is not None
        return self.tag

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def is_valid_tag(value: str) -> bool:
    """A tag as distribution accepts it: ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``."""
    return _TAG.fullmatch(value) is not None


def is_valid_sha256_digest(value: str) -> bool:
    return SHA256_DIGEST.fullmatch(value) is not None


def _bad(reference: str, why: str, hint: str | None = None) -> UsageError:
    """The message never shows user-info (``user:pw@`` before the host), however malformed
    the rest of the reference is."""
    return UsageError(
        f"bad image reference {hide_userinfo(reference)!r}: {why}",
        hint=hint or f"write it as {_FORMS}",
    )


_CREDENTIALS_HINT = (
    "drop them: registry credentials come from `docker login` ($DOCKER_CONFIG/config.json, "
    "credential helpers) or Google's Application Default Credentials"
)


def parse_reference(reference: str) -> Reference:
    """Parse ``HOST[:PORT]/REPO[:TAG|@sha256:HEX]``; raise :class:`UsageError` if malformed."""
    text = reference.strip()
    if not text:
        raise _bad(reference, "it is empty")
    if "://" in text:
        raise _bad(reference, "a reference has no URL scheme (drop 'https://' or 'http://')")
    name, _, after = text.rpartition("@")
    if "@" in name or ("@" in text and "/" not in name):
        raise _bad(
            reference,
            "it holds credentials (user:password@) or a stray '@'",
            hint=_CREDENTIALS_HINT,
        )

    digest: str | None = None
    if "@" in text:
        text, digest = name, after
        if not _ANY_DIGEST.fullmatch(digest):
            raise _bad(reference, f"{digest!r} is not a digest (expected sha256:<64 hex digits>)")
        if not is_valid_sha256_digest(digest):
            raise _bad(
                reference,
                f"unsupported digest {digest!r}: only sha256:<64 lower-case hex digits> "
                "can be verified",
            )

    if "/" not in text:
        raise _bad(
            reference,
            "no registry host (Docker Hub short names are not accepted; "
            "name the registry, e.g. docker.io/library/nginx)",
        )
    host, remainder = text.split("/", 1)
    if not ("." in host or ":" in host or host == "localhost"):
        raise _bad(
            reference,
            f"{host!r} is not a registry host (it needs a '.' or ':', or must be 'localhost'); "
            "Docker Hub short names are not accepted",
            hint=bare_name_hint(text),
        )
    if not _HOST.fullmatch(host):
        raise _bad(reference, f"{host!r} is not a valid registry host[:port]")
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1 : host.index("]")])
        except ValueError:
            raise _bad(reference, f"{host!r} is not a valid IPv6 address") from None

    tag: str | None = None
    repository = remainder
    # A ':' after the last '/' separates the tag (a ':' before it would be in the host).
    last = remainder.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = remainder.rsplit(":", 1)
        if not _TAG.fullmatch(tag):
            raise _bad(
                reference,
                f"{tag!r} is not a valid tag (letters, digits, '_', '.', '-'; "
                "at most 128; not starting with '.' or '-')",
            )
    if not repository:
        raise _bad(reference, "the repository name is empty")
    if not _REPOSITORY.fullmatch(repository):
        raise _bad(
            reference,
            f"{repository!r} is not a valid repository name (lower-case letters, digits and "
            "single separators '.', '_', '__', '-' between them, components joined by '/')",
        )
    if len(host) + 1 + len(repository) > MAX_NAME_LENGTH:
        raise _bad(reference, f"the name is longer than {MAX_NAME_LENGTH} characters")

    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(registry=_normalise_host(host), repository=repository, tag=tag, digest=digest)


def _normalise_host(host: str) -> str:
    if host.startswith("["):
        return host.lower()
    name, sep, port = host.partition(":")
    return f"{name.lower()}{sep}{port}"
