"""Marking a ``*-docker.pkg.dev`` image through Artifact Registry: the real
``google-cloud-artifact-registry`` client (REST) against a loopback stand-in of the API
(tests/support/artifactregistry_standin.py), by endpoint and through the emulator variable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from artifactregistry_standin import ArtifactRegistryStandIn

from buildguard._cloud.artifactregistry import DockerPackage, docker_package, tag_version
from buildguard._verify.mark import MarkFailed, mark_digest
from buildguard.errors import ImageReadError

DIGEST_1 = "sha256:" + "1" * 64
DIGEST_2 = "sha256:" + "2" * 64
PACKAGE = "projects/proj/locations/europe-west1/repositories/repo/packages/team%2Fweb"


@pytest.fixture
def standin() -> Iterator[ArtifactRegistryStandIn]:
    with ArtifactRegistryStandIn() as server:
        server.versions.update({f"{PACKAGE}/versions/{DIGEST_1}", f"{PACKAGE}/versions/{DIGEST_2}"})
        yield server


def test_docker_package_names() -> None:
    package = docker_package("europe-west1-docker.pkg.dev", "proj/repo/team/web")
    assert package == DockerPackage("europe-west1", "proj", "repo", "team/web")
    assert package.package_id == "team%2Fweb"
    assert package.name == PACKAGE
    assert docker_package("gcr.io", "proj/repo/app") is None
    assert docker_package("europe-west1-docker.pkg.dev", "proj/repo") is None
    assert docker_package("127.0.0.1:5000", "proj/repo/app") is None


def test_create_then_move_a_tag(standin: ArtifactRegistryStandIn) -> None:
    package = docker_package("europe-west1-docker.pkg.dev", "proj/repo/team/web")
    assert package is not None
    name = tag_version(package, DIGEST_1, "verified", endpoint=standin.url, environ={})
    assert name == f"{PACKAGE}/tags/verified"
    get, create = standin.requests
    assert get.method == "GET" and get.name == f"{PACKAGE}/versions/{DIGEST_1}"
    assert create.method == "POST" and create.name == f"{PACKAGE}/tags"
    assert "team%252Fweb" in create.raw_path  # the client encodes the %2F once more
    assert create.query["tagId"] == ["verified"]
    assert create.body == {"name": name, "version": f"{PACKAGE}/versions/{DIGEST_1}"}
    assert standin.tags == {name: f"{PACKAGE}/versions/{DIGEST_1}"}

    standin.requests.clear()
    tag_version(package, DIGEST_2, "verified", endpoint=standin.url, environ={})
    methods = [r.method for r in standin.requests]
    assert methods == ["GET", "POST", "PATCH"]  # create says 409 ALREADY_EXISTS: move it
    patch = standin.requests[-1]
    assert patch.name == name and patch.query["updateMask"] == ["version"]
    assert patch.body == {"version": f"{PACKAGE}/versions/{DIGEST_2}"}  # name: in the path
    assert standin.tags[name] == f"{PACKAGE}/versions/{DIGEST_2}"


def test_a_digest_artifact_registry_does_not_have_is_exit_3(
    standin: ArtifactRegistryStandIn,
) -> None:
    package = docker_package("europe-west1-docker.pkg.dev", "proj/repo/team/web")
    assert package is not None
    with pytest.raises(ImageReadError) as info:
        tag_version(package, "sha256:" + "9" * 64, "verified", endpoint=standin.url, environ={})
    assert info.value.exit_code == 3 and "not found" in str(info.value)
    assert not standin.tags and [r.method for r in standin.requests] == ["GET"]


def test_mark_through_the_emulator_variable(standin: ArtifactRegistryStandIn) -> None:
    environ = {"BUILDGUARD_ARTIFACTREGISTRY_EMULATOR_HOST": standin.host}
    ref = "europe-west1-docker.pkg.dev/proj/repo/team/web@" + DIGEST_1
    mark = mark_digest(ref, DIGEST_1, "verified", environ=environ)
    assert mark.via == "artifact-registry" and mark.target == f"{PACKAGE}/tags/verified"
    assert standin.tags == {mark.target: f"{PACKAGE}/versions/{DIGEST_1}"}
    with pytest.raises(MarkFailed) as info:
        mark_digest(ref, "sha256:" + "9" * 64, "verified", environ=environ)
    assert info.value.exit_code == 3
    assert str(info.value).startswith("the verify passed, but 'verified' could not be put on")
