"""Image names written the way other tools spell them, and the buildguard form to use.

skopeo and podman name a registry image ``docker://REF`` and an OCI layout ``oci:DIR[:TAG]``;
``docker`` takes a bare ``NAME:TAG`` from its own store (or Docker Hub). buildguard has no
implicit registry, so each of these is a usage error (exit 2) whose hint is the matching
buildguard form: ``REF`` or ``docker-daemon:REF``, ``oci-layout:DIR[:TAG]``,
``docker-daemon:NAME:TAG``. Names are shown only through :func:`hide_userinfo`.
"""

from __future__ import annotations

from buildguard._internal.redact import hide_userinfo
from buildguard.errors import UsageError

FORMS = (
    "HOST[:PORT]/REPO[:TAG|@sha256:DIGEST], docker-archive:PATH[:NAME[:TAG]], "
    "oci-layout:DIR[:TAG] or docker-daemon:NAME[:TAG]"
)


def translate(ref: str) -> UsageError | None:
    """The error for ``ref`` written in another tool's form, or ``None``."""
    if ref.startswith("docker://"):
        rest = hide_userinfo(ref[len("docker://") :])
        registry = rest if names_a_host(rest) else f"docker.io/{_hub_repository(rest)}"
        return UsageError(
            f"image {hide_userinfo(ref)!r} is skopeo's docker:// form, which buildguard "
            f"does not take; it takes {FORMS}",
            hint=f"use {registry} (a registry) or docker-daemon:{rest} (the local Docker daemon)",
        )
    if ref.startswith("oci:"):
        rest = hide_userinfo(ref[len("oci:") :])
        return UsageError(
            f"image {hide_userinfo(ref)!r} is skopeo's oci: form, which buildguard does not "
            f"take; it takes {FORMS}",
            hint=f"use oci-layout:{rest}",
        )
    if ref.startswith("oci-archive:"):
        rest = hide_userinfo(ref[len("oci-archive:") :])
        return UsageError(
            f"image {hide_userinfo(ref)!r}: buildguard does not read OCI archives; it takes "
            f"{FORMS}",
            hint=f"unpack it with `skopeo copy oci-archive:{rest} oci:DIR:TAG`, then use "
            "oci-layout:DIR:TAG",
        )
    return None


def names_a_host(ref: str) -> bool:
    """Whether ``ref``'s first component is a registry host, by Docker's rule: it holds a
    ``.`` or a ``:``, or is ``localhost`` (skopeo's ``docker://NAME`` means Docker Hub)."""
    first, slash, _ = ref.partition("/")
    return bool(slash) and ("." in first or ":" in first or first == "localhost")


def _hub_repository(name: str) -> str:
    return name if "/" in name else f"library/{name}"


def bare_name_hint(name: str) -> str:
    """The hint for ``NAME[:TAG]`` (or ``USER/NAME[:TAG]``) without a registry host: no
    registry serves it to buildguard, which has no implicit Docker Hub."""
    shown = hide_userinfo(name)
    return (
        f"for an image in the local Docker daemon use docker-daemon:{shown}; for a registry "
        "name its host, HOST[:PORT]/REPO[:TAG], e.g. "
        f"docker.io/{_hub_repository(shown)}"
    )
