"""The distribution buildguard is installed as, and the extras it offers.

The import package and the command are ``buildguard``; the distribution on PyPI is not
(``buildguard`` there is another project: docs/decisions.md, "The distribution's name").
"""

from __future__ import annotations

import importlib

from buildguard.errors import MissingExtra

DISTRIBUTION = "buildguard-cli"
"""``pip install buildguard-cli``; the same name as ``[project] name`` in pyproject.toml."""

GCP_EXTRA = "gcp"
"""The extra with Google's API clients (Cloud Build, Artifact Registry, Cloud Storage,
Cloud KMS)."""

GCP_INSTALL = f"pip install '{DISTRIBUTION}[{GCP_EXTRA}]'"
"""The command that adds the extra, as error hints name it."""


# Google's clients, by the module a feature imports; ``require_gcp`` checks for one before
# any work, so a missing extra is :class:`MissingExtra` (exit 2) naming it, not an
# ``ImportError`` deep in a call.
CLOUD_BUILD = "google.cloud.devtools.cloudbuild_v1"
ARTIFACT_REGISTRY = "google.cloud.artifactregistry_v1"
CLOUD_STORAGE = "google.cloud.storage"
CLOUD_KMS = "google.cloud.kms_v1"

_CLIENTS = {
    CLOUD_BUILD: "google-cloud-build",
    ARTIFACT_REGISTRY: "google-cloud-artifact-registry",
    CLOUD_STORAGE: "google-cloud-storage",
    CLOUD_KMS: "google-cloud-kms",
}


def require_gcp(feature: str, module: str) -> None:
    """:class:`MissingExtra` when ``module`` (one of this module's names) cannot be
    imported: ``feature`` needs the ``[gcp]`` extra."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise MissingExtra(
            f"{feature} needs Google's {_CLIENTS[module]} client, which comes with the "
            f"[{GCP_EXTRA}] extra and is not installed",
            hint=f"install it: {GCP_INSTALL}",
        ) from None
